"""Real-to-binary initialisation: the binary student starts from a trained full-precision one
(`TrainConfig.float_init_epochs`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from node_factory.training.train import (
    FEATURE_SCALE,
    Student,
    Teacher,
    TrainConfig,
    start_from_float,
    train_student,
)

BANDS, FRAMES, CLASSES = 32, 32, 3


def test_the_binary_student_starts_where_the_float_one_ended() -> None:
    torch.manual_seed(0)
    real = Student(BANDS, 8, CLASSES, binary=False)
    with torch.no_grad():
        real.w2.mul_(30)  # latent weights beyond the straight-through range
        real.bn2.weight.copy_(torch.randn(8))
    binary = Student(BANDS, 8, CLASSES)
    start_from_float(binary, real)
    x = torch.randint(-128, 128, (4, BANDS, FRAMES)).float()
    # the first layer sees integer features where the float network sees them / FEATURE_SCALE
    assert torch.allclose(F.conv1d(x, binary.w1), F.conv1d(x / FEATURE_SCALE, real.w1), atol=1e-4)
    assert binary.w2.abs().max() <= 1 and torch.equal(torch.sign(binary.w2), torch.sign(real.w2))
    assert torch.equal(binary.bn2.weight, real.bn2.weight) and torch.equal(binary.fc.weight, real.fc.weight)
    assert binary.binary and not real.binary


@pytest.mark.parametrize("wrong", ["binary source", "float target", "other width"])
def test_start_from_float_refuses_what_does_not_fit(wrong: str) -> None:
    real = Student(BANDS, 8, CLASSES, binary=wrong == "binary source")
    target = Student(BANDS, 4 if wrong == "other width" else 8, CLASSES, binary=wrong != "float target")
    with pytest.raises(ValueError, match="same shape"):
        start_from_float(target, real)


def test_train_student_uses_the_float_start() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, 96)
    x = rng.integers(-20, 20, (96, FRAMES, BANDS)).astype(np.int8)
    x[np.arange(96), :, y * 8] = 100  # one band per class: something to learn
    teacher = Teacher(CLASSES).eval()
    base = TrainConfig(channels=4, wide_channels=6, student_epochs=2, finetune_epochs=1, batch=32)
    plain = train_student(x, y, teacher, CLASSES, base)
    started = train_student(x, y, teacher, CLASSES, TrainConfig(**{**base.__dict__, "float_init_epochs": 2}))
    assert started.w1.shape == plain.w1.shape == (4, BANDS, 3) and started.binary
    assert not torch.equal(started.w1, plain.w1)  # the same seed, another start
