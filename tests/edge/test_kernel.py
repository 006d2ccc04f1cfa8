"""The C++ kernel, compiled for the host, gives bit-exactly the Python reference's features, logits and
decisions on >= 1000 windows per family; the export, blob and sizes hold."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gpu_backend.edge.bnn import decide, forward
from gpu_backend.edge.export import read_blob
from gpu_backend.edge.features import features
from gpu_backend.edge.pipeline import CONFIGS, FAMILIES, Family, dataset, load_model

REPO = Path(__file__).parents[2]
KERNEL_DIR = REPO / "esphome" / "components" / "binmoe" / "kernel"


def build(out: Path, stem: str) -> Path:
    exe = out / f"{stem}_harness"
    subprocess.run(
        ["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{KERNEL_DIR}", f"-I{out}",
         f'-DMODEL_HEADER="{stem}.h"', f"-DMODEL_NS={stem}", str(Path(__file__).with_name("kernel_harness.cpp")),
         "-o", str(exe)],
        check=True,
    )  # fmt: skip
    return exe


def run_kernel(exe: Path, windows: np.ndarray, family: Family) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cfg = family.features
    raw = subprocess.run([str(exe)], input=windows.astype("<i2").tobytes(), capture_output=True, check=True).stdout
    record = np.dtype(
        [("f", "i1", (cfg.frames * cfg.bands,)), ("logits", "<i4", (len(family.classes),)), ("tail", "<i4", (3,))]
    )
    rows = np.frombuffer(raw, dtype=record)
    assert len(rows) == len(windows)
    return rows["f"].reshape(-1, cfg.frames, cfg.bands), rows["logits"], rows["tail"]


def corpus_and_extremes(family: Family) -> np.ndarray:
    run_cfg = CONFIGS["ci"]
    splits = (("train", run_cfg.train_per_class), ("val", run_cfg.val_per_class), ("test", run_cfg.test_per_class))
    parts = [dataset(split, n, family)[2] for split, n in splits]
    size = family.features.window_samples
    rng = np.random.default_rng(7)
    extremes = [
        np.zeros(size, np.int16),
        np.full(size, 32767, np.int16),
        np.full(size, -32768, np.int16),
        np.where(np.arange(size) % 2, 32767, -32768).astype(np.int16),
        *(rng.integers(-32768, 32768, size).astype(np.int16) for _ in range(16)),
    ]
    return np.concatenate([*parts, np.stack(extremes)])


@pytest.mark.parametrize("family_name", ["sound", "vibration", "vibration_adc"])
def test_kernel_is_bit_exact(trained_dir: Path, family_name: str) -> None:
    family = FAMILIES[family_name]
    windows = corpus_and_extremes(family)
    assert len(windows) >= 1000
    model = load_model(trained_dir / f"{family.stem}_model.npz")
    c_feats, c_logits, c_tail = run_kernel(build(trained_dir, family.stem), windows, family)
    py_feats = np.stack([features(w, family.features) for w in windows])
    np.testing.assert_array_equal(c_feats, py_feats)
    py_logits = forward(model, py_feats)
    np.testing.assert_array_equal(c_logits, py_logits)
    cls, margin, escalate = decide(model, py_logits)
    np.testing.assert_array_equal(c_tail[:, 0], cls)
    np.testing.assert_array_equal(c_tail[:, 1], margin)
    np.testing.assert_array_equal(c_tail[:, 2], escalate.astype(np.int32))


@pytest.mark.parametrize("family_name", ["sound", "vibration", "vibration_adc"])
def test_export_and_targets(trained_dir: Path, family_name: str) -> None:
    family = FAMILIES[family_name]
    metrics = json.loads((trained_dir / f"{family.stem}_metrics.json").read_text())
    body = read_blob((trained_dir / f"{family.stem}.bin").read_bytes())
    assert len(body) == metrics["model_bytes"] <= 3072
    header = (trained_dir / f"{family.stem}.h").read_text()
    assert family.features.digest() in header and "kClassNames" in header
    # The reduced run is small; it must still learn (the full runs' numbers are in docs/benchmarks.md).
    assert metrics["teacher_macro_f1"] > 0.5
    assert metrics["student_bnn_macro_f1"] > 0.4
    assert 0.05 <= metrics["escalation_rate_at_target"] <= 0.35


def test_corrupt_blob_is_rejected(trained_dir: Path) -> None:
    data = bytearray((trained_dir / "sound_v1.bin").read_bytes())
    with pytest.raises(ValueError, match="truncated"):
        read_blob(bytes(data[:-5]))
    data[40] ^= 0xFF
    with pytest.raises(ValueError, match="CRC mismatch"):
        read_blob(bytes(data))
    with pytest.raises(ValueError, match="bad magic"):
        read_blob(b"nope" + bytes(data[4:]))
