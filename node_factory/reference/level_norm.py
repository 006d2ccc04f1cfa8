"""Per-window level normalisation, defined once: the window's int8 features minus their mean level.

The features are log2 energies, so a louder or quieter source (distance, gain, room) shifts the whole window
by a constant; subtracting the window's mean level over all frames and bands removes that shift. The level
is an integer with exact rounding, half up:

    m = floor((sum + n // 2) / n),  n = frames x bands, floor division (also for negative sums)

and the normalised feature is x - m, kept exact (-255..255, no int8 clipping). The kernel never stores it:
the first layer's accumulator of (x - m) is dot(w, x) - m * sum(w) per output channel, which is what
binmoe_kernel.h computes. numpy only (the ESPHome tests import it).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def window_level(feats: NDArray[np.integer]) -> NDArray[np.int64]:
    """The level m of each window of `feats` (..., frames, bands), one int per window."""
    x = np.asarray(feats).astype(np.int64)
    n = x.shape[-1] * x.shape[-2]
    return np.asarray((x.sum(axis=(-2, -1)) + n // 2) // n, dtype=np.int64)


def normalise(feats: NDArray[np.integer]) -> NDArray[np.int64]:
    """x - m per window (same shape, int64; exact)."""
    x = np.asarray(feats).astype(np.int64)
    return x - window_level(x)[..., None, None]
