"""Small signal-building blocks (numpy/scipy only) used by both generators."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import fft as sp_fft
from scipy import signal


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def normalize_rms(x: np.ndarray, target: float = 1.0) -> np.ndarray:
    r = rms(x)
    return x * (target / r) if r > 0 else x


def db_to_amp(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def shaped_noise(
    rng: np.random.Generator, n: int, sr: float, magnitude: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Gaussian noise with |spectrum| = magnitude(f), unit RMS (FFT shaping; fine for stationary noise)."""
    if n <= 0:
        return np.zeros(0)
    m = sp_fft.next_fast_len(n, real=True)  # arbitrary lengths can have large prime factors (slow FFTs)
    spec = sp_fft.rfft(rng.standard_normal(m))
    spec *= magnitude(np.fft.rfftfreq(m, 1.0 / sr))
    return normalize_rms(sp_fft.irfft(spec, m)[:n])


def colored_noise(rng: np.random.Generator, n: int, sr: float, exponent: float, f_min: float = 10.0) -> np.ndarray:
    """1/f^exponent power spectrum: 0 white, 1 pink, 2 brown (flattened below f_min)."""
    return shaped_noise(rng, n, sr, lambda f: np.maximum(f, f_min) ** (-exponent / 2.0))


def smooth_random(rng: np.random.Generator, n: int, sr: float, rate_hz: float) -> np.ndarray:
    """A slowly varying zero-mean process (about unit std) with features every ~1/rate_hz seconds."""
    n_knots = max(4, int(np.ceil(n / sr * rate_hz)) + 3)
    knots = rng.standard_normal(n_knots)
    x_knots = np.linspace(0, n, n_knots)
    return np.interp(np.arange(n), x_knots, knots)


def resonator_sos(freq: float, bandwidth: float, sr: float) -> np.ndarray:
    """Two-pole resonator (unity gain at its peak) as one SOS section."""
    r = np.exp(-np.pi * bandwidth / sr)
    theta = 2 * np.pi * freq / sr
    a1, a2 = -2 * r * np.cos(theta), r * r
    # scale numerator (1 - z^-2) so the peak gain is ~1
    g = (1 - r * r) / 2
    return np.array([[g, 0.0, -g, 1.0, a1, a2]])


def _biquad(kind: str, f0: float, sr: float, q: float = 1 / np.sqrt(2)) -> np.ndarray:
    """RBJ-cookbook biquad (Q = 1/sqrt(2) is the 2nd-order Butterworth) as one SOS row."""
    w0 = 2 * np.pi * min(max(f0, 1e-3), 0.49 * sr) / sr
    alpha, cw = np.sin(w0) / (2 * q), np.cos(w0)
    b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2] if kind == "lowpass" else [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
    a = [1 + alpha, -2 * cw, 1 - alpha]
    return np.array([[b[0] / a[0], b[1] / a[0], b[2] / a[0], 1.0, a[1] / a[0], a[2] / a[0]]])


def _first_order(kind: str, f0: float, sr: float) -> np.ndarray:
    k = np.tan(np.pi * min(max(f0, 1e-3), 0.49 * sr) / sr)
    if kind == "lowpass":
        b0 = b1 = k / (1 + k)
    else:
        b0, b1 = 1 / (1 + k), -1 / (1 + k)
    return np.array([[b0, b1, 0.0, 1.0, (k - 1) / (k + 1), 0.0]])


def butter_sos(order: int, cutoff: float | tuple[float, float], sr: float, btype: str) -> np.ndarray:
    """Closed-form Butterworth-like sections (scipy's designer costs milliseconds per call).

    order 1 or 2 for low/high-pass; a band-pass is a high-pass at the lower and a low-pass at the upper
    edge, each of the given order.
    """
    if btype == "bandpass":
        assert isinstance(cutoff, tuple)
        lo, hi = cutoff
        return np.vstack([butter_sos(order, lo, sr, "highpass"), butter_sos(order, hi, sr, "lowpass")])
    assert not isinstance(cutoff, tuple)
    if order == 1:
        return _first_order(btype, cutoff, sr)
    if order == 2:
        return _biquad(btype, cutoff, sr)
    return np.asarray(signal.butter(order, min(cutoff / (sr / 2), 0.99), btype=btype, output="sos"))


def sosfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(signal.sosfilt(sos, x))


def min_phase_fir(freqs: np.ndarray, gains: np.ndarray, sr: float, taps: int = 129) -> np.ndarray:
    """Causal (minimum-phase) FIR with roughly the magnitude response |H(freqs)| = gains."""
    nyq = sr / 2
    f = np.clip(np.asarray(freqs, dtype=float) / nyq, 0, 1)
    f[0], f[-1] = 0.0, 1.0
    # minimum_phase halves the magnitude in dB (homomorphic method), so design on the squared gains
    linear_sq = signal.firwin2(taps, f, np.asarray(gains, dtype=float) ** 2)
    return np.asarray(signal.minimum_phase(linear_sq, method="homomorphic"))


def fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Causal convolution truncated to len(x)."""
    return np.asarray(signal.oaconvolve(x, h)[: len(x)]) if len(h) > 1 else x * (h[0] if len(h) else 0.0)


def scatter_add(out: np.ndarray, starts: np.ndarray, blocks: np.ndarray) -> None:
    """out[starts[i] + j] += blocks[i, j] for every in-range index (vectorised overlap-add)."""
    if len(starts) == 0:
        return
    length = blocks.shape[1]
    idx = starts[:, None] + np.arange(length)[None, :]
    ok = (idx >= 0) & (idx < len(out))
    out += np.bincount(idx[ok], weights=blocks[ok], minlength=len(out))[: len(out)]


def damped_sines(
    out: np.ndarray,
    sr: float,
    times: np.ndarray,
    amps: np.ndarray,
    freq: float,
    decay_s: float,
    max_len_s: float | None = None,
) -> None:
    """Add amps[i]·e^{-(t-t_i)/decay}·sin(2πf(t-t_i)) starting at fractional times t_i (seconds)."""
    if len(times) == 0:
        return
    length = int(np.ceil((max_len_s if max_len_s is not None else 6.0 * decay_s) * sr)) + 1
    starts = np.ceil(times * sr).astype(np.int64)
    dt = (starts[:, None] + np.arange(length)[None, :]) / sr - times[:, None]
    blocks = amps[:, None] * np.exp(-dt / decay_s) * np.sin(2 * np.pi * freq * dt)
    scatter_add(out, starts, blocks)


def phase_from_freq(freq_hz: np.ndarray, sr: float, phase0: float = 0.0) -> np.ndarray:
    """Instantaneous phase (radians) of a tone whose frequency varies per sample."""
    return phase0 + 2 * np.pi * np.cumsum(freq_hz) / sr


def fade(n: int, sr: float, attack_s: float, release_s: float) -> np.ndarray:
    """Raised-cosine attack and release over n samples."""
    env = np.ones(n)
    na = min(n // 2, max(1, int(attack_s * sr)))
    nr = min(n - na, max(1, int(release_s * sr)))
    env[:na] = 0.5 - 0.5 * np.cos(np.pi * np.arange(na) / na)
    env[n - nr :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(nr) / nr)
    return env


def stft_filter(x: np.ndarray, response: np.ndarray, nfft: int, hop: int) -> np.ndarray:
    """Time-varying filtering: multiply each Hann-windowed frame's spectrum by response[frame] and overlap-add.

    Frame m is centred on sample m * hop; the resonators ring out well within nfft (bandwidths >= 60 Hz).
    """
    n = len(x)
    n_frames = response.shape[0]
    half = nfft // 2
    xp = np.pad(x, (half, half + nfft))
    starts = hop * np.arange(n_frames)
    idx = starts[:, None] + np.arange(nfft)[None, :]
    win = np.hanning(nfft + 1)[:nfft]
    frames = np.fft.irfft(np.fft.rfft(xp[idx] * win, axis=1) * response, nfft, axis=1) * win
    # overlap-add: frame m covers hop-blocks m .. m + nfft/hop - 1
    k = nfft // hop
    blocks = frames.reshape(n_frames, k, hop)
    y = np.zeros((n_frames + k, hop))
    for r in range(k):
        y[r : r + n_frames] += blocks[:, r, :]
    y = y.ravel()
    return y[half : half + n] / (np.sum(win**2) / hop)


def harmonic_table(phi: np.ndarray, harmonics: Sequence[tuple[float, float, float]], size: int = 8192) -> np.ndarray:
    """sum_k a_k·sin(k·phi + psi_k) for integer k via one lookup in a one-period table (linear interpolation).

    Much cheaper than one sin per harmonic; sampling the table at phi aliases exactly like the direct sum.
    """
    spec = np.zeros(size // 2 + 1, dtype=complex)
    for k, a, psi in harmonics:
        if 0 < int(k) < size // 2:
            # a·sin(kθ + ψ) = a·cos(kθ + ψ − π/2): bin k of a length-`size` inverse real FFT
            spec[int(k)] += (size / 2) * a * np.exp(1j * (psi - np.pi / 2))
    table = np.fft.irfft(spec, size)
    table = np.append(table, table[0])
    pos = np.mod(phi, 2 * np.pi) * (size / (2 * np.pi))
    i = np.minimum(pos.astype(np.int64), size - 1)
    frac = pos - i
    return np.asarray(table[i] * (1 - frac) + table[i + 1] * frac)
