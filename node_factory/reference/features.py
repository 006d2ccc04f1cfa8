"""Integer features, defined once: this module is the reference the C++ kernel must match bit for bit.

Audio window (int16 PCM) -> frames of N samples -> radix-2 fixed-point FFT (Q15 twiddles, the data halved
at every stage so nothing overflows) -> power per bin -> summed over mel-spaced bands -> integer log2 with
a 3-bit mantissa -> int8 (frames x bands). Every operation is integer and its order is fixed, so numpy and
C++ produce the same numbers. numpy only (no torch), so the ESPHome tests can import it too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 16000
    frame: int = 512  # FFT size and hop (no overlap: the MCU computes one frame per 32 ms)
    frames: int = 32  # frames per window: 32 x 32 ms = 1.024 s
    bands: int = 16
    f_min: float = 150.0
    f_max: float = 7000.0
    # Envelope spectrum (vibration): the last `envelope_bands` of the `bands` come from the spectrum of
    # |x[n] - x[n-1]| (a rectified high-passed signal), log-spaced from env_f_min to env_f_max, where
    # bearing-fault repetition rates show up. 0 for audio.
    envelope_bands: int = 0
    env_f_min: float = 5.0
    env_f_max: float = 500.0

    @property
    def window_samples(self) -> int:
        return self.frame * self.frames

    @property
    def log2_frame(self) -> int:
        return int(self.frame).bit_length() - 1

    @property
    def spectrum_bands(self) -> int:
        return self.bands - self.envelope_bands

    def _edges(self, count: int, f_min: float, f_max: float, mel_scale: bool) -> tuple[int, ...]:
        if mel_scale:
            mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
            inv = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
            points = inv(np.linspace(mel(f_min), mel(f_max), count + 1))
        else:
            points = np.geomspace(f_min, f_max, count + 1)
        bins = np.round(points * self.frame / self.sample_rate).astype(int)
        bins[0] = max(bins[0], 1)
        for i in range(1, len(bins)):  # at least one bin per band
            bins[i] = max(bins[i], bins[i - 1] + 1)
        return tuple(int(b) for b in bins)

    @cached_property
    def band_edges(self) -> tuple[int, ...]:
        """FFT bin edges: the mel-spaced spectrum bands, then the envelope bands' edges (if any)."""
        edges = self._edges(self.spectrum_bands, self.f_min, self.f_max, mel_scale=True)
        if self.envelope_bands:
            edges += self._edges(self.envelope_bands, self.env_f_min, self.env_f_max, mel_scale=False)
        return edges

    def digest(self) -> str:
        """Hash of everything that defines the features; a model is only valid with the same digest."""
        fields = asdict(self)
        if not self.envelope_bands:  # keep the digests of models made before envelopes existed
            for key in ("envelope_bands", "env_f_min", "env_f_max"):
                fields.pop(key)
        blob = json.dumps({**fields, "edges": self.band_edges, "algo": "fft-q15-log2q3-v1"}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def twiddles_q15(n: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """cos/sin(2πk/n) for k < n/2, Q15, rounded the same way the C++ table is generated."""
    k = np.arange(n // 2)
    cos = np.round(np.cos(2 * np.pi * k / n) * 32767).astype(np.int32)
    sin = np.round(np.sin(2 * np.pi * k / n) * 32767).astype(np.int32)
    return cos, sin


def bit_reverse_indices(n: int) -> NDArray[np.int64]:
    bits = n.bit_length() - 1
    idx = np.arange(n)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    return rev


def fft_q15(frames: NDArray[np.int16]) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Radix-2 DIT FFT of int16 frames (rows), scaled by 1/n; returns (re, im) int32 per bin."""
    n = frames.shape[1]
    cos, sin = twiddles_q15(n)
    re = frames[:, bit_reverse_indices(n)].astype(np.int64)
    im = np.zeros_like(re)
    size = 2
    while size <= n:
        half = size // 2
        step = n // size
        for start in range(0, n, size):
            top = slice(start, start + half)
            bot = slice(start + half, start + size)
            wr = cos[: half * step : step].astype(np.int64)
            wi = -sin[: half * step : step].astype(np.int64)  # e^{-i theta}
            br, bi = re[:, bot], im[:, bot]
            tr = (br * wr - bi * wi) >> 15
            ti = (br * wi + bi * wr) >> 15
            ar, ai = re[:, top], im[:, top]
            re[:, top], im[:, top], re[:, bot], im[:, bot] = (
                (ar + tr) >> 1,
                (ai + ti) >> 1,
                (ar - tr) >> 1,
                (ai - ti) >> 1,
            )
        size *= 2
    return re.astype(np.int32), im.astype(np.int32)


def log2_q3(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """floor(8 * log2(v)) approximated with the leading-one position and the next 3 bits; 0 for v <= 1."""
    v = np.maximum(values.astype(np.int64), 1)
    msb = np.floor(np.log2(v.astype(np.float64))).astype(np.int64)
    # exact integer msb (float log2 can round up just below a power of two)
    msb = np.where((np.int64(1) << msb) > v, msb - 1, msb)
    msb = np.where((np.int64(1) << (msb + 1)) <= v, msb + 1, msb)
    mant = np.where(msb >= 3, (v >> np.maximum(msb - 3, 0)) & 7, (v << np.maximum(3 - msb, 0)) & 7)
    return msb * 8 + mant


def envelope(frames: NDArray[np.int16]) -> NDArray[np.int16]:
    """|x[n] - x[n-1]| / 2 within each frame (the first sample's difference is 0): fits int16."""
    x = frames.astype(np.int32)
    diff = np.zeros_like(x)
    diff[:, 1:] = np.abs(x[:, 1:] - x[:, :-1]) >> 1
    return diff.astype(np.int16)


def _band_power(frames: NDArray[np.int16], edges: tuple[int, ...]) -> NDArray[np.int64]:
    re, im = fft_q15(frames)
    power = re.astype(np.int64) ** 2 + im.astype(np.int64) ** 2
    return np.stack([power[:, edges[b] : edges[b + 1]].sum(axis=1) for b in range(len(edges) - 1)], axis=1)


def features(window: NDArray[np.int16], config: FeatureConfig) -> NDArray[np.int8]:
    """int16 PCM window (config.window_samples) -> int8 features (frames x bands)."""
    if window.shape != (config.window_samples,):
        raise ValueError(f"expected {config.window_samples} samples, got {window.shape}")
    return frame_features(window.reshape(config.frames, config.frame).astype(np.int16), config)


def frame_features(frames: NDArray[np.int16], config: FeatureConfig) -> NDArray[np.int8]:
    """int16 frames (n x config.frame) -> int8 features (n x bands). Frames do not overlap and each frame's
    features depend on that frame alone, so a stream's windows (at any hop) are slices of its frames' rows."""
    edges = config.band_edges
    n_spec = config.spectrum_bands
    bands = _band_power(frames, edges[: n_spec + 1])
    if config.envelope_bands:
        env = envelope(frames)
        bands = np.concatenate([bands, _band_power(env, edges[n_spec + 1 :])], axis=1)
    # log2 of band power spans 0..~62 bits -> 0..~500 in q3; shift to int8 range
    out = (log2_q3(bands) >> 1) - 64
    return np.clip(out, -128, 127).astype(np.int8)


def window_mean_square(window: NDArray[np.int16], config: FeatureConfig) -> int:
    """The kernel Pipeline's window_mean_square(): per frame floor(sum x^2 / frame), floored mean of those.
    level_db = 10 log10(mean_square / 2^30) dBFS."""
    frames = window.reshape(config.frames, config.frame).astype(np.int64)
    per_frame = (frames**2).sum(axis=1) // config.frame
    return int(per_frame.sum() // config.frames)
