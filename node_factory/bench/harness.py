"""Compiling the C++ harnesses of harness/ against the kernel and one exported model: for the host (g++) and
for the ESP32-C3's rv32imc, freestanding (Debian's riscv64-unknown-elf-g++, -Os as ESPHome builds).
The bench counts instructions with them; tests/node_factory compares their output with the Python reference."""

from __future__ import annotations

import subprocess
from pathlib import Path

HARNESS_DIR = Path(__file__).with_name("harness")
KERNEL_HARNESS = HARNESS_DIR / "kernel_harness.cpp"  # host: windows in, features/logits/decisions out
RV32_HARNESS = HARNESS_DIR / "rv32_harness.cpp"  # the same records from the rv32imc build, under qemu
RV32_BENCH = HARNESS_DIR / "rv32_bench.cpp"  # instruction counting and the stack high-water mark
HOST = ["g++", "-std=c++17", "-O2"]
RV32 = [
    "riscv64-unknown-elf-g++", "-march=rv32imc", "-mabi=ilp32", "-Os", "-std=c++17", "-nostdlib", "-ffreestanding",
    "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics", "-static", "-Wl,--no-relax",
]  # fmt: skip
WARNINGS = ["-Wall", "-Wextra", "-Werror"]


def model_flags(kernel_dir: Path, model_dir: Path, stem: str) -> list[str]:
    """The kernel's and the model's headers: MODEL_HEADER is `<stem>.h`, MODEL_NS its namespace."""
    return [f"-I{kernel_dir}", f"-I{model_dir}", f'-DMODEL_HEADER="{stem}.h"', f"-DMODEL_NS={stem}"]


def compile_host(source: Path, exe: Path, kernel_dir: Path, model_dir: Path, stem: str, *flags: str) -> Path:
    subprocess.run([*HOST, *flags, *model_flags(kernel_dir, model_dir, stem), str(source), "-o", str(exe)], check=True)
    return exe


def compile_rv32(source: Path, elf: Path, kernel_dir: Path, model_dir: Path, stem: str, *flags: str) -> Path:
    command = [*RV32, *flags, *model_flags(kernel_dir, model_dir, stem), str(source), "-o", str(elf), "-lgcc"]
    subprocess.run(command, check=True)
    return elf
