"""Compiling the C++ harnesses of harness/ against the kernel and one exported model: for the host (g++) and
for the ESP32-C3's rv32imc, freestanding (Debian's riscv64-unknown-elf-g++, -Os as ESPHome builds).
The bench counts instructions with them; tests/node_factory compares their output with the Python reference."""

from __future__ import annotations

import subprocess
from pathlib import Path

HARNESS_DIR = Path(__file__).with_name("harness")
COMPONENT_DIR = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe"  # the node's C++
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


def rv32_object_bytes(source: Path, obj: Path, *flags: str) -> int:
    """Code and constants (text, rodata, data sections) of `source` compiled alone for rv32imc into `obj`."""
    subprocess.run([*RV32, "-c", *flags, str(source), "-o", str(obj)], check=True)
    out = subprocess.run(["riscv64-unknown-elf-size", "-A", str(obj)], capture_output=True, text=True, check=True)
    return sum(int(p[1]) for p in (line.split() for line in out.stdout.splitlines())
               if len(p) >= 2 and p[0].startswith((".text", ".rodata", ".srodata", ".data", ".sdata")))  # fmt: skip


def rv32_symbol_sizes(elf: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Sizes in bytes of the symbols of an rv32imc ELF with these (demangled) names, where it has them."""
    out = subprocess.run(["riscv64-unknown-elf-nm", "-S", "-C", str(elf)], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    sizes = {}
    for line in out.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[3] in names:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes


def compile_component_bench(bench: Path, component_source: str, work: Path, **sizes: int) -> Path:
    """A harness/ bench with one source of the ESPHome component, for rv32imc, freestanding (as the kernel), into
    `work`, which also holds the bench's generated input header; `sizes` become -D flags (the work to do)."""
    elf = work / (bench.stem + "".join(f"_{value}" for value in sizes.values()) + ".elf")
    includes = [f"-I{work}", f"-I{COMPONENT_DIR}", f"-I{HARNESS_DIR}"]
    defines = [f"-D{name}={value}" for name, value in sizes.items()]
    sources = [str(bench), str(COMPONENT_DIR / component_source)]
    subprocess.run([*RV32, *includes, *defines, *sources, "-o", str(elf), "-lgcc"], check=True)
    return elf


def component_object_bytes(component_source: str, work: Path) -> int:
    """rv32_object_bytes of one source of the ESPHome component."""
    obj = work / Path(component_source).with_suffix(".o").name
    return rv32_object_bytes(COMPONENT_DIR / component_source, obj, f"-I{COMPONENT_DIR}")
