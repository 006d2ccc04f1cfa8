"""Teacher CNN, BNN student trained with knowledge distillation, folding into the integer model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn
from tqdm import trange

from ..reference.model_format import W1_BITS
from ..reference.network import STRIDE1, IntegerModel, pooled_frames

FEATURE_SCALE = 32.0  # int8 features -> roughly unit range for the float networks


def level_normalise(feats: torch.Tensor) -> torch.Tensor:
    """reference/level_norm.py on integer-valued float features (N, frames, bands): x - floor((sum + n//2) / n).
    In float64 the sum and the division are exact enough that the floor is the integer one (|sum| < 2^20)."""
    n = feats.shape[1] * feats.shape[2]
    total = feats.to(torch.float64).sum(dim=(1, 2), keepdim=True)
    return feats - torch.floor((total + n // 2) / n).to(feats.dtype)


class Teacher(nn.Module):
    """Float CNN on (1, frames, bands); also the GPU tier's classifier for escalations."""

    def __init__(self, classes: int, level_norm: bool = False) -> None:
        super().__init__()
        self.level_norm = level_norm  # normalise raw features inside the network: the GPU tier's graph does too

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())

        self.body = nn.Sequential(block(1, 24), nn.MaxPool2d(2), block(24, 48), nn.MaxPool2d(2), block(48, 64))
        self.head = nn.Linear(64, classes)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if self.level_norm:
            feats = level_normalise(feats)
        x = self.body(feats.unsqueeze(1) / FEATURE_SCALE)
        return self.head(x.mean(dim=(2, 3)))


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign(x: torch.Tensor) -> torch.Tensor:
    return SignSTE.apply(x)


def int8_levels(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-tensor int8: (q, s) with q in -127..127 and w ~ q * s (no gradient)."""
    w = w.detach()
    scale = w.abs().max().clamp(min=1e-8) / 127
    return torch.clamp(torch.round(w / scale), -127, 127), scale


def quant_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-tensor int8 fake quantization with a straight-through gradient; returns (w_q*s, s)."""
    q, scale = int8_levels(w)
    return w + (q * scale - w).detach(), scale


def w1_levels(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first layer's integer weights and their scale: (q, s) with w ~ q * s (no gradient).

    8: symmetric per-tensor int8 (q in -127..127, s a scalar), as `quant_int8`. 4: symmetric per-output-channel
    int4 (q in -7..7, s of shape (C, 1, 1) = max |w| / 7 of the channel). 2: per-output-channel ternary
    (q in -1, 0, 1; TWN: |w| > 0.7 * mean |w| of the channel, s = mean |w| of the weights kept). L1's output is
    only thresholded, so a per-channel scale costs nothing at inference: it folds into the channel's threshold.
    """
    if bits == 8:
        return int8_levels(w)
    w = w.detach()
    if bits == 4:
        scale = w.abs().amax(dim=(1, 2), keepdim=True).clamp(min=1e-8) / 7
        return torch.clamp(torch.round(w / scale), -7, 7), scale
    if bits == 2:
        delta = 0.7 * w.abs().mean(dim=(1, 2), keepdim=True)
        keep = (w.abs() > delta).to(w.dtype)
        kept = keep.sum(dim=(1, 2), keepdim=True)
        scale = ((w.abs() * keep).sum(dim=(1, 2), keepdim=True) / kept.clamp(min=1)).clamp(min=1e-8)
        return torch.sign(w) * keep, scale
    raise ValueError(f"w1 bits must be one of {W1_BITS}, not {bits}")


def quant_w1(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fake quantization of the first layer at `bits` (see `w1_levels`), straight-through gradient."""
    q, scale = w1_levels(w, bits)
    return w + (q * scale - w).detach(), scale


class Student(nn.Module):
    """Binary hidden layers, integer first/last layers (see reference/network.py for the integer network).

    With `binary=False` the same topology in full precision (float weights, hardtanh activations): the
    reference that shows what binarization and integer weights cost. `w1_bits`: the first layer's weight
    precision (see `w1_levels`). `level_norm`: the network normalises its raw input (reference/level_norm.py).
    `real_weights` (a training stage only, never exported): binary activations, but the hidden layers convolve
    with their latent weights instead of their signs (the first step of two-step binarisation).
    """

    def __init__(
        self, bands: int, channels: int, classes: int, binary: bool = True, w1_bits: int = 8, level_norm: bool = False
    ) -> None:
        super().__init__()
        self.level_norm = level_norm
        if w1_bits not in W1_BITS:
            raise ValueError(f"w1 bits must be one of {W1_BITS}, not {w1_bits}")
        self.binary = binary
        self.real_weights = False
        self.w1_bits = w1_bits
        self.w1 = nn.Parameter(torch.randn(channels, bands, 3) * 0.1)
        self.bn1 = nn.BatchNorm1d(channels)
        self.w2 = nn.Parameter(torch.randn(channels, channels, 3) * 0.1)
        self.bn2 = nn.BatchNorm1d(channels)
        self.w3 = nn.Parameter(torch.randn(channels, channels, 3) * 0.1)
        self.bn3 = nn.BatchNorm1d(channels)
        self.fc = nn.Linear(channels, classes)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if self.level_norm:
            feats = level_normalise(feats)
        x = feats.transpose(1, 2)  # (N, bands, T), integer-valued features
        if not self.binary:
            x = F.hardtanh(self.bn1(F.conv1d(x / FEATURE_SCALE, self.w1, stride=STRIDE1)))
            x = F.hardtanh(self.bn2(F.conv1d(x, self.w2)))
            x = F.hardtanh(self.bn3(F.conv1d(x, self.w3)))
            return self.fc(x.mean(dim=2))
        w1, _ = quant_w1(self.w1, self.w1_bits)
        x = sign(self.bn1(F.conv1d(x, w1, stride=STRIDE1)))
        w2, w3 = (self.w2, self.w3) if self.real_weights else (sign(self.w2), sign(self.w3))
        x = sign(self.bn2(F.conv1d(x, w2)))
        x = sign(self.bn3(F.conv1d(x, w3)))
        w4, _ = quant_int8(self.fc.weight)
        return F.linear(x.mean(dim=2), w4, self.fc.bias)


@dataclass
class TrainConfig:
    channels: int = 24  # after structured pruning: what the MCU stores
    wide_channels: int = 32  # trained first, then pruned to `channels`
    finetune_epochs: int = 20
    teacher_epochs: int = 25
    student_epochs: int = 60
    batch: int = 128
    lr: float = 3e-3
    temperature: float = 3.0
    alpha: float = 0.3  # weight of the hard-label loss; the rest is distillation
    seed: int = 0
    w1_bits: int = 8  # first-layer weight precision: 8 (per tensor), 4 or 2 (per output channel)
    level_norm: bool = False  # teacher and student see level-normalised windows (reference/level_norm.py)
    # epochs of a full-precision wide student (hardtanh, float weights) distilled first and copied into the binary
    # one as its start (real-to-binary initialisation); 0: the binary student starts from random weights
    float_init_epochs: int = 0
    # epochs of the wide binary student with binary activations but real hidden weights before its binary
    # distillation (two-step binarisation: activations first, then weights); 0: none
    binary_act_epochs: int = 0


def _batches(n: int, batch: int, gen: torch.Generator) -> list[torch.Tensor]:
    return list(torch.randperm(n, generator=gen).split(batch))


def train_teacher(x: NDArray[np.int8], y: NDArray[np.int64], classes: int, cfg: TrainConfig) -> Teacher:
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = Teacher(classes, cfg.level_norm)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, cfg.lr, total_steps=cfg.teacher_epochs * math.ceil(len(x) / cfg.batch)
    )
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    model.train()
    for _ in trange(cfg.teacher_epochs, desc="teacher", unit="epoch", disable=None):
        for idx in _batches(len(xt), cfg.batch, gen):
            loss = F.cross_entropy(model(_augment(xt[idx], gen)), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Level shifts in the log domain (a quieter or louder sound): the features are log2 energies."""
    shift = torch.randint(-6, 7, (x.shape[0], 1, 1), generator=gen).to(x.dtype)
    return torch.clamp(x + shift, -128, 127)


def prune(student: Student, keep: int) -> Student:
    """Structured pruning: keep the `keep` most important channels of every hidden layer.

    Importance of a layer's output channel = how strongly the next layer uses it (mean |latent weight| of
    the next binary layer, or |weight| of the classifier for the last one); sign activations make the
    batch-norm scale itself meaningless as a measure.
    """

    def top(importance: torch.Tensor) -> torch.Tensor:
        return torch.sort(torch.argsort(importance, descending=True)[:keep]).values

    k3 = top(student.fc.weight.detach().abs().sum(0))
    k2 = top(student.w3.detach().abs().mean(dim=(0, 2)))
    k1 = top(student.w2.detach().abs().mean(dim=(0, 2)))
    small = Student(
        student.w1.shape[1], keep, student.fc.out_features, w1_bits=student.w1_bits, level_norm=student.level_norm
    )
    with torch.no_grad():
        small.w1.copy_(student.w1[k1])
        small.w2.copy_(student.w2[k2][:, k1])
        small.w3.copy_(student.w3[k3][:, k2])
        small.fc.weight.copy_(student.fc.weight[:, k3])
        small.fc.bias.copy_(student.fc.bias)
        for bn_small, bn, idx in (
            (small.bn1, student.bn1, k1),
            (small.bn2, student.bn2, k2),
            (small.bn3, student.bn3, k3),
        ):
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn_small, name).copy_(getattr(bn, name)[idx])
    return small


def train_float_student(
    x: NDArray[np.int8], y: NDArray[np.int64], teacher: Teacher, classes: int, cfg: TrainConfig
) -> Student:
    """The student's topology at its final width in full precision, distilled the same way (reference)."""
    student = Student(x.shape[2], cfg.channels, classes, binary=False, level_norm=cfg.level_norm)
    return _distill(student, x, y, teacher, cfg, cfg.student_epochs, 3)


def start_from_float(binary: Student, real: Student) -> None:
    """Copy a trained full-precision student into a binary one of the same shape as its starting point.

    The float network scales its input by 1 / FEATURE_SCALE where the binary one convolves the integer features,
    so the first layer's weights are scaled to give the same pre-activations; the binary layers' latent weights
    are clipped to [-1, 1], where the straight-through sign passes gradients.
    """
    if real.binary or not binary.binary or real.w1.shape != binary.w1.shape:
        raise ValueError("start_from_float needs a float student and a binary student of the same shape")
    with torch.no_grad():
        binary.load_state_dict(real.state_dict())
        binary.w1.div_(FEATURE_SCALE)
        binary.w2.clamp_(-1, 1)
        binary.w3.clamp_(-1, 1)


def train_student(
    x: NDArray[np.int8], y: NDArray[np.int64], teacher: Teacher, classes: int, cfg: TrainConfig
) -> Student:
    """Distill into a wide student, prune it to `cfg.channels`, and fine-tune the pruned one."""
    wide = Student(x.shape[2], cfg.wide_channels, classes, w1_bits=cfg.w1_bits, level_norm=cfg.level_norm)
    if cfg.float_init_epochs > 0:
        real = Student(x.shape[2], cfg.wide_channels, classes, binary=False, level_norm=cfg.level_norm)
        start_from_float(wide, _distill(real, x, y, teacher, cfg, cfg.float_init_epochs, 4))
    if cfg.binary_act_epochs > 0:
        binarise_weights_later(wide, x, y, teacher, cfg)
    wide = _distill(wide, x, y, teacher, cfg, cfg.student_epochs, 1)
    if cfg.wide_channels == cfg.channels:
        return wide
    return _distill(prune(wide, cfg.channels), x, y, teacher, cfg, cfg.finetune_epochs, 2, lr_scale=0.3)


def binarise_weights_later(
    student: Student, x: NDArray[np.int8], y: NDArray[np.int64], teacher: Teacher, cfg: TrainConfig
) -> None:
    """Distil `student` for `cfg.binary_act_epochs` with binary activations and real hidden weights, then turn
    its weights binary again (latent weights clipped to the straight-through range) for the binary stage."""
    student.real_weights = True
    _distill(student, x, y, teacher, cfg, cfg.binary_act_epochs, 5)
    student.real_weights = False
    with torch.no_grad():
        student.w2.clamp_(-1, 1)
        student.w3.clamp_(-1, 1)


def _distill(
    model: Student,
    x: NDArray[np.int8],
    y: NDArray[np.int64],
    teacher: Teacher,
    cfg: TrainConfig,
    epochs: int,
    seed_offset: int,
    lr_scale: float = 1.0,
) -> Student:
    torch.manual_seed(cfg.seed + seed_offset)
    gen = torch.Generator().manual_seed(cfg.seed + seed_offset)
    lr = cfg.lr * lr_scale
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * math.ceil(len(x) / cfg.batch))
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    T = cfg.temperature
    model.train()
    kind = "float " if not model.binary else "binary-activation " if model.real_weights else ""
    desc = f"{kind}student {model.w1.shape[0]} ch (distillation)"
    for _ in trange(epochs, desc=desc, unit="epoch", disable=None):
        for idx in _batches(len(xt), cfg.batch, gen):
            xb = _augment(xt[idx], gen)
            with torch.no_grad():
                soft = F.softmax(teacher(xb) / T, dim=1)
            logits = model(xb)
            kd = F.kl_div(F.log_softmax(logits / T, dim=1), soft, reduction="batchmean") * T * T
            loss = cfg.alpha * F.cross_entropy(logits, yt[idx]) + (1 - cfg.alpha) * kd
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def _fold(bn: nn.BatchNorm1d, scale: float | NDArray[np.float64]) -> tuple[NDArray[np.int32], NDArray[np.int8]]:
    """BN(scale * acc) >= 0  <=>  sign * acc >= threshold (acc integer); `scale` one value or one per channel."""
    gamma = bn.weight.detach().double().numpy()
    beta = bn.bias.detach().double().numpy()
    assert bn.running_mean is not None and bn.running_var is not None
    mean = bn.running_mean.double().numpy()
    std = np.sqrt(bn.running_var.double().numpy() + bn.eps)
    tau = (mean - beta * std / np.where(gamma == 0, 1e-12, gamma)) / scale
    sgn = np.where(gamma >= 0, 1, -1).astype(np.int8)
    thr = np.where(sgn > 0, np.ceil(tau), -np.floor(tau))
    return np.clip(thr, -(2**31), 2**31 - 1).astype(np.int32), sgn


def to_integer(student: Student, classes: tuple[str, ...], feature_digest: str, frames: int) -> IntegerModel:
    if not student.binary or student.real_weights:
        raise ValueError("only a binary student (binary weights and activations) has an integer form")
    with torch.no_grad():
        q1, s1 = w1_levels(student.w1, student.w1_bits)
        w1 = q1.to(torch.int8).numpy()
        # int8: one scale (exactly as before per-channel scales existed); int4/ternary: one per channel
        t1, g1 = _fold(student.bn1, float(s1) if student.w1_bits == 8 else s1.flatten().double().numpy())
        bits = lambda w: (w >= 0).to(torch.uint8).numpy()  # noqa: E731
        t2, g2 = _fold(student.bn2, 1.0)
        t3, g3 = _fold(student.bn3, 1.0)
        _, s4 = quant_int8(student.fc.weight)
        w4 = torch.clamp(torch.round(student.fc.weight / s4), -127, 127).to(torch.int8).numpy()
        t_pool = pooled_frames(frames)
        assert student.fc.bias is not None
        b4 = np.round(student.fc.bias.double().numpy() * t_pool / float(s4)).astype(np.int32)
    return IntegerModel(
        classes=classes, w1=w1, t1=t1, s1=g1, w2=bits(student.w2), t2=t2, s2=g2, w3=bits(student.w3), t3=t3,
        s3=g3, w4=w4, b4=b4, margin_thresholds=np.zeros(len(classes), dtype=np.int32),
        logit_scale=float(s4) / t_pool, feature_digest=feature_digest, meta={"w1_bits": str(student.w1_bits)},
        level_norm=student.level_norm,
    )  # fmt: skip
