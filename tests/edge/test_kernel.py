"""The C++ kernel, compiled for the host, gives bit-exactly the Python reference's features, logits and
decisions on >= 1000 windows; the export, blob and sizes hold."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from gpu_backend.edge.bnn import decide, forward
from gpu_backend.edge.export import read_blob
from gpu_backend.edge.features import FeatureConfig, features
from gpu_backend.edge.pipeline import CONFIGS, dataset, load_model

REPO = Path(__file__).parents[2]
KERNEL_DIR = REPO / "esphome" / "components" / "binmoe" / "kernel"
CFG = FeatureConfig()


def build(out: Path) -> Path:
    exe = out / "harness"
    subprocess.run(
        ["g++", "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{KERNEL_DIR}", f"-I{out}",
         '-DMODEL_HEADER="sound_v1.h"', "-DMODEL_NS=sound_v1", str(Path(__file__).with_name("kernel_harness.cpp")),
         "-o", str(exe)],
        check=True,
    )  # fmt: skip
    return exe


def run_kernel(exe: Path, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = subprocess.run([str(exe)], input=windows.astype("<i2").tobytes(), capture_output=True, check=True).stdout
    classes = 8
    record = np.dtype([("f", "i1", (CFG.frames * CFG.bands,)), ("logits", "<i4", (classes,)), ("tail", "<i4", (3,))])
    rows = np.frombuffer(raw, dtype=record)
    assert len(rows) == len(windows)
    return rows["f"].reshape(-1, CFG.frames, CFG.bands), rows["logits"], rows["tail"]


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    run_cfg = CONFIGS["ci"]
    parts = [
        dataset(split, n, CFG)[2] for split, n in (("train", run_cfg.train_per_class), ("test", run_cfg.test_per_class))
    ]
    rng = np.random.default_rng(7)
    extremes = [
        np.zeros(CFG.window_samples, np.int16),
        np.full(CFG.window_samples, 32767, np.int16),
        np.full(CFG.window_samples, -32768, np.int16),
        np.where(np.arange(CFG.window_samples) % 2, 32767, -32768).astype(np.int16),
        *(rng.integers(-32768, 32768, CFG.window_samples).astype(np.int16) for _ in range(16)),
    ]
    return np.concatenate([*parts, np.stack(extremes)])


def test_kernel_is_bit_exact(trained: tuple[Path, dict[str, object]], windows: np.ndarray) -> None:
    out, _metrics = trained
    model = load_model(out / "sound_v1_model.npz")
    exe = build(out)
    c_feats, c_logits, c_tail = run_kernel(exe, windows)
    assert len(windows) >= 1000
    py_feats = np.stack([features(w, CFG) for w in windows])
    np.testing.assert_array_equal(c_feats, py_feats)
    py_logits = forward(model, py_feats)
    np.testing.assert_array_equal(c_logits, py_logits)
    cls, margin, escalate = decide(model, py_logits)
    np.testing.assert_array_equal(c_tail[:, 0], cls)
    np.testing.assert_array_equal(c_tail[:, 1], margin)
    np.testing.assert_array_equal(c_tail[:, 2], escalate.astype(np.int32))


def test_export_and_targets(trained: tuple[Path, dict[str, object]]) -> None:
    out, metrics = trained
    body = read_blob((out / "sound_v1.bin").read_bytes())
    assert len(body) == metrics["model_bytes"] <= 3072
    header = (out / "sound_v1.h").read_text()
    assert CFG.digest() in header and "kClassNames" in header
    # The reduced run is small; it must still learn (the full run's numbers are in docs/benchmarks.md).
    assert float(metrics["teacher_macro_f1"]) > 0.6  # type: ignore[arg-type]
    assert float(metrics["student_bnn_macro_f1"]) > 0.5  # type: ignore[arg-type]
    assert 0.1 <= float(metrics["escalation_rate_at_target"]) <= 0.35  # type: ignore[arg-type]


def test_corrupt_blob_is_rejected(trained: tuple[Path, dict[str, object]]) -> None:
    out, _ = trained
    data = bytearray((out / "sound_v1.bin").read_bytes())
    with pytest.raises(ValueError, match="truncated"):
        read_blob(bytes(data[:-5]))
    data[40] ^= 0xFF
    with pytest.raises(ValueError, match="CRC mismatch"):
        read_blob(bytes(data))
    with pytest.raises(ValueError, match="bad magic"):
        read_blob(b"nope" + bytes(data[4:]))
