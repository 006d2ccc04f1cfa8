"""What every sound source returns, and helpers to build it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dsp import fade, harmonic_table


@dataclass
class Rendered:
    """A source at unit RMS over its active intervals (seconds, within the clip), before level and room."""

    signal: np.ndarray
    intervals: np.ndarray  # (k, 2) seconds
    meta: dict[str, Any] = field(default_factory=dict)


def active_mask(intervals: np.ndarray, n: int, sr: float) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for a, b in np.asarray(intervals).reshape(-1, 2):
        mask[max(0, int(a * sr)) : max(0, min(n, int(np.ceil(b * sr))))] = True
    return mask


def merge_intervals(intervals: Sequence[tuple[float, float]] | np.ndarray, dur: float) -> np.ndarray:
    spans = sorted((max(0.0, float(a)), min(dur, float(b))) for a, b in np.asarray(intervals).reshape(-1, 2))
    out: list[list[float]] = []
    for a, b in spans:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return np.array(out, dtype=float).reshape(-1, 2)


def finish(
    x: np.ndarray, intervals: Sequence[tuple[float, float]] | np.ndarray, sr: float, meta: dict[str, Any]
) -> Rendered:
    """Normalise to unit RMS over the active intervals (the whole clip when there are none)."""
    iv = merge_intervals(intervals, len(x) / sr)
    mask = active_mask(iv, len(x), sr)
    level = float(np.sqrt(np.mean(x[mask] ** 2))) if mask.any() else float(np.sqrt(np.mean(x**2)))
    return Rendered(x / level if level > 0 else x, iv, meta)


def continuous(x: np.ndarray, sr: float, meta: dict[str, Any]) -> Rendered:
    return finish(x, [(0.0, len(x) / sr)], sr, meta)


def harmonic_tone(
    n: int,
    sr: float,
    f0: float,
    harmonics: Sequence[tuple[int, float]],
    seg: tuple[float, float],
    rng: np.random.Generator,
    attack_s: float,
    release_s: float,
) -> np.ndarray:
    """A steady harmonic tone over seg (seconds) with raised-cosine attack/release, zero elsewhere."""
    out = np.zeros(n)
    i0, i1 = max(0, int(seg[0] * sr)), min(n, int(seg[1] * sr))
    if i1 <= i0 + 2:
        return out
    t = np.arange(i1 - i0) / sr
    parts = [(k, a, float(rng.uniform(0, 2 * np.pi))) for k, a in harmonics]
    tone = harmonic_table(2 * np.pi * f0 * t, [(k, a, p) for k, a, p in parts if k * f0 < sr / 2])
    out[i0:i1] = tone * fade(i1 - i0, sr, attack_s, release_s)
    return out
