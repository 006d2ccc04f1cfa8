"""`python -m node_factory bench`: size, RAM and instruction counts of the node kernel, plus the accuracy
of the last training run, into docs/benchmarks/node_model.json and docs/benchmarks.md.

Everything is measured, not estimated:
- rv32imc instructions: the kernel cross-compiled for rv32imc (Debian's riscv64-unknown-elf-g++, -Os as
  ESPHome builds; freestanding) and run in qemu-riscv32 with one instruction per translation
  block and exec tracing, so every executed instruction is one trace line; a run with no work is subtracted.
- host instructions: valgrind's callgrind on the host build (g++ -O2), minus a run with no input.
- static RAM: .data + .bss of the rv32 program (the Pipeline: frame buffer, FFT buffers, feature window,
  level history; plus the bench's own few bytes), and the measured stack high-water mark of one window
  (stack painted before, scanned after).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import benchmarks_md

from ..corpus.families import FAMILIES
from ..reference.model_format import read_blob
from ..training.calibration import CALIBRATION_HEADROOM
from . import harness

RUNS = 4
CLOCK_HZ = 160_000_000  # ESP32-C3


def _write_input(work: Path, inputs: np.ndarray, samples: np.ndarray) -> None:
    """bench_input.h: the feature windows and frame samples the rv32 bench program runs on."""
    rows = ",".join("{" + ",".join(map(str, row)) + "}" for row in inputs.reshape(RUNS, -1))
    (work / "bench_input.h").write_text(
        f"static const int8_t kInput[RUNS][M::kFeatureBytes] = {{{rows}}};\n"
        f"static const int16_t kFrameSamples[M::kFrame] = {{{','.join(map(str, samples))}}};\n"
    )


def _compile_rv32(kernel_dir: Path, model_dir: Path, stem: str, work: Path, n_infer: int, n_frames: int) -> Path:
    elf = work / f"{stem}_rv_{n_infer}_{n_frames}.elf"
    flags = (f"-I{work}", f"-DRUNS={RUNS}", f"-DN_INFER={n_infer}", f"-DN_FRAMES={n_frames}")
    return harness.compile_rv32(harness.RV32_BENCH, elf, kernel_dir, model_dir, stem, *flags)


def _rv32_count(elf: Path) -> int:
    """Executed instructions: one exec-trace line per instruction (streamed, never stored)."""
    process = subprocess.Popen(
        ["qemu-riscv32", "-singlestep", "-d", "exec,nochain", str(elf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    count = sum(1 for line in process.stderr if line.startswith(b"Trace"))
    if process.wait() != 0:
        raise RuntimeError(f"qemu-riscv32 {elf} failed")
    return count


def _rv32_ram(elf: Path) -> dict[str, int]:
    """Static RAM (.data/.sdata/.bss/.sbss from the section headers) and the stack high-water mark."""
    out = subprocess.run(["riscv64-unknown-elf-size", "-A", str(elf)], capture_output=True, text=True, check=True)
    static = 0
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in (".data", ".sdata", ".bss", ".sbss"):
            static += int(parts[1])
    raw = subprocess.run(["qemu-riscv32", str(elf)], capture_output=True, check=True).stdout
    return {"static": static, "stack": int(np.frombuffer(raw[:4], "<i4")[0])}


def _host_count(kernel_dir: Path, model_dir: Path, stem: str, work: Path, inputs: np.ndarray) -> int:
    exe = harness.compile_host(harness.KERNEL_HARNESS, work / f"{stem}_host_harness", kernel_dir, model_dir, stem,
                               "-DINFER_ONLY")  # fmt: skip
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
        if summary is None:
            raise RuntimeError("callgrind wrote no summary")
        counts.append(int(summary.group(1)))
    return (counts[1] - counts[0]) // RUNS


def plot(curve: list[tuple[float, float]], teacher: float, family: str, path: Path, point: tuple[float, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates, f1 = zip(*curve, strict=True)
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    ax.plot([r * 100 for r in rates], f1, marker="o", label="node BNN + teacher for escalations")
    ax.axhline(teacher, color="gray", linestyle="--", label="teacher alone")
    ax.axhline(0.99 * teacher, color="gray", linestyle=":", label="0.99 x teacher (target)")
    ax.axvline(20, color="red", linestyle=":", label="target escalation 20 %")
    ax.plot([point[0] * 100], [point[1]], "r*", markersize=11, label="calibrated per-class thresholds")
    ax.set_xlabel("escalation rate (%, least confident first)")
    ax.set_ylabel("macro-F1 (test)")
    ax.set_title(f"BinMoE cascade, {family} model")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


METRIC_KEYS = (
    "model_bytes", "teacher_macro_f1", "student_float_macro_f1", "student_bnn_macro_f1", "bnn_export_agreement",
    "cascade_macro_f1_at_target", "escalation_rate_at_target", "config", "train_windows", "test_windows",
    "corpus_seconds", "train_seconds", "float_reference_seconds", "model_hash", "classes",
)  # fmt: skip


def measure(model_dir: Path, family: str, kernel_dir: Path) -> dict[str, Any]:
    fam = FAMILIES[family]
    cfg, stem = fam.features, fam.stem
    metrics = json.loads((model_dir / f"{stem}_metrics.json").read_text())
    rng = np.random.default_rng(0)
    inputs = rng.integers(-64, 64, size=(RUNS, cfg.frames, cfg.bands), dtype=np.int8)
    samples = rng.integers(-8000, 8000, size=cfg.frame).astype(np.int16)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _write_input(work, inputs, samples)

        def count(n_infer: int, n_frames: int) -> int:
            return _rv32_count(_compile_rv32(kernel_dir, model_dir, stem, work, n_infer, n_frames))

        base = count(0, 0)
        per_inference = (count(RUNS, 0) - base) // RUNS
        per_frame = (count(0, RUNS) - base) // RUNS
        window_elf = _compile_rv32(kernel_dir, model_dir, stem, work, 0, cfg.frames)
        per_window = _rv32_count(window_elf) - base  # all frames of a window and its classification
        ram = _rv32_ram(window_elf)
        host = _host_count(kernel_dir, model_dir, stem, work, inputs)
    windows_per_s = cfg.sample_rate / cfg.window_samples
    result = {key: metrics[key] for key in METRIC_KEYS if key in metrics}
    result |= {
        "bnn_vs_teacher": round(metrics["student_bnn_macro_f1"] / metrics["teacher_macro_f1"], 4),
        "cascade_vs_teacher": round(metrics["cascade_macro_f1_at_target"] / metrics["teacher_macro_f1"], 4),
        "static_ram_bytes": ram["static"] + ram["stack"],
        "static_data_bss_bytes": ram["static"],
        "stack_high_water_bytes": ram["stack"],
        "rv32imc_instructions_per_inference": per_inference,
        "rv32imc_instructions_per_feature_frame": per_frame,
        "rv32imc_instructions_per_window_total": per_window,
        "cpu_load_at_160mhz_percent": round(100 * per_window * windows_per_s / CLOCK_HZ, 2),
        "host_instructions_per_inference": host,
        "sample_rate": cfg.sample_rate,
        "window_seconds": round(cfg.window_samples / cfg.sample_rate, 3),
        "cascade_curve": metrics["cascade_curve"],
    }
    # the model bytes and hash of the blob in the run directory (`export --dest` rewrites it in the current format)
    body = read_blob((model_dir / f"{stem}.bin").read_bytes())
    result["model_bytes"], result["model_hash"] = len(body), hashlib.sha256(body).hexdigest()[:8]
    if "train_config" in metrics:
        result |= {k: metrics["train_config"][k] for k in ("student_epochs", "finetune_epochs")}
        result["channels"] = metrics["train_config"].get("channels")
        result["w1_bits"] = metrics["train_config"].get("w1_bits", 8)  # runs from before it existed are int8
    if "operating_points" in metrics:  # the manifest's margin_thresholds_by_rate, evaluated on the test split
        result["operating_points"] = metrics["operating_points"]
    generalization = model_dir / f"{stem}_generalization.json"  # `python -m node_factory generalize`
    if generalization.exists():
        report = json.loads(generalization.read_text())
        if report.get("model_hash") == metrics["model_hash"]:  # a report of an earlier model says nothing of this one
            result["generalization"] = report["summary"]
    return result


TABLE_KEYS = (
    "channels", "w1_bits", "model_bytes", "static_ram_bytes", "stack_high_water_bytes", "teacher_macro_f1",
    "student_float_macro_f1", "student_bnn_macro_f1", "bnn_vs_teacher", "cascade_macro_f1_at_target",
    "cascade_vs_teacher", "escalation_rate_at_target", "rv32imc_instructions_per_inference",
    "rv32imc_instructions_per_feature_frame", "rv32imc_instructions_per_window_total", "cpu_load_at_160mhz_percent",
    "host_instructions_per_inference", "bnn_export_agreement", "train_windows", "test_windows", "corpus_seconds",
    "train_seconds", "float_reference_seconds", "student_epochs", "finetune_epochs", "config", "model_hash",
)  # fmt: skip


def operating_points_table(results: dict[str, Any], families: Sequence[str]) -> str:
    """Markdown: each rate of the manifests' `margin_thresholds_by_rate` -> escalation, cascade F1 (test)."""
    names = [f for f in families if "operating_points" in results[f]]
    if not names:
        return ""
    keys = list(results[names[0]]["operating_points"])
    rows = "\n".join(
        f"| {key} | "
        + " | ".join(
            "{escalation_rate:.3f} / {cascade_macro_f1:.4f}".format(**results[f]["operating_points"][key])
            if key in results[f]["operating_points"]
            else "—"
            for f in names
        )
        + " |"
        for key in keys
    )
    return (
        "The manifests' `margin_thresholds_by_rate` (what the ESPHome component's `target_escalation_rate` "
        "picks at compile time), each rate's thresholds applied to the test split: escalation rate / cascade "
        f"macro-F1. Each rate's thresholds are calibrated on validation data to rate − {CALIBRATION_HEADROOM:.0%} "
        "(headroom for the validation split's sampling error); on unseen data a rate can still be exceeded a "
        "little, as the test split shows where a number is above its row's rate.\n\n"
        f"| target_escalation_rate | {' | '.join(names)} |\n|---|{'---|' * len(names)}\n{rows}\n\n"
    )


GENERALIZATION_ROWS = (
    ("own_test_macro_f1", "BNN macro-F1, own test split (the training generator: little evidence)", None),
    ("heldout_conditions_macro_f1", "BNN macro-F1, held-out conditions (training generator, unseen ranges)", None),
    ("heldout_macro_f1", "BNN macro-F1, independent held-out generator", ">= 0.90"),
    ("heldout_vs_own_test", "independent / own test", ">= 0.95"),
    ("critical_window_recall_heldout", "smoke/CO window recall, independent generator, SNR >= 0 dB", ">= 0.90"),
    ("critical_window_recall_heldout_conditions", "smoke/CO window recall, held-out conditions, SNR >= 0 dB",
     ">= 0.90"),
    ("critical_event_recall", "alarm events (code detector) within 10 s, independent alarm scenes", ">= 0.99"),
    ("critical_event_recall_window_rule", "the same from the model's windows (alarm_code: false)", None),
    ("critical_false_alarms_per_hour", "critical false alarms per hour (code detector), real recordings", "<= 0.1"),
    ("critical_false_alarms_per_hour_window_rule", "the same from the model's windows (alarm_code: false)", None),
    ("real_negative_hours", "hours of real recordings (Debian eval packages)", ">= 2"),
    ("cascade_macro_f1_heldout", "cascade macro-F1, independent generator", None),
    ("cascade_vs_teacher_heldout", "cascade / teacher, independent generator", ">= 0.99"),
    ("escalation_rate_heldout", "escalation rate, independent generator", "<= 0.20"),
    ("real_doorbell_knock_events_per_hour",
     "doorbell + knock `binmoe_detection` events per hour in Home Assistant, real recordings (default node)", None),
    ("real_diagnoses_per_hour", "diagnoses asked of the GPU tier per hour, real recordings (default node)", None),
)  # fmt: skip


def generalization_table(results: dict[str, Any], families: Sequence[str]) -> str:
    """Markdown: the generalisation protocol's figures next to the own-test figure, per family that has them."""
    names = [f for f in families if "generalization" in results[f]]
    if not names:
        return ""
    rows = "\n".join(
        f"| {label} | {target or '—'} | " + " | ".join(str(results[f]["generalization"].get(key)) for f in names) + " |"
        for key, label, target in GENERALIZATION_ROWS
    )
    return (
        "### On data the model was not made from\n\n"
        'From `python -m node_factory generalize` on the same run (docs/node-model.md, "Generalisation"). None '
        "of these sets is used for training, calibration, early stopping or model selection. `None`: the figure "
        "was not measured (e.g. real recordings skipped).\n\n"
        f"| figure | target | {' | '.join(names)} |\n|---|---|{'---|' * len(names)}\n{rows}\n\n"
        + "".join(
            f"{f}: the rows of the code detector (alarm events, their false alarms per hour, the hours of real "
            f"recordings) are the default node's, measured {results[f]['generalization'][CODE_DETECTOR_SOURCE]} "
            "(the detector reads no model, so a change to it is measured without a new run; "
            '"Sound: the alarm-code detector" below has the rest of that run); the other rows come from '
            "`generalize`.\n\n"
            for f in names
            if CODE_DETECTOR_SOURCE in results[f]["generalization"]
        )
        + "".join(
            f"{f}: the rows of what reaches Home Assistant (events and diagnoses per hour) are the default node's "
            f"with this model, measured {results[f]['generalization'][NODE_TRAFFIC_SOURCE]} "
            '("Sound node in rooms without alarms" below has the rest of that run); the real recordings hold no '
            "doorbell and, but for a few game effects, no knock.\n\n"
            for f in names
            if NODE_TRAFFIC_SOURCE in results[f]["generalization"]
        )
    )


def run(model_dir: Path, families: list[str], kernel_dir: Path, write: bool = True) -> dict[str, Any]:
    """Measure each family's model of the run directory `model_dir` against the kernel headers in `kernel_dir`."""
    results = {family: measure(model_dir, family, kernel_dir) for family in families}
    if write:
        existing = benchmarks_md.read_json("node_model")
        for family, result in results.items():
            plot(
                result["cascade_curve"],
                result["teacher_macro_f1"],
                family,
                benchmarks_md.BENCHMARKS_DIR / f"cascade_{family}.png",
                (result["escalation_rate_at_target"], result["cascade_macro_f1_at_target"]),
            )
            previous = existing.get(family, {})
            existing[family] = {k: v for k, v in result.items() if k != "cascade_curve"}
            # a generalisation report of the same model survives a bench run that has no report beside it
            same_model = previous.get("model_hash") == result["model_hash"]
            if "generalization" not in result and same_model and "generalization" in previous:
                existing[family]["generalization"] = previous["generalization"]
        write_report(existing)
    return {f: {k: v for k, v in r.items() if k != "cascade_curve"} for f, r in results.items()}


# The sound report's figures that are the default node's alarm-code detector's, not the model's: the keys of
# `summary` in evaluation/generalization.py, with where `python -m benchmarks.alarm_code` keeps the same figure.
CODE_DETECTOR_KEYS = {
    "critical_event_recall": ("independent_alarm_scenes", "event_recall"),
    "critical_false_alarms_per_hour": ("real_recordings", "false_alarms_per_hour"),
    "real_negative_hours": ("real_recordings", "hours"),
}
CODE_DETECTOR_SOURCE = "code_detector_measured"  # when and by what, if not by `generalize` with the rest
NODE_TRAFFIC_SOURCE = "node_traffic_measured"  # the same for `benchmarks.node_traffic`'s rows


def refresh_node_traffic(node_traffic: dict[str, Any], model_hash: str, measured: str) -> bool:
    """Put a `benchmarks.node_traffic` run's real-recording figures (what Home Assistant fires and asks the GPU
    tier per hour) into the sound report, next to the window figures they follow from.

    Only for the model the report is about (`model_hash`, the run's model) and only from a run with the real
    recordings; otherwise nothing is written (a new model's report shows these rows as not measured until
    the benchmark is run with it). Returns whether the report was rewritten."""
    report = benchmarks_md.read_json("node_model")
    sound = report.get("sound", {})
    summary = sound.get("generalization")
    same_model = str(sound.get("model_hash", ""))[:8] == model_hash[:8]
    if summary is None or not same_model or "real_recordings" not in node_traffic:
        return False
    per_hour = node_traffic["real_recordings"]["total"]["hub_per_hour"]
    events = per_hour.get("local: doorbell", 0.0) + per_hour.get("local: knock", 0.0)
    summary["real_doorbell_knock_events_per_hour"] = round(events, 1)
    summary["real_diagnoses_per_hour"] = per_hour.get("diagnose", 0.0)
    summary[NODE_TRAFFIC_SOURCE] = measured
    write_report(report, keep_stamp=True)
    return True


def refresh_code_detector(alarm_code: dict[str, Any], measured: str) -> bool:
    """Put a `benchmarks.alarm_code` run's figures of the default node's code detector into the sound report.

    The detector reads no model, so a change to it changes these figures without a new `train` and
    `generalize`; without this they would go stale in the report. Both sets must be in the run (the
    independent alarm scenes and the real recordings, as `generalize` measures them); otherwise nothing is
    written. Returns whether the report was rewritten. The section keeps its own "Measured" line and says when
    these rows were measured."""
    report = benchmarks_md.read_json("node_model")
    summary = report.get("sound", {}).get("generalization")
    if summary is None or any(part not in alarm_code for part, _key in CODE_DETECTOR_KEYS.values()):
        return False
    for key, (part, field) in CODE_DETECTOR_KEYS.items():
        summary[key] = alarm_code[part][field]
    summary[CODE_DETECTOR_SOURCE] = measured
    write_report(report, keep_stamp=True)
    return True


def write_report(existing: dict[str, Any], keep_stamp: bool = False) -> None:
    """docs/benchmarks/node_model.json and the "Node models (BNN)" section from the report `existing`."""
    benchmarks_md.write_json("node_model", existing)
    names = [f for f in ("sound", "vibration", "vibration_adc") if f in existing]
    rows = "\n".join(f"| `{k}` | " + " | ".join(str(existing[f].get(k, "—")) for f in names) + " |" for k in TABLE_KEYS)
    body = (
        "From `python -m node_factory train` (full configuration, seed 0) on the corpora built here "
        "(docs/node-model.md says exactly what is synthetic), evaluated on the own test split: other seeds of the "
        "training generator, so these figures alone are no evidence of quality (the next table is). "
        "`student_float` is the student's topology in full precision (distilled the same way); "
        "`student_bnn` the exported integer model, which the C++ kernel reproduces bit for bit. "
        "rv32imc counts: the kernel cross-compiled with riscv64-unknown-elf-g++ -Os, "
        "run in qemu-riscv32 with per-instruction exec tracing, minus an empty run; `per_window_total` is all "
        "feature frames of one window plus its classification, `cpu_load` that at one window per window "
        "length on a 160 MHz core. RAM: .data + .bss of that program plus its measured stack high-water "
        "mark. Host: valgrind callgrind (g++ -O2). Training times are wall-clock on the 2-core machine "
        "shared with other work (nice'd), so an idle machine is faster.\n\n"
        "Targets: model_bytes <= 3072, static RAM <= 16 KB, <= 160,000 rv32imc instructions per inference, "
        "BNN macro-F1 >= 0.90 x teacher, cascade macro-F1 at <= 20 % escalation >= 0.99 x teacher, full "
        f"training <= 30 min.\n\n| metric | {' | '.join(names)} |\n|---|{'---|' * len(names)}\n{rows}\n\n"
        + generalization_table(existing, names)
        + operating_points_table(existing, names)
        + "\n".join(f"![cascade {f}](benchmarks/cascade_{f}.png)" for f in names)
    )
    command = "python -m node_factory train && python -m node_factory generalize && python -m node_factory bench"
    benchmarks_md.write_section("node_model", "Node models (BNN)", command, body, keep_stamp=keep_stamp)
