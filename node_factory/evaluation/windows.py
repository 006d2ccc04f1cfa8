"""Labelled windows from held-out clips: a window gets its clip's class only where it shows that class.

The independent generator says when its source sounds (`meta["intervals"]`, seconds at the microphone).
A 1.024 s window of a smoke-alarm clip that falls into the pattern's 1.5 s gap shows no alarm, so it is not
counted as one (nor as anything else); the same for a doorbell window after the chime. A window counts as
its clip's class when the source sounds in it for at least the class's minimum (a quarter second of T3
tone, two T4 pulses, 0.15 s otherwise); background clips count everywhere. Windows in between are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..reference.features import FeatureConfig

MIN_ACTIVE_S = {"smoke_alarm": 0.25, "co_alarm": 0.15, "background": 0.0}
DEFAULT_MIN_ACTIVE_S = 0.15


def active_seconds(intervals: Sequence[Sequence[float]], start: float, end: float) -> float:
    return float(sum(max(0.0, min(b, end) - max(a, start)) for a, b in intervals))


def labelled_windows(
    audio: NDArray[np.int16], label: str, meta: dict[str, Any], config: FeatureConfig, hop_frames: int
) -> list[tuple[int, int]]:
    """(start sample, window index) of the clip's windows that show its class, at the node's hop."""
    length = config.window_samples
    hop = hop_frames * config.frame
    keep = []
    for i, start in enumerate(range(0, len(audio) - length + 1, hop)):
        if label == "background":
            keep.append((start, i))
            continue
        t0, t1 = start / config.sample_rate, (start + length) / config.sample_rate
        needed = MIN_ACTIVE_S.get(label, DEFAULT_MIN_ACTIVE_S)
        if active_seconds(meta.get("intervals", []), t0, t1) >= needed:
            keep.append((start, i))
    return keep
