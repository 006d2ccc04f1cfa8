"""Measurements on rendered signals, written independently of the generators (used by the tests).

envelope + pulse detection for alarm timing, spectral peak levels for harmonics, and the envelope spectrum
(band-pass around a resonance, Hilbert magnitude, FFT) for bearing-fault rates.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy import signal


def envelope(x: np.ndarray, sr: float, band: tuple[float, float] | None = None, smooth_s: float = 0.002) -> np.ndarray:
    y = np.asarray(x, dtype=float)
    if band is not None:
        sos = signal.butter(4, [band[0] / (sr / 2), min(band[1] / (sr / 2), 0.99)], btype="bandpass", output="sos")
        y = signal.sosfiltfilt(sos, y)
    env = np.abs(signal.hilbert(y, sp_fft.next_fast_len(len(y)))[: len(y)])
    k = max(1, int(smooth_s * sr))
    return np.convolve(env, np.ones(k) / k, mode="same")


def pulses(
    env: np.ndarray, sr: float, threshold_ratio: float = 0.5, min_gap_s: float = 0.02, reference: str = "p99"
) -> np.ndarray:
    """(start, end) seconds of the spans where env exceeds threshold_ratio x its 99th percentile (or maximum,
    for signals that are active less than 1 % of the time)."""
    thr = threshold_ratio * (np.percentile(env, 99) if reference == "p99" else float(np.max(env)))
    above = env > thr
    edges = np.diff(above.astype(int))
    starts = [int(i) for i in np.flatnonzero(edges == 1) + 1]
    ends = [int(i) for i in np.flatnonzero(edges == -1) + 1]
    if above[0]:
        starts.insert(0, 0)
    if above[-1]:
        ends.append(len(env))
    spans: list[list[float]] = []
    for a, b in zip(starts, ends, strict=True):
        if spans and (a / sr - spans[-1][1]) < min_gap_s:
            spans[-1][1] = b / sr
        else:
            spans.append([a / sr, b / sr])
    return np.array(spans, dtype=float).reshape(-1, 2)


def peak_level_db(x: np.ndarray, sr: float, freq: float, rel_bw: float = 0.03) -> float:
    """Power (dB) of the strongest spectral line within ±rel_bw of freq (Hann window, power spectrum)."""
    win = np.hanning(len(x))
    nfft = sp_fft.next_fast_len(len(x), real=True)
    spec = np.abs(sp_fft.rfft(x * win, nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1 / sr)
    sel = (f > freq * (1 - rel_bw)) & (f < freq * (1 + rel_bw))
    return float(10 * np.log10(spec[sel].max() + 1e-30))


def dominant_frequency(x: np.ndarray, sr: float, lo: float, hi: float) -> float:
    win = np.hanning(len(x))
    nfft = 1 << int(np.ceil(np.log2(len(x) * 4)))
    spec = np.abs(np.fft.rfft(x * win, nfft))
    f = np.fft.rfftfreq(nfft, 1 / sr)
    sel = (f >= lo) & (f <= hi)
    return float(f[sel][np.argmax(spec[sel])])


def envelope_spectrum(x: np.ndarray, sr: float, band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Squared-envelope spectrum (Randall & Antoni 2011) of x band-passed to band; zero-padded 8x."""
    sos = signal.butter(4, [band[0] / (sr / 2), min(band[1] / (sr / 2), 0.99)], btype="bandpass", output="sos")
    y = signal.sosfiltfilt(sos, np.asarray(x, dtype=float))
    env = np.abs(signal.hilbert(y, sp_fft.next_fast_len(len(y)))[: len(y)]) ** 2
    env -= env.mean()
    nfft = 1 << int(np.ceil(np.log2(len(env) * 8)))
    spec = np.abs(np.fft.rfft(env * np.hanning(len(env)), nfft))
    return np.fft.rfftfreq(nfft, 1 / sr), spec


def spectral_peak(freqs: np.ndarray, spec: np.ndarray, lo: float, hi: float) -> float:
    sel = (freqs >= lo) & (freqs <= hi)
    return float(freqs[sel][np.argmax(spec[sel])])
