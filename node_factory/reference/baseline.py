"""Per-machine baseline and anomaly score: the reference a node's C++ must match number for number.

A vibration (or sound) node learns what *its* machine sounds like when healthy, then flags departures.
Everything is integer, fixed-size and allocation-free, so it ports to the node as it stands:

- the signature of a window is the per-band sum of its int8 features over the window's frames (one int32
  per band, the band's mean in units of 1/frames of a feature step);
- learning runs in two halves of the requested duration. The first half accumulates per-band sums and sums
  of squares (int64) -> mean and variance; the second half keeps accumulating and also scores each window
  against the first half's statistics, keeping the highest score. At the end the statistics of both halves
  become the baseline and the threshold is the second half's highest score times `THRESHOLD_MARGIN_Q4`/16,
  but never below `null_floor(bands)`: windows the baseline never saw but that looked like it set the bar,
  and where they were too few or too alike to show the score's tail, the tail of the score's own null
  distribution does;
- the score of a window is sum over bands of (v - mean)^2 * w >> 16 with w = 2^20 // max(var, VAR_FLOOR):
  a diagonal Mahalanobis distance in Q4 (16 per unit z^2 per band);
- an anomaly starts after `ENTER_WINDOWS` windows in a row above the threshold and ends after `EXIT_WINDOWS`
  windows in a row below 3/4 of it (hysteresis: one anomaly is one report, not a flicker).

A baseline is a small versioned blob (`to_bytes` / `from_bytes`): the feature configuration's digest is in
it, so a baseline learnt with other features is refused (`ForeignBaseline`), and a corrupt one is a
`ValueError`. Relearning builds a new blob; the old one stays in force until the new one is complete.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

MAGIC = b"BMBL"
VERSION = 1
VAR_FLOOR = 256  # (half a feature step x 32 frames)^2: quantised bands never get an infinite weight
WEIGHT_SHIFT = 16
WEIGHT_ONE = 1 << 20  # w = 2^20 / var: z^2 in Q4 after the >> 16
THRESHOLD_MARGIN_Q4 = 24  # threshold = 1.5 x the highest score of the calibration half
NULL_SDS = 6  # the threshold's floor: this many standard deviations of the null score above its mean
ENTER_WINDOWS = 3
EXIT_WINDOWS = 6
MAX_WINDOWS = 1 << 16  # accumulators stop here (46 h of 2.56 s windows): n * sum(v^2) stays inside int64
SCORE_MAX = (1 << 32) - 1
_HEADER = struct.Struct("<4sBB8sIIBB")  # magic, version, bands, feature digest, windows, threshold, enter, exit
_CRC = struct.Struct("<I")


class ForeignBaseline(ValueError):
    """A stored baseline made with another feature configuration (or for another node model)."""


def signature(window_features: NDArray[np.int8]) -> NDArray[np.int32]:
    """int8 features (frames x bands) -> per-band sums (int32, bands)."""
    return window_features.astype(np.int32).sum(axis=0).astype(np.int32)


def digest8(feature_digest: str) -> bytes:
    """The first 8 bytes of a FeatureConfig digest (hex) as stored in the blob."""
    return bytes.fromhex(feature_digest[:16])


@dataclass(frozen=True)
class Baseline:
    feature_digest: bytes  # 8 bytes
    windows: int
    mean: tuple[int, ...]  # per band, int32 (floored mean of the signatures)
    weight: tuple[int, ...]  # per band, uint16: 2^20 // max(var, VAR_FLOOR)
    threshold: int
    enter_windows: int = ENTER_WINDOWS
    exit_windows: int = EXIT_WINDOWS

    @property
    def bands(self) -> int:
        return len(self.mean)

    def score(self, sig: NDArray[np.int32]) -> int:
        if len(sig) != self.bands:
            raise ValueError(f"signature has {len(sig)} bands, the baseline {self.bands}")
        return score(sig, self.mean, self.weight)

    def to_bytes(self) -> bytes:
        body = _HEADER.pack(
            MAGIC, VERSION, self.bands, self.feature_digest, self.windows, self.threshold,
            self.enter_windows, self.exit_windows,
        )  # fmt: skip
        body += struct.pack(f"<{self.bands}i{self.bands}H", *self.mean, *self.weight)
        return body + _CRC.pack(zlib.crc32(body))

    @classmethod
    def from_bytes(cls, blob: bytes, feature_digest: bytes) -> Baseline:
        """Parse a stored baseline; ValueError if corrupt, ForeignBaseline if made with other features."""
        if len(blob) < _HEADER.size + _CRC.size:
            raise ValueError(f"baseline blob too short ({len(blob)} bytes)")
        body, (crc,) = blob[: -_CRC.size], _CRC.unpack(blob[-_CRC.size :])
        if zlib.crc32(body) != crc:
            raise ValueError("baseline blob is corrupt (checksum mismatch)")
        magic, version, bands, digest, windows, threshold, enter, exit_ = _HEADER.unpack_from(body)
        if magic != MAGIC or version != VERSION:
            raise ValueError(f"not a version-{VERSION} baseline (magic {magic!r}, version {version})")
        if len(body) != _HEADER.size + bands * 6 or bands == 0:
            raise ValueError(f"baseline blob has {len(body)} bytes for {bands} bands")
        if digest != feature_digest:
            raise ForeignBaseline(
                f"baseline was learnt with features {digest.hex()}, this node has {feature_digest.hex()}"
            )
        values = struct.unpack_from(f"<{bands}i{bands}H", body, _HEADER.size)
        if threshold == 0 or windows == 0 or enter == 0 or exit_ == 0:
            raise ValueError("baseline blob has a zero threshold, window count or hysteresis count")
        return cls(digest, windows, values[:bands], values[bands:], threshold, enter, exit_)


def null_floor(bands: int) -> int:
    """The lowest threshold: 16 * (k + NULL_SDS * sqrt(2k)) in Q4, k = bands, floored.

    A healthy window's score is 16 * sum of k squared z-scores, about 16 * chi-square(k) (mean k, standard
    deviation sqrt(2k)). Windows of one operating point are alike for minutes, so the three-in-a-row rule
    buys little against them: the floor alone must hold the per-window tail near 1e-5 (chi-square(16) above
    16 + 6 * sqrt(32) = 49.9: 2.3e-5, 0.8 windows a day of 2.56 s). The second half's highest score is one
    draw of the tail of 100-odd correlated windows, often from a single operating point, and can sit far
    below it (z = 1 per band, the previous floor, is the null's mean: half of all healthy windows).
    """
    return 16 * bands + math.isqrt(2 * bands * (16 * NULL_SDS) ** 2)


def score(sig: NDArray[np.int32], mean: tuple[int, ...], weight: tuple[int, ...]) -> int:
    total = 0
    for v, m, w in zip(sig.tolist(), mean, weight, strict=True):
        d = v - m
        total += (d * d * w) >> WEIGHT_SHIFT
    return min(total, SCORE_MAX)


@dataclass
class _Moments:
    """Per-band count, sum and sum of squares (int64 on the node)."""

    bands: int
    n: int = 0
    s: list[int] = field(default_factory=list)
    ss: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.s, self.ss = [0] * self.bands, [0] * self.bands

    def add(self, sig: NDArray[np.int32]) -> None:
        if self.n >= MAX_WINDOWS:
            return
        self.n += 1
        for b, v in enumerate(sig.tolist()):
            self.s[b] += v
            self.ss[b] += v * v

    def mean_weight(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        n = max(self.n, 1)
        mean = tuple(s // n for s in self.s)
        # var = E[v^2] - E[v]^2 in integers: (n*ss - s^2) / n^2, floored
        var = [(n * ss - s * s) // (n * n) for s, ss in zip(self.s, self.ss, strict=True)]
        weight = tuple(min(WEIGHT_ONE // max(v, VAR_FLOOR), 0xFFFF) for v in var)
        return mean, weight


@dataclass
class BaselineLearner:
    """Learns a baseline from `total_windows` signatures (two halves, see the module docstring)."""

    bands: int
    total_windows: int
    feature_digest: bytes
    seen: int = 0
    _all: _Moments = field(init=False)
    _first: tuple[tuple[int, ...], tuple[int, ...]] | None = field(default=None, init=False)
    _cal_max: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.total_windows < 4:
            raise ValueError(f"a baseline needs at least 4 windows, not {self.total_windows}")
        self._all = _Moments(self.bands)

    @property
    def done(self) -> bool:
        return self.seen >= self.total_windows

    @property
    def progress_percent(self) -> int:
        return min(100, self.seen * 100 // self.total_windows)

    def push(self, sig: NDArray[np.int32]) -> None:
        if self.done:
            return
        half = self.total_windows // 2
        if self.seen == half:
            self._first = self._all.mean_weight()
        if self._first is not None:
            self._cal_max = max(self._cal_max, score(sig, *self._first))
        self._all.add(sig)
        self.seen += 1

    def result(self) -> Baseline:
        if not self.done:
            raise ValueError(f"baseline learning not finished ({self.seen} of {self.total_windows} windows)")
        mean, weight = self._all.mean_weight()
        threshold = max(null_floor(self.bands), (self._cal_max * THRESHOLD_MARGIN_Q4) >> 4)
        return Baseline(self.feature_digest, self._all.n, mean, weight, min(threshold, SCORE_MAX))


@dataclass
class AnomalyDetector:
    """Scores windows against a baseline; `push` returns True when an anomaly starts (hysteresis)."""

    baseline: Baseline
    active: bool = False
    _run: int = 0

    def push(self, sig: NDArray[np.int32]) -> tuple[int, bool]:
        """(score, an anomaly starts with this window)."""
        s = self.baseline.score(sig)
        b = self.baseline
        if not self.active:
            self._run = self._run + 1 if s > b.threshold else 0
            if self._run >= b.enter_windows:
                self.active, self._run = True, 0
                return s, True
        else:
            self._run = self._run + 1 if s * 4 < b.threshold * 3 else 0
            if self._run >= b.exit_windows:
                self.active, self._run = False, 0
        return s, False
