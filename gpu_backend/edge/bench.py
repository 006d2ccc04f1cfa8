"""`python -m gpu_backend.edge bench`: size, RAM and instruction counts of the node kernel, plus the accuracy
of the last training run, into docs/benchmarks/node_model.json and docs/benchmarks.md.

Instruction counts are measured, not estimated: the kernel is cross-compiled for rv32imc (Debian's
riscv64-unknown-elf-gcc, freestanding) and run in qemu-riscv32 with one instruction per translation block
and exec tracing, so every executed instruction is one trace line; the host count comes from valgrind's
callgrind. Both subtract a run with zero inferences to remove start-up.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import benchmarks_md
from .features import FeatureConfig

REPO = Path(__file__).resolve().parents[2]
KERNEL_DIR = REPO / "esphome" / "components" / "binmoe" / "kernel"
RUNS = 4

PROGRAM = r"""
#include <stdint.h>
#include MODEL_HEADER
namespace m = binmoe::models::MODEL_NS;
extern "C" {
void *memset(void *d, int c, unsigned long n) {
  auto *p = static_cast<unsigned char *>(d);
  while (n--) *p++ = c;
  return d;
}
void *memcpy(void *d, const void *s, unsigned long n) {
  auto *p = static_cast<unsigned char *>(d);
  auto *q = static_cast<const unsigned char *>(s);
  while (n--) *p++ = *q++;
  return d;
}
}
static const int8_t kInput[RUNS][m::kFrames * m::kBands] = {INPUT};
static const int16_t kFrameSamples[m::kFrame] = {SAMPLES};
static m::Net net;
static int8_t frame_out[m::kBands];
volatile int32_t sink;
extern "C" void _start() {
  m::Features features(m::kTwiddleCos, m::kTwiddleSin, m::kBandEdges);  // no crt0: no static constructors
  m::Net::Result r;
  for (int i = 0; i < N_INFER; i++) { net.infer(m::kWeights, kInput[i % RUNS], r); sink += r.class_idx + r.margin; }
  for (int i = 0; i < N_FRAMES; i++) { features.frame(kFrameSamples, frame_out); sink += frame_out[0]; }
  register long a0 __asm__("a0") = 0;
  register long a7 __asm__("a7") = 93;  // Linux exit: qemu-user ends the program here
  __asm__ volatile("ecall" : : "r"(a0), "r"(a7));
  for (;;) {}
}
"""


def _rv32_count(
    model_dir: Path, stem: str, work: Path, inputs: np.ndarray, samples: np.ndarray, n_infer: int, n_frames: int
) -> int:
    src = work / f"{stem}_rv_{n_infer}_{n_frames}.cpp"
    rows = ",".join("{" + ",".join(map(str, row)) + "}" for row in inputs.reshape(RUNS, -1))
    text = PROGRAM.replace("INPUT", rows)
    text = text.replace("SAMPLES", ",".join(map(str, samples))).replace("RUNS", str(RUNS))
    text = text.replace("N_INFER", str(n_infer)).replace("N_FRAMES", str(n_frames))
    src.write_text(text)
    elf = src.with_suffix(".elf")
    subprocess.run(
        ["riscv64-unknown-elf-g++", "-march=rv32imc", "-mabi=ilp32", "-Os", "-std=c++17", "-nostdlib",
         "-ffreestanding", "-fno-exceptions", "-fno-rtti", "-static", "-Wl,--no-relax",
         f"-I{KERNEL_DIR}", f"-I{model_dir}", f'-DMODEL_HEADER="{stem}.h"', f"-DMODEL_NS={stem}",
         str(src), "-o", str(elf), "-lgcc"],
        check=True,
    )  # fmt: skip
    log = work / f"{stem}_trace_{n_infer}_{n_frames}.txt"
    subprocess.run(["qemu-riscv32", "-singlestep", "-d", "exec,nochain", "-D", str(log), str(elf)], check=True)
    with log.open() as handle:
        return sum(1 for line in handle if line.startswith("Trace"))


def _rv32_sizes(stem: str, work: Path) -> dict[str, int]:
    """RAM of the kernel objects, from the ELF's symbol table."""
    elf = work / f"{stem}_rv_1_1.elf"
    out = subprocess.run(["riscv64-unknown-elf-nm", "-S", "-C", str(elf)], capture_output=True, text=True, check=True)
    sizes: dict[str, int] = {}
    for line in out.stdout.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    # the feature extractor lives on the stack in this program: count its size from the model header types
    ram = sum(v for k, v in sizes.items() if k in ("net", "frame_out"))
    return {"kernel_objects_ram_bytes": ram}


def _host_count(model_dir: Path, stem: str, work: Path, inputs: np.ndarray) -> int:
    exe = work / f"{stem}_host_harness"
    subprocess.run(
        ["g++", "-std=c++17", "-O2", f"-I{KERNEL_DIR}", f"-I{model_dir}", f'-DMODEL_HEADER="{stem}.h"',
         f"-DMODEL_NS={stem}", "-DINFER_ONLY", str(REPO / "tests" / "edge" / "kernel_harness.cpp"), "-o", str(exe)],
        check=True,
    )  # fmt: skip
    counts = []
    for n in (0, RUNS):
        out_file = work / f"{stem}_callgrind_{n}.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", str(exe)],
            input=inputs[:n].astype(np.int8).tobytes(),
            capture_output=True,
            check=True,
        )
        summary = re.search(r"^summary: (\d+)", out_file.read_text(), re.MULTILINE)
        assert summary, "callgrind wrote no summary"
        counts.append(int(summary.group(1)))
    return (counts[1] - counts[0]) // RUNS


def static_ram_bytes(cfg: FeatureConfig, kernel_objects: int) -> int:
    """Network + output buffers (from the ELF), the feature extractor (two int32 arrays of a frame and
    three pointers), the node's frame buffer (int16) and one window of features (int8)."""
    extractor = cfg.frame * 4 * 2 + 3 * 4 + (cfg.frame * 2 if cfg.envelope_bands else 0)
    return kernel_objects + extractor + cfg.frame * 2 + cfg.frames * cfg.bands


def plot(curve: list[tuple[float, float]], teacher: float, family: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates, f1 = zip(*curve, strict=True)
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.plot([r * 100 for r in rates], f1, marker="o", label="node BNN + teacher for escalations")
    ax.axhline(teacher, color="gray", linestyle="--", label="teacher alone")
    ax.axvline(20, color="red", linestyle=":", label="target escalation 20 %")
    ax.set_xlabel("escalation rate (%)")
    ax.set_ylabel("macro-F1 (test)")
    ax.set_title(f"BinMoE cascade, {family} model")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


METRIC_KEYS = (
    "model_bytes", "teacher_macro_f1", "student_float_macro_f1", "student_bnn_macro_f1",
    "cascade_macro_f1_at_target", "escalation_rate_at_target", "config", "train_windows", "test_windows",
)  # fmt: skip


def measure(model_dir: Path, family: str) -> dict[str, Any]:
    from .pipeline import FAMILIES

    fam = FAMILIES[family]
    cfg, stem = fam.features, fam.stem
    metrics = json.loads((model_dir / f"{stem}_metrics.json").read_text())
    rng = np.random.default_rng(0)
    inputs = rng.integers(-64, 64, size=(RUNS, cfg.frames, cfg.bands), dtype=np.int8)
    samples = rng.integers(-8000, 8000, size=cfg.frame).astype(np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = _rv32_count(model_dir, stem, work, inputs, samples, 0, 0)
        per_inference = (_rv32_count(model_dir, stem, work, inputs, samples, RUNS, 0) - base) // RUNS
        per_frame = (_rv32_count(model_dir, stem, work, inputs, samples, 0, RUNS) - base) // RUNS
        _rv32_count(model_dir, stem, work, inputs, samples, 1, 1)
        sizes = _rv32_sizes(stem, work)
        host = _host_count(model_dir, stem, work, inputs)
    result = {key: metrics[key] for key in METRIC_KEYS}
    result |= {
        "static_ram_bytes": static_ram_bytes(cfg, sizes["kernel_objects_ram_bytes"]),
        "rv32imc_instructions_per_inference": per_inference,
        "rv32imc_instructions_per_feature_frame": per_frame,
        "host_instructions_per_inference": host,
        "model_hash": metrics["model_hash"],
        "classes": metrics["classes"],
        "cascade_curve": metrics["cascade_curve"],
    }
    return result


def run(model_dir: Path, families: list[str], write: bool = True) -> dict[str, Any]:
    results = {family: measure(model_dir, family) for family in families}
    if write:
        existing: dict[str, Any] = {}
        json_path = benchmarks_md.BENCHMARKS_DIR / "node_model.json"
        if json_path.exists():
            existing = json.loads(json_path.read_text())
        for family, result in results.items():
            plot(
                result["cascade_curve"],
                result["teacher_macro_f1"],
                family,
                benchmarks_md.BENCHMARKS_DIR / f"cascade_{family}.png",
            )
            existing[family] = {k: v for k, v in result.items() if k != "cascade_curve"}
        benchmarks_md.write_json("node_model", existing)
        keys = [k for k in next(iter(existing.values())) if k != "classes"]
        names = [f for f in ("sound", "vibration", "vibration_adc") if f in existing]
        rows = "\n".join(f"| `{k}` | " + " | ".join(str(existing[f].get(k)) for f in names) + " |" for k in keys)
        body = (
            "From `python -m gpu_backend.edge train` (full configuration) on the synthetic corpora "
            "(docs/node-model.md says what is synthetic). rv32imc counts: the kernel cross-compiled with "
            "riscv64-unknown-elf-g++ -Os (hot loops -O2) and run in qemu-riscv32 with per-instruction exec "
            "tracing, minus an empty run; host: valgrind callgrind (g++ -O2). The feature cost is per frame "
            "(32 frames per window).\n\nTargets: model_bytes <= 3072, static RAM <= 16 KB, <= 160,000 rv32imc "
            "instructions per inference, BNN macro-F1 >= 0.90 x teacher, cascade macro-F1 at <= 20 % escalation "
            f">= 0.99 x teacher.\n\n| metric | {' | '.join(names)} |\n|---|{'---|' * len(names)}\n{rows}\n\n"
            + "\n".join(f"![cascade {f}](benchmarks/cascade_{f}.png)" for f in names)
        )
        command = "python -m gpu_backend.edge train && python -m gpu_backend.edge bench"
        benchmarks_md.write_section("node_model", "Node models (BNN)", command, body)
    return {f: {k: v for k, v in r.items() if k != "cascade_curve"} for f, r in results.items()}
