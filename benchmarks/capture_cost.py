"""rv32imc cost of the node's shaft-order capture encoder (esphome/components/binmoe/binmoe_adpcm.cpp).

Compiled as the kernel benchmark compiles the kernel (node_factory.bench.harness: Debian's riscv64-unknown-elf-g++,
-march=rv32imc -Os, freestanding) with node_factory/bench/harness/rv32_adpcm_bench.cpp and run in qemu-riscv32
with one exec-trace line per instruction; a run with no samples is subtracted. Input: a held-out machine's
vibration at 3.2 kHz (node_factory.heldout), written in chunks of 256 samples as the node records them.
Reported: instructions per sample, and per second at the ADXL345 (3.2 kHz) and piezo (16 kHz) nodes' rates;
code + constant bytes of binmoe_adpcm.o.

Usage, from the repository root: ~/.cache/binmoe/venv-backend/bin/python -m benchmarks.capture_cost
"""

from __future__ import annotations

import functools
import sys
import tempfile
from pathlib import Path

import numpy as np

import benchmarks_md
from node_factory.bench import harness
from node_factory.bench.node_model import _rv32_count
from node_factory.heldout import generate_machine_runs

SOURCE = harness.HARNESS_DIR / "rv32_adpcm_bench.cpp"
COMPONENT_SOURCE = "binmoe_adpcm.cpp"
INPUT_SAMPLES = 6400
N = 20_000
RATES = {"ADXL345 node (3.2 kHz)": 3200, "piezo node (16 kHz)": 16000}


def _input_header(work: Path) -> None:
    run = generate_machine_runs(20_261_205, 1, 3200, 0.01, chunk_seconds=1.0)[0]
    audio = np.concatenate([c.audio for c in run.chunks()])[:INPUT_SAMPLES].astype(np.int16)
    values = ",".join(str(int(v)) for v in audio)
    text = f"static const int kSamples = {len(audio)};\nstatic const int16_t kInput[{len(audio)}] = {{{values}}};\n"
    (work / "adpcm_input.h").write_text(text)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _input_header(work)
        elf = functools.partial(harness.compile_component_bench, SOURCE, COMPONENT_SOURCE, work)
        per_sample = (_rv32_count(elf(N_SAMPLES=N)) - _rv32_count(elf(N_SAMPLES=0))) / N
        code = harness.component_object_bytes(COMPONENT_SOURCE, work)
    result = {
        "instructions_per_sample": round(per_sample, 1),
        **{f"instructions_per_second_{rate}_hz": round(per_sample * rate) for rate in RATES.values()},
        "code_bytes": code,
        "samples": N,
    }
    print(result)
    benchmarks_md.write_json("capture_cost", result)
    rows = "\n".join(
        f"| instructions per second, {name} | {result[f'instructions_per_second_{rate}_hz']:,} |"
        for name, rate in RATES.items()
    )
    body = f"""`binmoe_adpcm.cpp` (`capture_encoding: ima_adpcm`) compiled for rv32imc (-Os, freestanding, as the kernel
benchmark), run in qemu-riscv32 with per-instruction tracing, minus an empty run; {N:,} samples of a held-out
machine's vibration written in chunks of 256 into a ring of 8 blocks. Not counted: the glue's call per chunk.
The int16 capture it replaces copies each sample into its ring (a few instructions a sample).

| | value |
|---|---|
| instructions per sample (average) | {result["instructions_per_sample"]} |
{rows}
| code + constants of binmoe_adpcm.o | {result["code_bytes"]:,} bytes |"""
    benchmarks_md.write_section("capture_cost", "ESPHome node: IMA ADPCM capture encoder cost (rv32imc)",
                                "python -m benchmarks.capture_cost", body)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
