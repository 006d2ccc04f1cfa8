"""Integer inference of the exported student: the reference the C++ kernel matches bit for bit (numpy only).

Network (C channels, T = frames, K = 3, valid convolutions along time, bands as input channels):
  L0  optional (`level_norm`): the window's mean level subtracted from every feature (reference/level_norm.py)
  L1  int8, int4 or ternary weights x int8 features, stride 2 in time -> int32 acc -> bit = (sign * acc >= threshold)
  L2  binary: dot = 2 * popcount(xnor(w, x)) - C*K -> bit = (sign * dot >= threshold)
  L3  binary, as L2
  pool  count of 1-bits per channel over time -> c (0..T3); centred value 2c - T3
  L4  int8 weights x centred counts + int32 bias -> int32 logits
Routing: margin = top1 - top2 logit; escalate when margin < the predicted class's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .level_norm import normalise

KERNEL = 3


@dataclass
class IntegerModel:
    classes: tuple[str, ...]
    w1: NDArray[np.int8]  # (C, bands, K)
    t1: NDArray[np.int32]  # (C,)
    s1: NDArray[np.int8]  # (C,) +1 / -1
    w2: NDArray[np.uint8]  # (C, C, K) bits 0/1
    t2: NDArray[np.int32]
    s2: NDArray[np.int8]
    w3: NDArray[np.uint8]
    t3: NDArray[np.int32]
    s3: NDArray[np.int8]
    w4: NDArray[np.int8]  # (classes, C)
    b4: NDArray[np.int32]  # (classes,)
    margin_thresholds: NDArray[np.int32]  # (classes,)
    logit_scale: float
    feature_digest: str
    meta: dict[str, str] = field(default_factory=dict)
    # per-class thresholds calibrated for other escalation rates ("0.05" -> one int per class), for the
    # component's compile-time choice; not part of the model bytes (nor of the model hash)
    margin_thresholds_by_rate: dict[str, list[int]] = field(default_factory=dict)
    # the model expects level-normalised input (reference/level_norm.py); callers always pass raw features
    level_norm: bool = False

    @property
    def channels(self) -> int:
        return int(self.w1.shape[0])

    @property
    def w1_bits(self) -> int:
        """The first layer's weight precision: 8 (int8), 4 (int4) or 2 (ternary); models without it are int8."""
        return int(self.meta.get("w1_bits", "8"))


STRIDE1 = 2  # the first layer halves the time resolution: it dominates the MCU's instruction count


def pooled_frames(frames: int) -> int:
    """Time steps left after L1 (stride 2) and the two binary layers (valid convolutions)."""
    return (frames - KERNEL) // STRIDE1 + 1 - 2 * (KERNEL - 1)


def _conv_valid(x: NDArray[np.int64], w: NDArray[np.int64], stride: int = 1) -> NDArray[np.int64]:
    """x: (N, Cin, T), w: (Cout, Cin, K) -> (N, Cout, (T-K)//stride+1), integer."""
    t_out = (x.shape[2] - w.shape[2]) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], t_out), dtype=np.int64)
    for k in range(w.shape[2]):
        out += np.einsum("nct,oc->not", x[:, :, k : k + stride * (t_out - 1) + 1 : stride], w[:, :, k])
    return out


def _threshold(acc: NDArray[np.int64], t: NDArray[np.int32], s: NDArray[np.int8]) -> NDArray[np.int64]:
    return ((s[None, :, None].astype(np.int64) * acc) >= t[None, :, None]).astype(np.int64)


def forward(model: IntegerModel, feats: NDArray[np.int8]) -> NDArray[np.int64]:
    """Integer logits for raw int8 features (N, frames, bands); a `level_norm` model normalises them first."""
    raw = feats.astype(np.int64)
    x = np.transpose(normalise(raw) if model.level_norm else raw, (0, 2, 1))  # (N, bands, T)
    b1 = _threshold(_conv_valid(x, model.w1.astype(np.int64), STRIDE1), model.t1, model.s1)
    for w, t, s in ((model.w2, model.t2, model.s2), (model.w3, model.t3, model.s3)):
        pm = 2 * b1 - 1  # bits -> +-1; xnor-popcount is the same dot product
        dot = _conv_valid(pm, 2 * w.astype(np.int64) - 1)
        b1 = _threshold(dot, t, s)
    counts = b1.sum(axis=2)  # (N, C)
    centred = 2 * counts - b1.shape[2]
    return centred @ model.w4.astype(np.int64).T + model.b4.astype(np.int64)[None, :]


def decide(
    model: IntegerModel, logits: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """(class, margin, escalate) per row, with the kernel's tie rule (lowest index wins)."""
    order = np.argsort(-logits, axis=1, kind="stable")
    top1 = order[:, 0]
    rows = np.arange(len(logits))
    margin = logits[rows, top1] - logits[rows, order[:, 1]]
    escalate = margin < model.margin_thresholds[top1]
    return top1, margin, escalate


def confidence(logits: NDArray[np.int64], logit_scale: float) -> NDArray[np.float64]:
    """The protocol's `confidence`: softmax(logits * logit_scale) of the top class, per row."""
    z = logits.astype(np.float64) * logit_scale
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p.max(axis=1) / p.sum(axis=1))
