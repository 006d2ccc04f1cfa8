"""Real-to-binary initialisation: the binary student starts from a trained full-precision one
(`TrainConfig.float_init_epochs`), and two-step binarisation: activations first, then weights
(`TrainConfig.binary_act_epochs`)."""

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
    binarise_weights_later,
    start_from_float,
    to_integer,
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


def small_task() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, 96)
    x = rng.integers(-20, 20, (96, FRAMES, BANDS)).astype(np.int8)
    x[np.arange(96), :, y * 8] = 100  # one band per class: something to learn
    return x, y


def test_train_student_uses_the_float_start() -> None:
    x, y = small_task()
    teacher = Teacher(CLASSES).eval()
    base = TrainConfig(channels=4, wide_channels=6, student_epochs=2, finetune_epochs=1, batch=32)
    plain = train_student(x, y, teacher, CLASSES, base)
    started = train_student(x, y, teacher, CLASSES, TrainConfig(**{**base.__dict__, "float_init_epochs": 2}))
    assert started.w1.shape == plain.w1.shape == (4, BANDS, 3) and started.binary
    assert not torch.equal(started.w1, plain.w1)  # the same seed, another start


def test_real_weights_convolve_with_the_latent_weights_and_binary_activations() -> None:
    """The first step of two-step binarisation: the hidden layers use their latent weights, not their signs,
    and every activation is still a sign (so latent weights that are signs give the binary network's output)."""
    torch.manual_seed(0)
    student = Student(BANDS, 8, CLASSES).eval()
    x = torch.randint(-128, 128, (4, FRAMES, BANDS)).float()
    binary = student(x)
    student.real_weights = True
    assert not torch.allclose(student(x), binary)
    with torch.no_grad():
        student.w2.copy_(torch.where(student.w2 >= 0, 1.0, -1.0))
        student.w3.copy_(torch.where(student.w3 >= 0, 1.0, -1.0))
    assert torch.allclose(student(x), binary)


def test_weights_are_binarised_after_the_activation_stage() -> None:
    """`binarise_weights_later` trains with real weights, then hands on a binary student whose latent weights
    sit where the straight-through sign passes gradients; it has an integer form again."""
    x, y = small_task()
    student = Student(BANDS, 6, CLASSES)
    before = student.w2.detach().clone()
    cfg = TrainConfig(channels=6, wide_channels=6, batch=32, binary_act_epochs=2)
    binarise_weights_later(student, x, y, Teacher(CLASSES).eval(), cfg)
    assert not student.real_weights and student.binary
    assert not torch.equal(student.w2, before)
    assert student.w2.abs().max() <= 1 and student.w3.abs().max() <= 1
    to_integer(student, ("a", "b", "c"), "00" * 32, FRAMES)


def test_only_a_binary_student_has_an_integer_form() -> None:
    student = Student(BANDS, 4, CLASSES)
    student.real_weights = True
    with pytest.raises(ValueError, match="integer form"):
        to_integer(student, ("a", "b", "c"), "00" * 32, FRAMES)
    with pytest.raises(ValueError, match="integer form"):
        to_integer(Student(BANDS, 4, CLASSES, binary=False), ("a", "b", "c"), "00" * 32, FRAMES)


def test_train_student_takes_the_activation_stage() -> None:
    x, y = small_task()
    teacher = Teacher(CLASSES).eval()
    base = TrainConfig(channels=4, wide_channels=6, student_epochs=2, finetune_epochs=1, batch=32, float_init_epochs=1)
    plain = train_student(x, y, teacher, CLASSES, base)
    staged = train_student(x, y, teacher, CLASSES, TrainConfig(**{**base.__dict__, "binary_act_epochs": 2}))
    assert staged.w1.shape == plain.w1.shape == (4, BANDS, 3) and staged.binary and not staged.real_weights
    assert not torch.equal(staged.w2, plain.w2)  # the same seed, another path
    assert TrainConfig().binary_act_epochs == 0  # nothing changes unless asked for
