// rv32imc harness: the kernel cross-compiled freestanding (no libc, no crt0), run under qemu-riscv32.
// stdin: int16 windows; stdout per window: features, logits, class, margin, escalate, mean square — the
// same records as kernel_harness.cpp, so tests/node_factory compares the MCU build with the Python reference too.
#include <stdint.h>
#include MODEL_HEADER
#include "rv32_runtime.h"

namespace m = binmoe::models::MODEL_NS;
using M = m::ModelType;

static bool read_all(void *buf, long size) {
  auto *p = static_cast<char *>(buf);
  while (size > 0) {
    const long got = sys(63, 0, reinterpret_cast<long>(p), size);
    if (got <= 0) return false;
    p += got;
    size -= got;
  }
  return true;
}
static void write_all(const void *buf, long size) { sys(64, 1, reinterpret_cast<long>(buf), size); }

static int16_t window[M::kWindowSamples];
static int32_t logits[M::kClasses];

extern "C" void _start() {
  static binmoe::Pipeline<M> pipe(m::kModel);  // built with -fno-threadsafe-statics: no runtime needed
  while (read_all(window, sizeof(window))) {
    pipe.reset();
    for (int pos = 0; pos < M::kWindowSamples;) pos += pipe.push(window + pos, M::kWindowSamples - pos > 100 ? 100 : M::kWindowSamples - pos);
    const int32_t ms = static_cast<int32_t>(pipe.window_mean_square());
    write_all(pipe.features(), M::kFeatureBytes);
    const binmoe::Decision d = pipe.classify(logits);
    write_all(logits, sizeof(logits));
    const int32_t tail[4] = {d.class_idx, d.margin, d.escalate ? 1 : 0, ms};
    write_all(tail, sizeof(tail));
  }
  sys(93, 0, 0, 0);  // exit
  for (;;) {
  }
}
