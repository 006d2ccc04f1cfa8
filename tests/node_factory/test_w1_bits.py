"""`train --w1-bits`: int4 and ternary first-layer weights, per output channel, folded into the thresholds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from node_factory.__main__ import main
from node_factory.corpus.families import FAMILIES
from node_factory.reference import model_format
from node_factory.reference.network import STRIDE1, _conv_valid, _threshold
from node_factory.training.configs import CONFIGS
from node_factory.training.saved_model import load_model
from node_factory.training.train import Student, TrainConfig, _fold, quant_int8, quant_w1, to_integer, w1_levels

BANDS, FRAMES, CLASSES = 32, 32, ("a", "b", "c")


def student(w1_bits: int, channels: int = 24, seed: int = 0) -> Student:
    """A student with a trained-looking first batch norm: signs of both kinds, thresholds off zero."""
    torch.manual_seed(seed)
    model = Student(BANDS, channels, len(CLASSES), w1_bits=w1_bits).eval()
    with torch.no_grad():
        model.w1.mul_(torch.rand(channels, 1, 1) * 3)  # channels of different magnitudes
        model.bn1.weight.copy_(torch.randn(channels))
        model.bn1.bias.copy_(torch.randn(channels))
        assert model.bn1.running_mean is not None and model.bn1.running_var is not None
        model.bn1.running_mean.copy_(torch.randn(channels) * 20)
        model.bn1.running_var.copy_(torch.rand(channels) * 400 + 1)
    return model


def features(n: int = 64, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(-128, 128, (n, FRAMES, BANDS), generator=gen).to(torch.float32)


@pytest.mark.parametrize(("bits", "levels"), [(4, 7), (2, 1)])
def test_levels_in_range_per_channel(bits: int, levels: int) -> None:
    w = student(bits).w1.detach()
    q, scale = w1_levels(w, bits)
    assert scale.shape == (w.shape[0], 1, 1) and (scale > 0).all()
    assert torch.equal(q, torch.round(q)) and q.abs().max() <= levels
    assert (q.abs().amax(dim=(1, 2)) == levels).all()  # every channel uses its range
    if bits == 4:
        assert ((w - q * scale).abs() <= scale / 2 + 1e-6).all()
    else:  # TWN: the small weights (below 0.7 x the channel's mean |w|) are zero, the others keep their sign
        delta = 0.7 * w.abs().mean(dim=(1, 2), keepdim=True)
        assert torch.equal(q, torch.where(w.abs() > delta, torch.sign(w), torch.zeros_like(w)))
    # fake quantization: the quantized values forward, the identity backward (straight-through)
    latent = w.clone().requires_grad_(True)
    fake, _ = quant_w1(latent, bits)
    torch.testing.assert_close(fake.detach(), q * scale)
    (grad,) = torch.autograd.grad(fake.sum(), latent)
    assert torch.equal(grad, torch.ones_like(w))
    with pytest.raises(ValueError, match="w1 bits"):
        w1_levels(w, 3)
    with pytest.raises(ValueError, match="w1 bits"):
        Student(BANDS, 4, 2, w1_bits=1)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_integer_first_layer_makes_the_students_decisions(bits: int) -> None:
    """The integer model's L1 bits (integer weights, per-channel scale folded into t1) are the float
    student's sign(BN(conv)) bits; its weights are the quantizer's levels, and it says its precision."""
    model = student(bits)
    x = features()
    with torch.no_grad():
        w1, _ = quant_w1(model.w1, bits)
        float_bits = (model.bn1(F.conv1d(x.transpose(1, 2), w1, stride=STRIDE1)) >= 0).to(torch.int64).numpy()
    integer = to_integer(model, CLASSES, "00" * 32, FRAMES)
    assert integer.w1.dtype == np.int8 and integer.meta["w1_bits"] == str(bits)
    np.testing.assert_array_equal(integer.w1, w1_levels(model.w1, bits)[0].numpy().astype(np.int8))
    acc = _conv_valid(np.transpose(x.numpy().astype(np.int64), (0, 2, 1)), integer.w1.astype(np.int64), STRIDE1)
    int_bits = _threshold(acc, integer.t1, integer.s1)
    assert float_bits.mean() > 0.1 and float_bits.mean() < 0.9  # the test decides something
    np.testing.assert_array_equal(int_bits, float_bits)


def test_default_is_per_tensor_int8_as_before() -> None:
    """Default precision: the integer model's first layer is exactly the per-tensor int8 fold of before."""
    assert TrainConfig().w1_bits == 8 and Student(BANDS, 4, 2).w1_bits == 8
    model = student(8)
    integer = to_integer(model, CLASSES, "00" * 32, FRAMES)
    with torch.no_grad():
        _, s1 = quant_int8(model.w1)
        legacy_w1 = torch.clamp(torch.round(model.w1 / s1), -127, 127).to(torch.int8).numpy()
        legacy_t1, legacy_s1 = _fold(model.bn1, float(s1))
        torch.testing.assert_close(quant_w1(model.w1, 8)[0], quant_int8(model.w1)[0], rtol=0, atol=0)
    np.testing.assert_array_equal(integer.w1, legacy_w1)
    np.testing.assert_array_equal(integer.t1, legacy_t1)
    np.testing.assert_array_equal(integer.s1, legacy_s1)


def test_train_with_ternary_first_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`train --w1-bits 2 --channels 8`: ternary L1 weights, the metrics and the saved model say so."""
    ci = CONFIGS["ci"]
    short = replace(ci, train=TrainConfig(teacher_epochs=1, student_epochs=2, finetune_epochs=1))
    monkeypatch.setitem(CONFIGS, "ci", short)  # the ci corpus (cached), a much shorter schedule
    args = ["train", "--out", str(tmp_path), "--config", "ci", "--family", "vibration"]
    assert main([*args, "--channels", "8", "--w1-bits", "2"]) == 0
    model = load_model(tmp_path / "vibration_v1_model.npz")
    assert model.channels == 8 and model.meta["w1_bits"] == "2"
    assert np.isin(model.w1, (-1, 0, 1)).all() and (model.w1 != 0).any()
    assert "inline constexpr int kChannels = 8;" in (tmp_path / "vibration_v1.h").read_text()
    metrics = json.loads((tmp_path / "vibration_v1_metrics.json").read_text())
    assert metrics["w1_bits"] == 2 and metrics["train_config"]["w1_bits"] == 2
    # the model bytes carry the ternary weights packed four to a byte (model_format.pack_w1)
    assert f"kW1[{model.w1.size // 4}]" in (tmp_path / "vibration_v1.h").read_text()
    assert metrics["model_bytes"] == len(model_format.payload(model, FAMILIES["vibration"].features, "vibration-v1"))
    for bad in ("3", "1"):
        with pytest.raises(SystemExit):
            main([*args, "--w1-bits", bad])
