"""rv32imc cost of the node's tone-following T3/T4 detector (esphome/components/binmoe/binmoe_alarm_tone.cpp).

Compiled as the kernel benchmark compiles the kernel (node_factory.bench.harness: Debian's
riscv64-unknown-elf-g++, -march=rv32imc -Os, freestanding) with node_factory/bench/harness/rv32_alarm_tone_bench.cpp
and run in qemu-riscv32 with one exec-trace line per instruction; a run with no frames is subtracted. Input: the
node's FFT (features.fft_q15) of 256 frames of a T3 alarm at 3.1 kHz and a T4 alarm at 2.3 kHz (one code of
each) with three other steady tones and white noise, so that channels are open and pulses and bursts tracked (a
busy frame, not an idle one). Reported: instructions
per frame, the detector's static RAM and the code + constant bytes of binmoe_alarm_tone.o.

Usage, from the repository root: ~/.cache/binmoe/venv-backend/bin/python -m benchmarks.alarm_tone_cost
"""

from __future__ import annotations

import functools
import sys
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import benchmarks_md
from node_factory.bench import harness
from node_factory.bench.node_model import _rv32_count
from node_factory.reference.features import fft_q15

SOURCE = harness.HARNESS_DIR / "rv32_alarm_tone_bench.cpp"
COMPONENT_SOURCE = "binmoe_alarm_tone.cpp"
RUNS = 256
N = 256
SR = 16_000


def _input_header(work: Path) -> None:
    rng = np.random.default_rng(14)
    t = np.arange(RUNS * 512) / SR
    gate = ((t % 4.0) < 3.0) & ((t % 1.0) < 0.5)  # T3: three 0.5 s tones a second apart, 1.5 s off
    x = 6000 * np.sin(2 * np.pi * 3100 * t) * gate + 800 * rng.standard_normal(len(t))
    t4 = ((t % 5.8) < 0.8) & ((t % 0.2) < 0.1)  # T4: four 0.1 s tones 0.1 s apart, 5 s off
    x += 6000 * np.sin(2 * np.pi * 2300 * t) * t4
    for f in (700.0, 1500.0, 5200.0):
        x += 1500 * np.sin(2 * np.pi * f * t)
    frames = np.clip(np.round(x), -32768, 32767).astype(np.int16).reshape(RUNS, 512)
    re, im = fft_q15(frames)

    def rows(a: NDArray[np.int32]) -> str:
        return ",\n".join("{" + ",".join(str(int(v)) for v in row) + "}" for row in a)

    (work / "alarm_tone_input.h").write_text(
        f"static const int kRuns = {RUNS};\n"
        f"static const int32_t kRe[{RUNS}][512] = {{\n{rows(re)}}};\n"
        f"static const int32_t kIm[{RUNS}][512] = {{\n{rows(im)}}};\n"
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _input_header(work)
        elf = functools.partial(harness.compile_component_bench, SOURCE, COMPONENT_SOURCE, work)
        empty = _rv32_count(elf(N_FRAMES=0))
        full = elf(N_FRAMES=N)  # counted, and its static RAM read
        per_frame = (_rv32_count(full) - empty) / N
        ram = harness.rv32_symbol_sizes(full, ("detector",))["detector"]
        code = harness.component_object_bytes(COMPONENT_SOURCE, work)
    result = {"instructions_per_frame": round(per_frame), "frames": N, "detector_ram_bytes": ram, "code_bytes": code,
              "instructions_per_second_at_31_25_frames": round(per_frame * SR / 512)}  # fmt: skip
    print(result)
    benchmarks_md.write_json("alarm_tone_cost", result)
    body = f"""`binmoe_alarm_tone.cpp` (`alarm_tone: true`) compiled for rv32imc (-Os, freestanding, as the kernel
benchmark), run in qemu-riscv32 with per-instruction tracing, minus an empty run; {N} frames of the node's FFT of
a T3 alarm at 3.1 kHz, a T4 alarm at 2.3 kHz, three steady tones and white noise (channels open, pulses and T4
bursts tracked). The frame's FFT
itself is the kernel's (counted in its per-window figure), not the detector's.

| | value |
|---|---|
| instructions per 32 ms frame | {result["instructions_per_frame"]:,} |
| per second of audio (31.25 frames) | {result["instructions_per_second_at_31_25_frames"]:,} |
| static RAM of the detector | {ram} bytes |
| code + constants of binmoe_alarm_tone.o | {code:,} bytes |"""
    benchmarks_md.write_section("alarm_tone_cost", "ESPHome node: tone-following smoke/CO detector cost (rv32imc)",
                                "python -m benchmarks.alarm_tone_cost", body)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
