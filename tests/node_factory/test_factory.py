"""The factory around the model: teacher for the GPU tier, CLI, determinism, atomic writes, features."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gpu_backend.teacher import load_teacher
from node_factory.__main__ import main
from node_factory.atomic_write import write_atomic
from node_factory.corpus.families import FAMILIES, dataset
from node_factory.corpus.synth import SOUND_CLASSES
from node_factory.reference import model_format
from node_factory.reference.features import FeatureConfig, features
from node_factory.reference.network import confidence, forward
from node_factory.training.configs import CONFIGS
from node_factory.training.metrics import macro_f1
from node_factory.training.saved_model import load_model
from node_factory.training.train import Teacher, TrainConfig, to_integer, train_student, train_teacher


@pytest.mark.parametrize("family_name", ["sound", "vibration"])
def test_teacher_classifies_escalation_features(trained_dir: Path, family_name: str) -> None:
    family = FAMILIES[family_name]
    teacher = load_teacher(trained_dir / f"{family.stem}_teacher.pt")
    assert teacher.classes == family.classes and teacher.model_id == family.model_id
    x, y, _ = dataset("test", CONFIGS["ci"].per_class(family.name, "test"), family)
    answers = [teacher.classify_array(row) for row in x]
    predicted = np.array([family.classes.index(label) for label, _ in answers])
    best, confidence = teacher.classify_windows(x)
    assert best.tolist() == predicted.tolist()  # the batch form reads the same
    # one window at a time and a stack of them are different float sums: the same to float precision, so a
    # confidence on a rounding boundary may round to the next 1e-4 (seen once in CI: 0.7752 against 0.7753)
    assert confidence == pytest.approx([conf for _, conf in answers], abs=1.5e-4)
    assert teacher.classify_windows(x[:0])[0].shape == (0,)
    with pytest.raises(ValueError, match="are not N x"):
        teacher.classify_windows(x[0])
    metrics = json.loads((trained_dir / f"{family.stem}_metrics.json").read_text())
    assert macro_f1(y, predicted, len(family.classes)) == pytest.approx(metrics["teacher_macro_f1"], abs=0.01)
    assert all(0 < conf <= 1 for _, conf in answers)
    # the protocol's form: base64 of int8 frames x bins
    shape = f"{x.shape[1]}x{x.shape[2]}"
    assert teacher.classify(base64.b64encode(x[0].tobytes()).decode(), shape) == answers[0]
    with pytest.raises(ValueError, match="does not match"):
        teacher.classify(base64.b64encode(x[0].tobytes()).decode(), "16x32")
    with pytest.raises(ValueError, match="base64"):
        teacher.classify("!!", shape)
    with pytest.raises(ValueError, match="not <frames>x<bins>"):
        teacher.classify("AAAA", "big")


def test_teacher_bare_state_dict_and_bad_file(tmp_path: Path) -> None:
    torch.manual_seed(0)
    torch.save(Teacher(len(SOUND_CLASSES)).state_dict(), tmp_path / "bare.pt")
    assert load_teacher(tmp_path / "bare.pt").classes == SOUND_CLASSES
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt: not a readable teacher checkpoint"):
        load_teacher(tmp_path / "junk.pt")


def test_cli_eval_export_and_missing_run(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--out", str(trained_dir), "--family", "sound"]) == 0
    assert json.loads(capsys.readouterr().out)["family"] == "sound"
    dest = tmp_path / "models"
    assert main(["export", "--out", str(trained_dir), "--family", "vibration", "--dest", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["vibration_v1.bin", "vibration_v1.h", "vibration_v1.json"]
    assert (dest / "vibration_v1.bin").read_bytes() == (trained_dir / "vibration_v1.bin").read_bytes()
    assert main(["eval", "--out", str(tmp_path / "none")]) == 2
    assert "no training run" in capsys.readouterr().err


def test_train_with_fewer_channels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`train --channels C`: the student is pruned to C channels, and the header and metrics say so."""
    ci = CONFIGS["ci"]
    short = replace(ci, train=TrainConfig(teacher_epochs=1, student_epochs=2, finetune_epochs=1))
    monkeypatch.setitem(CONFIGS, "ci", short)  # the ci corpus (cached), a much shorter schedule
    assert main(["train", "--out", str(tmp_path), "--config", "ci", "--family", "vibration", "--channels", "8"]) == 0
    assert load_model(tmp_path / "vibration_v1_model.npz").channels == 8
    assert "inline constexpr int kChannels = 8;" in (tmp_path / "vibration_v1.h").read_text()
    metrics = json.loads((tmp_path / "vibration_v1_metrics.json").read_text())
    assert metrics["train_config"]["channels"] == 8
    for bad in ("1", "33"):
        with pytest.raises(SystemExit):
            main(["train", "--out", str(tmp_path), "--channels", bad])


def test_training_is_deterministic() -> None:
    """Same seed, same bytes: teacher, distillation, pruning and folding repeat exactly (short schedule)."""
    family = FAMILIES["vibration"]
    x, y, _ = dataset("train", CONFIGS["ci"].per_class(family.name, "train"), family)
    cfg = TrainConfig(teacher_epochs=1, student_epochs=2, finetune_epochs=1, seed=5)

    def model_bytes() -> bytes:
        teacher = train_teacher(x, y, len(family.classes), cfg)
        student = train_student(x, y, teacher, len(family.classes), cfg)
        model = to_integer(student, family.classes, family.features.digest(), family.features.frames)
        return model_format.payload(model, family.features, family.model_id)

    assert model_bytes() == model_bytes()


def test_atomic_write_leaves_nothing_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.h"
    write_atomic(target, "old")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model.h"]


def test_payload_refuses_a_model_of_other_features(trained_dir: Path) -> None:
    model = load_model(trained_dir / "sound_v1_model.npz")
    with pytest.raises(ValueError, match="feature digest does not match"):
        model_format.payload(model, FAMILIES["vibration"].features, "sound-v1")


def test_feature_reference_properties() -> None:
    cfg = FeatureConfig()
    t = np.arange(cfg.window_samples) / cfg.sample_rate
    tone = (np.sin(2 * np.pi * 3200 * t) * 8000).astype(np.int16)
    feats = features(tone, cfg)
    edges = np.array(cfg.band_edges) * cfg.sample_rate / cfg.frame
    band = int(np.searchsorted(edges, 3200)) - 1
    assert (feats.argmax(axis=1) == band).all()  # a 3.2 kHz smoke-alarm tone lands in its mel band
    louder = features((tone.astype(np.int32) * 2).clip(-32768, 32767).astype(np.int16), cfg)
    assert (louder[:, band] - feats[:, band] == 8).all()  # +6 dB: power x4, 8*log2 +16, halved
    with pytest.raises(ValueError, match="expected 16384 samples"):
        features(tone[:100], cfg)
    assert cfg.digest() != FeatureConfig(f_min=200.0).digest()


def test_confidence_is_the_softmax_of_scaled_logits(trained_dir: Path) -> None:
    model = load_model(trained_dir / "sound_v1_model.npz")
    x = dataset("test", CONFIGS["ci"].per_class("sound", "test"), FAMILIES["sound"])[0][:50]
    logits = forward(model, x)
    conf = confidence(logits, model.logit_scale)
    probs = torch.softmax(torch.tensor(logits, dtype=torch.float64) * model.logit_scale, dim=1)
    np.testing.assert_allclose(conf, probs.max(dim=1).values.numpy())
    assert ((conf > 1 / len(model.classes)) & (conf <= 1)).all()
