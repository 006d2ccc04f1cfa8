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
- the score of a window is its Mahalanobis distance in Q4 (16 per unit z^2 per band) under the full
  covariance of the baseline's signatures: each band's deviation is standardised (its variance at least
  VAR_FLOOR), then whitened by the forward substitution of an LDL^T decomposition of the bands' correlation
  matrix (with a ridge of 1/16 on its diagonal), score = sum_k y_k^2 / D_k. Speed and load move many bands
  together; a diagonal score counts such a movement once per band and inflates every band's variance with
  it, so a weak fault in one band hides. The correlation learns those directions (docs/vibration-baseline.md);
- an anomaly starts after the score has stayed above the threshold for a length of signal and ends after
  another below 3/4 of it (hysteresis: one anomaly is one report, not a flicker): on vibration nodes
  `ENTER_WINDOWS` and `EXIT_WINDOWS` whole windows' worth, on sound nodes `SOUND_PERSISTENCE_MS`. Lengths of
  signal, so that a node whose windows overlap (its hop is shorter than a window) waits as long as one whose
  windows do not: `persistence_windows` turns them into windows in a row at a hop, and the baseline stores the
  counts it was learnt with.

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
VERSION = 2  # 1: per-band variances only (diagonal score)
MAX_BANDS = 16  # every family's feature count; sizes the node's fixed state
VAR_FLOOR = 256  # (half a feature step x 32 frames)^2: quantised bands never get an infinite weight
Q = 16  # standardised deviations and correlations in Q16
SCALE_SHIFT = 3  # the per-band scale 2^19 / sd (uint16: at most 32768 with var >= VAR_FLOOR)
L_SHIFT = 12  # the LDL^T factor's entries in Q12 (int16): |L| <= (1 + ridge) / sqrt(ridge) = 4.25
L_MAX = (1 << 15) - 1
D_MIN = 1 << 12  # pivots of the ridged correlation matrix are >= ridge (1/16, Q16: 4096)
Y_MAX = 1 << 27  # whitened deviations saturate at z = 2048: far beyond any threshold, no int64 overflow
RIDGE_SHIFT = 4  # the correlation's diagonal gets + 1/16: a ridge that keeps the factor well conditioned
THRESHOLD_MARGIN_Q4 = 24  # threshold = 1.5 x the highest score of the calibration half
NULL_SDS = 6  # the threshold's floor: this many standard deviations of the null score above its mean
ENTER_WINDOWS = 3  # whole windows' worth of signal above the threshold that start an anomaly (vibration nodes)
EXIT_WINDOWS = 6  # ... and below 3/4 of it that end one
# A sound node's "unusual sound here" is about events of a second or two: 2 s and 3.5 s of signal, which at its
# default hop (a 1,024 ms window every 512 ms) are the 3 and 6 windows in a row its benchmark measured
SOUND_PERSISTENCE_MS = (2000, 3500)
MAX_WINDOWS = 1 << 16  # accumulators stop here (46 h of 2.56 s windows): n * sum(v^2) stays inside int64
SCORE_MAX = (1 << 32) - 1
_HEADER = struct.Struct("<4sBB8sIIBB")  # magic, version, bands, feature digest, windows, threshold, enter, exit


def windows_in_a_row(signal_samples: int, window_samples: int, hop_samples: int) -> int:
    """The windows in a row, at a hop of `hop_samples`, whose signal covers `signal_samples`: 1 + ceil((signal -
    window) / hop), at least 1 and at most 255 (a byte of the stored form)."""
    if not 0 < hop_samples <= window_samples:
        raise ValueError(f"the hop must be 1 to {window_samples} samples (a window), not {hop_samples}")
    return min(255, 1 + max(0, -(-(signal_samples - window_samples) // hop_samples)))


def persistence_windows(
    window_samples: int, hop_samples: int, start_samples: int | None = None, end_samples: int | None = None
) -> tuple[int, int]:
    """(enter, exit): the windows in a row at a hop that an anomaly needs above the threshold to start
    (`start_samples` of signal, default `ENTER_WINDOWS` whole windows) and below 3/4 of it to end (`end_samples`,
    default `EXIT_WINDOWS` whole windows): the vibration nodes' defaults, (3, 6) at a hop of one window and (5, 11)
    at half a window. The node's YAML sets them as times (`anomaly_start_after`, `anomaly_end_after`)."""
    start = ENTER_WINDOWS * window_samples if start_samples is None else start_samples
    end = EXIT_WINDOWS * window_samples if end_samples is None else end_samples
    return windows_in_a_row(start, window_samples, hop_samples), windows_in_a_row(end, window_samples, hop_samples)


def tri(bands: int) -> int:
    """Entries of the strictly lower triangle (the LDL^T factor's free entries), row by row."""
    return bands * (bands - 1) // 2


def body_bytes(bands: int) -> int:
    """The stored baseline's size after the header: int32 mean, uint16 scale and weight per band, int16 L."""
    return bands * 8 + tri(bands) * 2


_CRC = struct.Struct("<I")


def stored_bytes(bands: int) -> int:
    """The whole stored baseline's size: header, body and CRC (the node's `baseline_blob_bytes`)."""
    return _HEADER.size + body_bytes(bands) + _CRC.size


class ForeignBaseline(ValueError):
    """A stored baseline made with another feature configuration (or for another node model)."""


def signature(window_features: NDArray[np.int8]) -> NDArray[np.int32]:
    """int8 features (frames x bands) -> per-band sums (int32, bands)."""
    return window_features.astype(np.int32).sum(axis=0).astype(np.int32)


def digest8(feature_digest: str) -> bytes:
    """The first 8 bytes of a FeatureConfig digest (hex) as stored in the blob."""
    return bytes.fromhex(feature_digest[:16])


@dataclass(frozen=True)
class Model:
    """What a score needs: per band the mean, the scale 2^19 / sd and the weight 2^28 / D (the LDL^T pivot),
    and the factor's strictly lower triangle L (Q12, row by row)."""

    mean: tuple[int, ...]  # int32 (floored mean of the signatures)
    scale: tuple[int, ...]  # uint16: 2^27 // isqrt(max(var, VAR_FLOOR) << 16), 2^19 / sd, at most 32768
    weight: tuple[int, ...]  # uint16: 2^28 // D, D >= D_MIN
    lower: tuple[int, ...]  # int16, tri(bands) entries: L[1][0], L[2][0], L[2][1], ...

    def score(self, sig: NDArray[np.int32]) -> int:
        """sum_k y_k^2 / D_k in Q4, y = L^-1 u with u the standardised deviation (Q16), saturating."""
        total, row = 0, 0
        y: list[int] = []
        for k, v in enumerate(sig.tolist()):
            u = ((v - self.mean[k]) * self.scale[k]) >> SCALE_SHIFT
            acc = sum(lk * yj for lk, yj in zip(self.lower[row : row + k], y, strict=True))
            row += k
            yk = min(max(u - (acc >> L_SHIFT), -Y_MAX), Y_MAX)
            y.append(yk)
            total += ((yk >> 8) ** 2 * self.weight[k]) >> 24
        return min(total, SCORE_MAX)


@dataclass(frozen=True)
class Baseline:
    feature_digest: bytes  # 8 bytes
    windows: int
    model: Model
    threshold: int
    enter_windows: int = ENTER_WINDOWS
    exit_windows: int = EXIT_WINDOWS

    @property
    def bands(self) -> int:
        return len(self.model.mean)

    def score(self, sig: NDArray[np.int32]) -> int:
        if len(sig) != self.bands:
            raise ValueError(f"signature has {len(sig)} bands, the baseline {self.bands}")
        return self.model.score(sig)

    def to_bytes(self) -> bytes:
        m, k = self.model, self.bands
        body = _HEADER.pack(
            MAGIC, VERSION, k, self.feature_digest, self.windows, self.threshold, self.enter_windows, self.exit_windows
        )
        body += struct.pack(f"<{k}i{k}H{k}H{tri(k)}h", *m.mean, *m.scale, *m.weight, *m.lower)
        return body + _CRC.pack(zlib.crc32(body))

    @classmethod
    def from_bytes(cls, blob: bytes, feature_digest: bytes) -> Baseline:
        """Parse a stored baseline; ValueError if corrupt, ForeignBaseline if made with other features or in an
        older format (version 1 has per-band variances only: learn it again)."""
        if len(blob) < _HEADER.size + _CRC.size:
            raise ValueError(f"baseline blob too short ({len(blob)} bytes)")
        body, (crc,) = blob[: -_CRC.size], _CRC.unpack(blob[-_CRC.size :])
        if zlib.crc32(body) != crc:
            raise ValueError("baseline blob is corrupt (checksum mismatch)")
        magic, version, bands, digest, windows, threshold, enter, exit_ = _HEADER.unpack_from(body)
        if magic != MAGIC or not 1 <= version <= VERSION:
            raise ValueError(f"not a baseline of version 1 to {VERSION} (magic {magic!r}, version {version})")
        if version < VERSION:
            raise ForeignBaseline(f"baseline has format version {version}, this node uses {VERSION}: learn it again")
        if bands == 0 or bands > MAX_BANDS or len(body) != _HEADER.size + body_bytes(bands):
            raise ValueError(f"baseline blob has {len(body)} bytes for {bands} bands")
        if digest != feature_digest:
            raise ForeignBaseline(
                f"baseline was learnt with features {digest.hex()}, this node has {feature_digest.hex()}"
            )
        v = struct.unpack_from(f"<{bands}i{bands}H{bands}H{tri(bands)}h", body, _HEADER.size)
        if threshold == 0 or windows == 0 or enter == 0 or exit_ == 0:
            raise ValueError("baseline blob has a zero threshold, window count or hysteresis count")
        model = Model(v[:bands], v[bands : 2 * bands], v[2 * bands : 3 * bands], v[3 * bands :])
        return cls(digest, windows, model, threshold, enter, exit_)


def null_floor(bands: int) -> int:
    """The lowest threshold: 16 * (k + NULL_SDS * sqrt(2k)) in Q4, k = bands, floored.

    A healthy window's score is 16 * the sum of k squared whitened deviations, about 16 * chi-square(k) (mean
    k, standard deviation sqrt(2k)). Windows of one operating point are alike for minutes, so the
    three-in-a-row rule buys little against them: the floor alone must hold the per-window tail near 1e-5
    (chi-square(16) above 16 + 6 * sqrt(32) = 49.9: 2.3e-5, 0.8 windows a day of 2.56 s). The second half's
    highest score is one draw of the tail of 100-odd correlated windows, often from a single operating point,
    and can sit far below it (z = 1 per band, the first floor, is the null's mean: half of all healthy windows).
    """
    return 16 * bands + math.isqrt(2 * bands * (16 * NULL_SDS) ** 2)


@dataclass
class _Moments:
    """Count, per-band sums and the lower triangle (diagonal included) of the sums of products (int64 on the
    node)."""

    bands: int
    n: int = 0
    s: list[int] = field(default_factory=list)
    ss: list[int] = field(default_factory=list)  # row by row: (0,0), (1,0), (1,1), (2,0), ...

    def __post_init__(self) -> None:
        self.s, self.ss = [0] * self.bands, [0] * (self.bands * (self.bands + 1) // 2)

    def add(self, sig: NDArray[np.int32]) -> None:
        if self.n >= MAX_WINDOWS:
            return
        self.n += 1
        v = sig.tolist()
        t = 0
        for i in range(self.bands):
            self.s[i] += v[i]
            for j in range(i + 1):
                self.ss[t] += v[i] * v[j]
                t += 1

    def model(self) -> Model:
        """Floored mean; covariance (n*ss - s_i*s_j) // n^2 with the variances floored at VAR_FLOOR, scaled to a
        correlation in Q16 with a ridge of 1/16 on its diagonal, factored as L D L^T (floored shifts and
        divisions, like the node's int64 arithmetic)."""
        n, k = max(self.n, 1), self.bands
        mean = tuple(s // n for s in self.s)
        cov = [[0] * k for _ in range(k)]
        t = 0
        for i in range(k):
            for j in range(i + 1):
                cov[i][j] = (n * self.ss[t] - self.s[i] * self.s[j]) // (n * n)
                t += 1
        var = [max(cov[b][b], VAR_FLOOR) for b in range(k)]
        scale = tuple((1 << (24 + SCALE_SHIFT)) // math.isqrt(v << Q) for v in var)
        lo = [[0] * k for _ in range(k)]
        d = [0] * k
        for j in range(k):
            a = (var[j] * scale[j] * scale[j]) >> (Q + 2 * SCALE_SHIFT)
            a += a >> RIDGE_SHIFT
            a -= sum((lo[j][m] * lo[j][m] * d[m]) >> (2 * L_SHIFT) for m in range(j))
            d[j] = max(a, D_MIN)
            for i in range(j + 1, k):
                r = (cov[i][j] * scale[i] * scale[j]) >> (Q + 2 * SCALE_SHIFT)
                r -= sum((lo[i][m] * lo[j][m] * d[m]) >> (2 * L_SHIFT) for m in range(j))
                lo[i][j] = min(max((r << L_SHIFT) // d[j], -L_MAX), L_MAX)
        weight = tuple(min((1 << 28) // dj, 0xFFFF) for dj in d)
        lower = tuple(lo[i][j] for i in range(k) for j in range(i))
        return Model(mean, scale, weight, lower)


@dataclass
class BaselineLearner:
    """Learns a baseline from `total_windows` signatures (two halves, see the module docstring). `enter_windows`
    and `exit_windows`: the anomaly's hysteresis in windows at the hop the signatures come at (stored with it;
    `persistence_windows`)."""

    bands: int
    total_windows: int
    feature_digest: bytes
    enter_windows: int = ENTER_WINDOWS
    exit_windows: int = EXIT_WINDOWS
    seen: int = 0
    _all: _Moments = field(init=False)
    _first: Model | None = field(default=None, init=False)
    _cal_max: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.total_windows < 4:
            raise ValueError(f"a baseline needs at least 4 windows, not {self.total_windows}")
        if not 1 <= self.bands <= MAX_BANDS:
            raise ValueError(f"a baseline has 1 to {MAX_BANDS} bands, not {self.bands}")
        if not (1 <= self.enter_windows <= 255 and 1 <= self.exit_windows <= 255):
            raise ValueError(f"hysteresis counts must be 1 to 255, not {self.enter_windows} / {self.exit_windows}")
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
            self._first = self._all.model()
        if self._first is not None:
            self._cal_max = max(self._cal_max, self._first.score(sig))
        self._all.add(sig)
        self.seen += 1

    def result(self) -> Baseline:
        if not self.done:
            raise ValueError(f"baseline learning not finished ({self.seen} of {self.total_windows} windows)")
        threshold = max(null_floor(self.bands), (self._cal_max * THRESHOLD_MARGIN_Q4) >> 4)
        return Baseline(
            self.feature_digest,
            self._all.n,
            self._all.model(),
            min(threshold, SCORE_MAX),
            self.enter_windows,
            self.exit_windows,
        )


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
