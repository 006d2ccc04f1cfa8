"""Per-window level normalisation (reference/level_norm.py): its rounding, the training networks' copy of it,
the model format's flag, the integer network and the GPU tier's teacher path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gpu_backend.teacher import load_teacher
from node_factory.corpus.families import FAMILIES
from node_factory.reference import model_format, teacher_format
from node_factory.reference.level_norm import normalise, window_level
from node_factory.reference.network import IntegerModel, forward
from node_factory.reference.teacher_format import TeacherInfo
from node_factory.training.configs import CONFIGS
from node_factory.training.saved_model import asdict_model, load_model
from node_factory.training.teacher import teacher_file
from node_factory.training.train import Student, Teacher, level_normalise, to_integer

SOUND = FAMILIES["sound"]
FRAMES, BANDS = SOUND.features.frames, SOUND.features.bands


def random_features(n: int, seed: int, low: int = -128, high: int = 128) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, (n, FRAMES, BANDS)).astype(np.int8)


def random_model(level_norm: bool, seed: int = 0, channels: int = 8) -> IntegerModel:
    """An integer model with random weights and thresholds near the middle of each layer's range."""
    rng = np.random.default_rng(seed)
    classes = ("a", "b", "c")
    c = channels
    return IntegerModel(
        classes=classes, w1=rng.integers(-127, 128, (c, BANDS, 3)).astype(np.int8),
        t1=rng.integers(-3000, 3000, c).astype(np.int32), s1=rng.choice([-1, 1], c).astype(np.int8),
        w2=rng.integers(0, 2, (c, c, 3)).astype(np.uint8), t2=rng.integers(-6, 6, c).astype(np.int32),
        s2=rng.choice([-1, 1], c).astype(np.int8), w3=rng.integers(0, 2, (c, c, 3)).astype(np.uint8),
        t3=rng.integers(-6, 6, c).astype(np.int32), s3=rng.choice([-1, 1], c).astype(np.int8),
        w4=rng.integers(-127, 128, (len(classes), c)).astype(np.int8),
        b4=rng.integers(-100, 100, len(classes)).astype(np.int32),
        margin_thresholds=np.zeros(len(classes), dtype=np.int32), logit_scale=0.01,
        feature_digest=SOUND.features.digest(), level_norm=level_norm,
    )  # fmt: skip


def test_level_rounds_half_up_with_floor_division() -> None:
    """m = floor((sum + n/2) / n) over 2 x 2 windows (n = 4): halves go up, negative sums floor."""
    sums_and_levels = [(0, 0), (1, 0), (2, 1), (5, 1), (6, 2), (-1, 0), (-2, 0), (-3, -1), (-6, -1), (-7, -2)]
    for total, level in sums_and_levels:
        window = np.array([[total, 0], [0, 0]], dtype=np.int64)
        assert int(window_level(window)) == level, total
    x = random_features(50, 1)
    exact = x.astype(np.float64).mean(axis=(1, 2))
    assert np.all(np.abs(window_level(x) - exact) <= 0.5)
    out = normalise(np.full((1, FRAMES, BANDS), -128, dtype=np.int8))
    assert out.dtype == np.int64 and not out.any()  # exact: no int8 clipping on the way


def test_training_networks_normalise_exactly_as_the_reference() -> None:
    extremes = np.stack([np.full((FRAMES, BANDS), v, dtype=np.int8) for v in (-128, 127, 0, -1)])
    ramp = np.broadcast_to(np.arange(-128, 128, 256 // BANDS, dtype=np.int8), (1, FRAMES, BANDS))
    x = np.concatenate([random_features(200, 2), random_features(200, 3, -128, -100), extremes, ramp])
    torch_out = level_normalise(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_array_equal(torch_out.astype(np.int64), normalise(x))


def test_a_normalised_model_ignores_the_windows_level() -> None:
    """The same window shifted by a constant level (within int8) gives the same logits only with the flag."""
    x = random_features(64, 4, -100, 100)
    shifted = (x.astype(np.int16) + 23).astype(np.int8)
    normalised, raw = random_model(True), random_model(False)
    np.testing.assert_array_equal(forward(normalised, x), forward(normalised, shifted))
    assert not np.array_equal(forward(raw, x), forward(raw, shifted))
    # and the flag is what the normalised model runs on: raw logits of the normalised features
    np.testing.assert_array_equal(forward(normalised, x), forward(raw, normalise(x)))


def test_the_model_bytes_carry_the_flag_and_unflagged_models_keep_their_bytes() -> None:
    config, model_id = SOUND.features, SOUND.model_id
    raw_body = model_format.payload(random_model(False), config, model_id)
    body = model_format.payload(random_model(True), config, model_id)
    assert raw_body[0] == model_format.RAW_INPUT_KERNEL == 2 and body[0] == model_format.LEVEL_NORM_KERNEL
    assert body[1:] == raw_body[1:]  # the flag is the kernel version byte and nothing else
    parsed, _ = model_format.parse_payload(body)
    assert parsed.level_norm and not model_format.parse_payload(raw_body)[0].level_norm
    x = random_features(16, 5)
    np.testing.assert_array_equal(forward(parsed, x), forward(random_model(True), x))
    manifest = model_format.manifest(random_model(True), config, model_id, "sound")
    assert manifest["level_norm"] is True and manifest["kernel_version"] == model_format.LEVEL_NORM_KERNEL
    header = model_format.header(random_model(True), config, model_id)
    assert "inline constexpr bool kLevelNorm = true;" in header and "kLevelNorm};" in header


def test_a_reader_of_raw_input_models_refuses_a_normalised_one() -> None:
    """What the loader before the flag did (kernel version 2 only), and an unknown future version here."""
    body = model_format.payload(random_model(True), SOUND.features, SOUND.model_id)
    assert body[0] != 2  # the previous reader: `if kernel != 2: raise ValueError`
    with pytest.raises(ValueError, match="kernel version 4"):
        model_format.parse_payload(bytes([4]) + body[1:])


def test_saved_model_keeps_the_flag(tmp_path: Path) -> None:
    for flag in (True, False):
        path = tmp_path / f"{flag}.npz"
        np.savez(path, **asdict_model(random_model(flag)))
        assert load_model(path).level_norm is flag
    legacy = {k: v for k, v in asdict_model(random_model(False)).items() if k != "level_norm"}
    np.savez(tmp_path / "legacy.npz", **legacy)
    assert load_model(tmp_path / "legacy.npz").level_norm is False  # runs saved before it: raw input


def test_student_folds_into_a_flagged_integer_model() -> None:
    """The BNN student normalises inside forward (a shifted window gets the same answers) and its integer
    model carries the flag (the CI runs' `bnn_export_agreement` and the kernel tests check the integers)."""
    torch.manual_seed(0)
    student = Student(BANDS, 8, 3, level_norm=True).eval()
    integer = to_integer(student, ("a", "b", "c"), SOUND.features.digest(), FRAMES)
    assert integer.level_norm
    x = random_features(64, 6)
    with torch.no_grad():
        shifted = torch.tensor(x, dtype=torch.float32) + 20
        same = student(torch.tensor(x, dtype=torch.float32)).argmax(1) == student(shifted).argmax(1)
    assert bool(same.all())


def test_sound_trains_normalised_and_vibration_raw() -> None:
    for config in ("full", "ci"):
        assert CONFIGS[config].train_config("sound", 0).level_norm
        assert not CONFIGS[config].train_config("vibration", 0).level_norm
        assert not CONFIGS[config].train_config("vibration_adc", 0).level_norm


def test_the_gpu_tiers_teacher_normalises_raw_escalated_features(tmp_path: Path) -> None:
    """The exported teacher graph normalises by itself: the GPU tier passes raw features as they arrive."""
    torch.manual_seed(0)
    classes = SOUND.classes
    info = TeacherInfo("sound", SOUND.model_id, classes, SOUND.features, level_norm=True)
    path = tmp_path / "teacher.pt"
    path.write_bytes(teacher_file(Teacher(len(classes), level_norm=True), info))
    loaded = load_teacher(path)
    assert teacher_format.decode(teacher_format.encode(info)).level_norm
    x = random_features(8, 7, -100, 100)
    for window in x:
        shifted = (window.astype(np.int16) - 17).astype(np.int8)
        name, confidence = loaded.classify_array(window)
        assert (name, confidence) == loaded.classify_array(shifted)
    raw_path = tmp_path / "raw.pt"
    torch.manual_seed(0)
    raw_path.write_bytes(teacher_file(Teacher(len(classes)), replace(info, level_norm=False)))
    raw = load_teacher(raw_path)
    answers = [raw.classify_array(w) != raw.classify_array((w.astype(np.int16) - 17).astype(np.int8)) for w in x]
    assert any(answers)  # without the flag the level changes the answer (confidence at least)


def test_old_teacher_metadata_reads_as_raw_input() -> None:
    info = TeacherInfo("sound", SOUND.model_id, SOUND.classes, SOUND.features)
    text = teacher_format.encode(info).replace(', "level_norm": false', "")
    assert "level_norm" not in text
    assert teacher_format.decode(text).level_norm is False
    with pytest.raises(ValueError, match="level_norm"):
        teacher_format.decode(teacher_format.encode(info).replace('"level_norm": false', '"level_norm": 1'))
