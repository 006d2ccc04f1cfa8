"""The factory end to end for one task family: corpus -> features -> teacher -> student -> integer model ->
calibration -> export -> metrics. Deterministic for a seed; every output is written atomically."""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from ..atomic_write import write_atomic
from ..corpus.families import Family, dataset, family_for
from ..corpus.userdata import UserData
from ..reference import model_format
from ..reference.network import IntegerModel, decide, forward
from ..reference.teacher_format import TeacherInfo
from .calibration import CALIBRATION_HEADROOM, calibrate, thresholds_by_rate
from .configs import CONFIGS
from .metrics import cascade_curve, macro_f1
from .saved_model import asdict_model, load_model
from .teacher import load_teacher_network, teacher_file
from .train import to_integer, train_float_student, train_student, train_teacher


def teacher_predict(teacher: torch.nn.Module, x: NDArray[np.int8]) -> NDArray[np.int64]:
    with torch.no_grad():
        return teacher(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy()


def run(
    out_dir: Path,
    config_name: str = "full",
    seed: int = 0,
    family_name: str = "sound",
    data: UserData | None = None,
    channels: int | None = None,
    w1_bits: int | None = None,
) -> dict[str, Any]:
    """Train, calibrate, export and evaluate one family's model; returns the metrics (also in
    <stem>_metrics.json). Everything is computed first and written at the end, each file atomically.
    `channels` and `w1_bits` override the configuration's student width and first-layer weight precision."""
    family = family_for(family_name, data)
    run_cfg = CONFIGS[config_name]
    torch.manual_seed(seed)
    classes = family.classes
    started = time.monotonic()
    x_tr, y_tr, _ = dataset("train", run_cfg.per_class(family.name, "train"), family, run_cfg.real_audio)
    splits = {name: dataset(name, n, family, run_cfg.real_audio)[:2]
              for name in ("val", "test") for n in (run_cfg.per_class(family.name, name),)}  # fmt: skip
    corpus_seconds = time.monotonic() - started
    for name, labels in (("train", y_tr), ("val", splits["val"][1]), ("test", splits["test"][1])):
        empty = [classes[c] for c in range(len(classes)) if not np.any(labels == c)]
        if empty:
            raise ValueError(f"empty classes in the {name} split: {empty}")
    tcfg = run_cfg.train_config(family.name, seed)
    if channels is not None:  # a smaller (or larger) student than the configuration's, e.g. for less flash
        tcfg = replace(tcfg, channels=channels)
    if w1_bits is not None:  # int4 / ternary first-layer weights (per output channel), for less flash
        tcfg = replace(tcfg, w1_bits=w1_bits)
    teacher = train_teacher(x_tr, y_tr, len(classes), tcfg)
    student = train_student(x_tr, y_tr, teacher, len(classes), tcfg)
    train_seconds = time.monotonic() - started - corpus_seconds
    float_student = train_float_student(x_tr, y_tr, teacher, len(classes), tcfg)
    model = to_integer(student, classes, family.features.digest(), family.features.frames)
    x_te, y_te = splits["test"]
    pred, _, _ = decide(model, forward(model, x_te))
    metrics: dict[str, Any] = {
        "family": family.name,
        "model_id": family.model_id,
        "classes": list(classes),
        "config": config_name,
        "seed": seed,
        "w1_bits": tcfg.w1_bits,
        "train_windows": len(y_tr),
        "test_windows": len(y_te),
        "student_float_macro_f1": round(macro_f1(y_te, teacher_predict(float_student, x_te), len(classes)), 4),
        # the trained BNN in PyTorch vs its integer export: rounding the last layer to integers can tie two almost
        # equal logits (the ci run on corpus v5 has one such window: tests/node_factory/test_kernel.py)
        "bnn_export_agreement": round(float(np.mean(teacher_predict(student, x_te) == pred)), 4),
        "corpus_seconds": round(corpus_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "float_reference_seconds": round(time.monotonic() - started - corpus_seconds - train_seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "train_config": asdict(tcfg),
    }
    info = TeacherInfo(family.name, family.model_id, classes, family.features, tcfg.level_norm)
    extra = {f"{family.stem}_teacher.pt": teacher_file(teacher, info)}
    return _calibrate_and_write(out_dir, family, model, teacher, splits, metrics, run_cfg.target_escalation,
                                CALIBRATION_HEADROOM, extra)  # fmt: skip


def recalibrate(
    run_dir: Path,
    family_name: str,
    target: float,
    headroom: float = CALIBRATION_HEADROOM,
    data: UserData | None = None,
) -> dict[str, Any]:
    """New escalation thresholds for a trained model (no retraining): a different escalation budget."""
    family = family_for(family_name, data)
    metrics_path = run_dir / f"{family.stem}_metrics.json"
    if not metrics_path.exists():
        raise FileNotFoundError(f"{metrics_path}: no training run; run `python -m node_factory train` first")
    metrics = json.loads(metrics_path.read_text())
    run_cfg = CONFIGS[metrics["config"]]
    model = load_model(run_dir / f"{family.stem}_model.npz")
    teacher, _info = load_teacher_network(run_dir / f"{family.stem}_teacher.pt")
    splits = {name: dataset(name, n, family, run_cfg.real_audio)[:2]
              for name in ("val", "test") for n in (run_cfg.per_class(family.name, name),)}  # fmt: skip
    return _calibrate_and_write(run_dir, family, model, teacher, splits, metrics, target, headroom, {})


def _calibrate_and_write(
    out_dir: Path,
    family: Family,
    model: IntegerModel,
    teacher: torch.nn.Module,
    splits: dict[str, tuple[NDArray[np.int8], NDArray[np.int64]]],
    metrics: dict[str, Any],
    target: float,
    headroom: float,
    extra: dict[str, bytes],
) -> dict[str, Any]:
    if not 0 <= target - headroom < 1:
        raise ValueError(f"escalation target {target} with headroom {headroom} is not a rate")
    (x_va, y_va), (x_te, y_te) = splits["val"], splits["test"]
    n = len(family.classes)
    t_va = teacher_predict(teacher, x_va)
    calibrate(model, x_va, target - headroom, y_va, t_va)
    model.margin_thresholds_by_rate = thresholds_by_rate(model, x_va, y_va, t_va, headroom)
    outputs = model_format.files(model, family.features, family.model_id, family.name)
    body = model_format.payload(model, family.features, family.model_id)
    model.meta["model_hash"] = hashlib.sha256(body).hexdigest()
    t_pred = teacher_predict(teacher, x_te)
    pred, _margin, escalate = decide(model, forward(model, x_te))
    cascade = np.where(escalate, t_pred, pred)
    logits_te = forward(model, x_te)
    operating_points = {}
    for key, thresholds in model.margin_thresholds_by_rate.items():
        at_rate = decide(replace(model, margin_thresholds=np.array(thresholds, dtype=np.int32)), logits_te)
        operating_points[key] = {
            "escalation_rate": round(float(at_rate[2].mean()), 4),
            "cascade_macro_f1": round(macro_f1(y_te, np.where(at_rate[2], t_pred, at_rate[0]), n), 4),
        }
    metrics = {
        **metrics,
        "model_bytes": len(body),
        "teacher_macro_f1": round(macro_f1(y_te, t_pred, n), 4),
        "student_bnn_macro_f1": round(macro_f1(y_te, pred, n), 4),
        "cascade_macro_f1_at_target": round(macro_f1(y_te, cascade, n), 4),
        "escalation_rate_at_target": round(float(escalate.mean()), 4),
        "target_escalation_rate": target,
        "calibration_headroom": headroom,
        "margin_thresholds": [int(v) for v in model.margin_thresholds],
        "margin_thresholds_by_rate": model.margin_thresholds_by_rate,
        # the table's thresholds on the test split: what each `target_escalation_rate` gives on unseen data
        "operating_points": operating_points,
        "cascade_curve": cascade_curve(model, x_te, y_te, t_pred),
        "model_hash": model.meta["model_hash"][:8],
        "feature_digest": family.features.digest(),
    }
    outputs |= extra
    np_buffer = io.BytesIO()
    np.savez(np_buffer, **asdict_model(model))
    outputs[f"{family.stem}_model.npz"] = np_buffer.getvalue()
    outputs[f"{family.stem}_metrics.json"] = json.dumps(metrics, indent=2).encode()
    for name, content in outputs.items():
        write_atomic(out_dir / name, content)
    return metrics


def export_model(run_dir: Path, family_name: str, dest: Path, data: UserData | None = None) -> list[Path]:
    """Regenerate a trained model's header, blob and manifest from its saved integer model into `dest`."""
    family = family_for(family_name, data)
    model = load_model(run_dir / f"{family.stem}_model.npz")
    if model.feature_digest != family.features.digest():
        raise ValueError(
            f"{run_dir / (family.stem + '_model.npz')}: trained for other features than the {family.name} family's"
        )
    outputs = model_format.files(model, family.features, family.model_id, family.name)
    for name, content in outputs.items():
        write_atomic(dest / name, content)
    return [dest / name for name in outputs]
