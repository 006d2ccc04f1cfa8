"""rv32imc cost of the node's per-machine baseline (esphome/components/binmoe/binmoe_baseline.cpp).

Compiled as the kernel benchmark compiles the kernel (node_factory.bench.harness: Debian's
riscv64-unknown-elf-g++, -march=rv32imc -Os, freestanding) with node_factory/bench/harness/rv32_baseline_bench.cpp
and run in qemu-riscv32 with one exec-trace line per instruction; a run with no windows is subtracted.
Inputs: int8 feature windows of a held-out machine (node_factory.heldout), so the work is real data's.
Reported: instructions per learning window and per scored window (signature + score + hysteresis), static RAM
of one learner + one detector, code + constant bytes of binmoe_baseline.o, the stored blob's bytes.

Usage, from the repository root: ~/.cache/binmoe/venv-backend/bin/python -m benchmarks.baseline_cost
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
from node_factory.corpus.families import FAMILIES
from node_factory.heldout import generate_machine_runs
from node_factory.reference.baseline import BaselineLearner
from node_factory.reference.features import frame_features

SOURCE = harness.HARNESS_DIR / "rv32_baseline_bench.cpp"
COMPONENT_SOURCE = "binmoe_baseline.cpp"
RUNS = 8
N = 20


def _blob(bands: int) -> bytes:
    """A stored baseline of `bands` bands, as the reference writes it (the node's is the same, byte for byte)."""
    learner = BaselineLearner(bands, 4, bytes(8))
    for v in range(4):
        learner.push(np.full(bands, v, np.int32))
    return learner.result().to_bytes()


def _input_header(work: Path) -> tuple[int, int]:
    cfg = FAMILIES["vibration"].features
    run = generate_machine_runs(
        20_261_204, 1, cfg.sample_rate, 0.01, chunk_seconds=cfg.window_samples / cfg.sample_rate
    )[0]
    windows = []
    for chunk in run.chunks():
        if len(chunk.audio) == cfg.window_samples:
            windows.append(frame_features(chunk.audio.reshape(cfg.frames, cfg.frame), cfg).reshape(-1))
        if len(windows) == RUNS:
            break
    rows = ",\n".join("{" + ",".join(str(int(v)) for v in w) + "}" for w in windows)
    text = (
        f"static const int kFrames = {cfg.frames}, kBands = {cfg.bands}, kRuns = {RUNS};\n"
        f"static const int8_t kInput[{RUNS}][{cfg.frames * cfg.bands}] = {{\n{rows}}};\n"
    )
    (work / "baseline_input.h").write_text(text)
    return cfg.frames, cfg.bands


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frames, bands = _input_header(work)
        elf = functools.partial(harness.compile_component_bench, SOURCE, COMPONENT_SOURCE, work)
        empty = _rv32_count(elf(N_LEARN=0, N_SCORE=0))
        learn = (_rv32_count(elf(N_LEARN=N, N_SCORE=0)) - empty) / N
        full = elf(N_LEARN=N, N_SCORE=N)  # counted, and its static RAM read
        both = (_rv32_count(full) - empty - learn * N) / N
        sizes = harness.rv32_symbol_sizes(full, ("learner", "detector"))
        code = harness.component_object_bytes(COMPONENT_SOURCE, work)
    result = {
        "instructions_per_learning_window": round(learn),
        "instructions_per_scored_window": round(both),
        "learner_ram_bytes": sizes.get("learner"),
        "detector_ram_bytes": sizes.get("detector"),
        "code_bytes": code,
        "blob_bytes": len(_blob(bands)),
        "frames": frames,
        "bands": bands,
    }
    print(result)
    benchmarks_md.write_json("baseline_cost", result)
    body = f"""`binmoe_baseline.cpp` compiled for rv32imc (-Os, freestanding, as the kernel benchmark), run in
qemu-riscv32 with per-instruction tracing, minus an empty run; {N} windows of int8 features ({frames} frames x
{bands} bands) of a held-out machine. The scored window's count includes one window's signature and the
detector's hysteresis; the first learning window after the half also computes the first half's statistics
(covariance, standardisation and its L D L^T factor), averaged here over {N} windows.

| | value |
|---|---|
| instructions per scored window (signature + score + hysteresis) | {result["instructions_per_scored_window"]:,} |
| instructions per learning window (average) | {result["instructions_per_learning_window"]:,} |
| static RAM: learner / detector | {result["learner_ram_bytes"]} / {result["detector_ram_bytes"]} bytes |
| code + constants of binmoe_baseline.o | {result["code_bytes"]:,} bytes |
| stored baseline ({bands} bands) | {result["blob_bytes"]} bytes |"""
    benchmarks_md.write_section("baseline_cost", "ESPHome node: per-machine baseline cost (rv32imc)",
                                "python -m benchmarks.baseline_cost", body)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
