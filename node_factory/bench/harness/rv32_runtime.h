// What a freestanding rv32imc program needs (no libc, no crt0): memset and memcpy, which the compiler may
// call on its own, and Linux system calls, which qemu-riscv32 provides.
#pragma once
#include <stdint.h>

extern "C" {
void *memset(void *d, int c, unsigned long n) {
  auto *p = static_cast<unsigned char *>(d);
  while (n--) *p++ = static_cast<unsigned char>(c);
  return d;
}
void *memcpy(void *d, const void *s, unsigned long n) {
  auto *p = static_cast<unsigned char *>(d);
  auto *q = static_cast<const unsigned char *>(s);
  while (n--) *p++ = *q++;
  return d;
}
}

static long sys(long n, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}
