"""A small Klatt-style cascade formant synthesizer (numpy/scipy only) for speech-like sound.

Source: Rosenberg glottal-flow derivative pulses (open phase 35–45 % of the period, closing phase
10–25 %: breathy to pressed) at an F0 contour with cycle-to-cycle jitter (0.3–2 %) and shimmer (2–8 %), plus
aspiration noise.  Tract: five cascade resonators (Klatt 1980, unity DC gain each), parameters per 10 ms frame,
linearly interpolated between segment targets (20–40 ms transitions).  Fricatives and stop bursts go through a
parallel noise resonator.  Vowel formants F1–F3 are the Peterson & Barney (1952) averages for men, women and
children, scaled per speaker by a vocal-tract factor (±8 %); F0 ranges: male 85–155 Hz, female 165–255 Hz,
child 250–400 Hz.  Prosody: syllables at 3–6 per second, phrases of 3–12 syllables with 0.15–0.6 s pauses,
F0 declination (−5..−20 % per phrase), pitch accents (+5..+30 %) on stressed syllables and a final fall or a
question rise.  The output is speech-like (right spectra, rhythm and modulations), not intelligible words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dsp import normalize_rms, rms, scatter_add, stft_filter

# Peterson & Barney (1952), Table II averages: F1, F2, F3 in Hz for men, women, children.
VOWELS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    "i": ((270, 2290, 3010), (310, 2790, 3310), (370, 3200, 3730)),
    "I": ((390, 1990, 2550), (430, 2480, 3070), (530, 2730, 3600)),
    "E": ((530, 1840, 2480), (610, 2330, 2990), (690, 2610, 3570)),
    "ae": ((660, 1720, 2410), (860, 2050, 2850), (1010, 2320, 3320)),
    "a": ((730, 1090, 2440), (850, 1220, 2810), (1030, 1370, 3170)),
    "O": ((570, 840, 2410), (590, 920, 2710), (680, 1060, 3180)),
    "U": ((440, 1020, 2240), (470, 1160, 2680), (560, 1410, 3310)),
    "u": ((300, 870, 2240), (370, 950, 2670), (430, 1170, 3260)),
    "V": ((640, 1190, 2390), (760, 1400, 2780), (850, 1590, 3360)),
    "3": ((490, 1350, 1690), (500, 1640, 1960), (560, 1820, 2160)),
}
SPEAKER_INDEX = {"male": 0, "female": 1, "child": 2}
F0_RANGE = {"male": (85.0, 155.0), "female": (165.0, 255.0), "child": (250.0, 400.0)}
TRACT_SCALE = {"male": 1.0, "female": 1.15, "child": 1.3}  # for F4/F5 and consonant loci

# consonant targets (male tract; scaled per speaker): kind, formants or noise band
FRICATIVES = {"s": (5500.0, 2000.0, 1.0), "sh": (3000.0, 1500.0, 0.9), "f": (5000.0, 6000.0, 0.25)}
STOPS = {"p": (1200.0, 2500.0), "t": (4500.0, 3000.0), "k": (2500.0, 1500.0)}
NASALS = {"m": (250, 1100, 2300), "n": (250, 1600, 2600)}
APPROXIMANTS = {"l": (360, 1000, 2800), "r": (350, 1100, 1600), "w": (300, 700, 2300), "j": (280, 2200, 2900)}

# frame parameter vector layout
_AV, _AH, _AF, _F, _B, _FF, _FB = 0, 1, 2, slice(3, 8), slice(8, 13), 13, 14
_NPARAM = 15
FRAME_S = 0.01


@dataclass(frozen=True)
class Speaker:
    kind: str
    f0_mean: float
    tract: float
    jitter: float
    shimmer: float
    open_quotient: float
    closing_quotient: float
    rate_syll_s: float
    breathiness: float

    def describe(self) -> dict[str, Any]:
        return dict(self.__dict__)


def draw_speaker(rng: np.random.Generator, kind: str | None = None) -> Speaker:
    kind = kind or str(rng.choice(["male", "female", "child"], p=[0.42, 0.42, 0.16]))
    lo, hi = F0_RANGE[kind]
    return Speaker(
        kind=kind,
        f0_mean=float(rng.uniform(lo, hi)),
        tract=float(rng.uniform(0.92, 1.08)),
        jitter=float(rng.uniform(0.003, 0.02)),
        shimmer=float(rng.uniform(0.02, 0.08)),
        open_quotient=float(rng.uniform(0.35, 0.45)),
        closing_quotient=float(rng.uniform(0.10, 0.25)),
        rate_syll_s=float(rng.uniform(3.0, 6.0)),
        breathiness=float(rng.uniform(0.02, 0.15)),
    )


def _vowel_vec(speaker: Speaker, vowel: str, level: float) -> np.ndarray:
    v = np.zeros(_NPARAM)
    f123 = np.array(VOWELS[vowel][SPEAKER_INDEX[speaker.kind]], dtype=float) * speaker.tract
    s = TRACT_SCALE[speaker.kind] * speaker.tract
    v[_F] = [*f123, 3500 * s, 4500 * s]
    v[_B] = [70, 100, 160, 250, 300]
    v[_AV], v[_AH] = level, level * speaker.breathiness
    v[_FF], v[_FB] = 4000, 2000
    return v


def _consonant_vec(speaker: Speaker, base: np.ndarray, c: str) -> tuple[np.ndarray, str]:
    v = base.copy()
    s = TRACT_SCALE[speaker.kind] * speaker.tract
    v[_AH] = 0.0
    if c in FRICATIVES:
        fc, bw, lvl = FRICATIVES[c]
        v[_AV], v[_AF], v[_FF], v[_FB] = 0.0, lvl, min(fc * s, 7000.0), bw
        return v, "fric"
    if c in NASALS:
        v[_F][:3] = np.array(NASALS[c], dtype=float) * speaker.tract
        v[_B][:3] = [100, 300, 300]
        v[_AV] = 0.35 * base[_AV]
        return v, "nasal"
    if c in APPROXIMANTS:
        v[_F][:3] = np.array(APPROXIMANTS[c], dtype=float) * s
        v[_AV] = 0.7 * base[_AV]
        return v, "approx"
    if c == "h":
        v[_AV], v[_AH] = 0.0, 0.5 * base[_AV]
        return v, "h"
    fc, bw = STOPS[c]
    v[_AV], v[_AF], v[_FF], v[_FB] = 0.0, 0.0, min(fc * s, 7000.0), bw
    return v, "stop"


Phrase = tuple[float, float, list[float], bool]  # start, end, accent times, question


def _syllable_keys(
    rng: np.random.Generator, speaker: Speaker, t: float, dur: float, stressed: bool
) -> list[tuple[float, np.ndarray]]:
    """Keyframes (time, vector) for one (C)V(C) syllable occupying [t, t + dur)."""
    level = 1.0 if stressed else float(rng.uniform(0.45, 0.75))
    vowel = _vowel_vec(speaker, str(rng.choice(list(VOWELS))), level)
    keys: list[tuple[float, np.ndarray]] = []
    consonants = list(FRICATIVES) + list(STOPS) + list(NASALS) + list(APPROXIMANTS) + ["h"]
    onset = str(rng.choice(consonants)) if rng.random() < 0.75 else None
    coda = str(rng.choice(consonants)) if rng.random() < 0.4 else None
    tr = float(rng.uniform(0.02, 0.04))
    silent = vowel.copy()
    silent[_AV] = silent[_AH] = silent[_AF] = 0.0
    v_start = t
    if onset is not None:
        cv, kind = _consonant_vec(speaker, vowel, onset)
        c_dur = min(dur * 0.35, float(rng.uniform(0.05, 0.12)))
        if kind == "stop":
            closure = c_dur * 0.6
            keys += [(t, silent), (t + closure, silent)]
            burst = cv.copy()
            burst[_AF] = float(rng.uniform(0.5, 1.0))
            keys += [(t + closure + 0.001, burst), (t + closure + 0.012, burst)]
            asp = vowel.copy()
            asp[_AV], asp[_AH] = 0.0, 0.4 * level
            keys += [(t + closure + 0.013, asp)]
        else:
            keys += [(t, cv), (t + c_dur - tr, cv)]
        v_start = t + c_dur
    v_end = t + dur - (0.06 if coda is not None else 0.0)
    keys += [(v_start + tr * 0.5, vowel), (max(v_start + tr, v_end - tr * 0.5), vowel)]
    if coda is not None:
        cv, kind = _consonant_vec(speaker, vowel, coda)
        if kind == "stop":
            keys += [(v_end, silent), (t + dur, silent)]
        else:
            keys += [(v_end, cv), (t + dur - 0.005, cv), (t + dur, silent)]
    else:
        keys += [(t + dur, silent)]
    return keys


def _f0_contour(rng: np.random.Generator, speaker: Speaker, n_frames: int, phrases: list[Phrase]) -> np.ndarray:
    t = np.arange(n_frames) * FRAME_S
    f0 = np.full(n_frames, speaker.f0_mean)
    for p_start, p_end, accents, question in phrases:
        m = (t >= p_start) & (t < p_end)
        prog = (t[m] - p_start) / max(p_end - p_start, 1e-3)
        decl = 1 + 0.06 - rng.uniform(0.05, 0.2) * prog
        bumps = np.zeros(m.sum())
        for c in accents:
            bumps += rng.uniform(0.05, 0.3) * np.exp(-0.5 * ((t[m] - c) / rng.uniform(0.08, 0.15)) ** 2)
        tail = np.clip((t[m] - (p_end - 0.25)) / 0.25, 0, 1)
        final = 1 + (rng.uniform(0.2, 0.4) if question else -rng.uniform(0.1, 0.25)) * tail
        f0[m] = speaker.f0_mean * decl * (1 + bumps) * final
    return f0


def _glottal_source(rng: np.random.Generator, speaker: Speaker, f0_frames: np.ndarray, n: int, sr: float) -> np.ndarray:
    """Rosenberg glottal-flow-derivative pulses following the F0 track, with jitter and shimmer."""
    times, periods = [], []
    t = float(rng.uniform(0, 1 / speaker.f0_mean))
    dur = n / sr
    while t < dur:
        f0 = f0_frames[min(int(t / FRAME_S), len(f0_frames) - 1)]
        period = (1.0 / f0) * (1 + rng.normal(0, speaker.jitter))
        times.append(t)
        periods.append(period)
        t += period
    tt, pp = np.array(times), np.array(periods)
    amps = 1 + rng.normal(0, speaker.shimmer, size=len(tt))
    tp, tn = speaker.open_quotient * pp, speaker.closing_quotient * pp
    length = int(np.ceil((tp + tn).max() * sr)) + 2
    starts = np.ceil(tt * sr).astype(np.int64)
    dt = (starts[:, None] + np.arange(length)[None, :]) / sr - tt[:, None]
    tp_, tn_ = tp[:, None], tn[:, None]
    opening = np.where((dt >= 0) & (dt < tp_), (np.pi / (2 * tp_)) * np.sin(np.pi * dt / tp_), 0.0)
    closing_t = dt - tp_
    closing = np.where(
        (closing_t >= 0) & (closing_t < tn_), -(np.pi / (2 * tn_)) * np.sin(np.pi * closing_t / (2 * tn_)), 0.0
    )
    out = np.zeros(n)
    scatter_add(out, starts, amps[:, None] * (opening + closing) * pp[:, None])
    return out


def _klatt_response(freqs: np.ndarray, bws: np.ndarray, sr: float, w: np.ndarray) -> np.ndarray:
    """|H| of a cascade of Klatt resonators (unity gain at DC) per frame.

    freqs/bws: (frames, formants); w: (bins,) radian frequencies; returns (frames, bins).  Magnitude only:
    the node's features are band powers, and a zero-phase frame filter avoids a complex exp per bin.
    """
    tt = 1.0 / sr
    c = -np.exp(-2 * np.pi * bws * tt)
    b = 2 * np.exp(-np.pi * bws * tt) * np.cos(2 * np.pi * np.minimum(freqs, 0.45 * sr) * tt)
    # |1 - b e^{-jw} - c e^{-2jw}|^2 = (1 + b^2 + c^2) - 2b(1 - c) cos w - 2c cos 2w
    k = np.stack([1 + b * b + c * c, -2 * b * (1 - c), -2 * c], axis=-1)  # (frames, formants, 3)
    basis = np.stack([np.ones_like(w), np.cos(w), np.cos(2 * w)])  # (3, bins)
    den2 = np.prod(k @ basis, axis=1)
    return np.asarray(np.prod(np.abs(1 - b - c), axis=1)[:, None] / np.sqrt(den2))


def _noise_response(fc: np.ndarray, bw: np.ndarray, sr: float, w: np.ndarray) -> np.ndarray:
    """|H| of a peak-normalised two-pole band-pass per frame: (frames,) -> (frames, bins)."""
    r = np.exp(-np.pi * bw / sr)[:, None]
    th = (2 * np.pi * np.minimum(fc, 0.45 * sr) / sr)[:, None]
    a1, a2 = -2 * r * np.cos(th), r * r
    num = np.abs(2 * np.sin(w))[None, :] * (1 - r * r) / 2
    den2 = (1 + a1 * np.cos(w) + a2 * np.cos(2 * w)) ** 2 + (a1 * np.sin(w) + a2 * np.sin(2 * w)) ** 2
    return np.asarray(num / np.sqrt(den2))


def synthesize_speech(
    rng: np.random.Generator, n: int, sr: float, speaker: Speaker | None = None, start_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """n samples of speech-like sound; returns (signal with unit RMS over speech, active intervals, meta)."""
    speaker = speaker or draw_speaker(rng)
    dur = n / sr
    n_frames = int(np.ceil(dur / FRAME_S)) + 1
    neutral = np.zeros(_NPARAM)
    neutral[_F], neutral[_B] = [500, 1500, 2500, 3500, 4500], [70, 100, 160, 250, 300]
    neutral[_FF], neutral[_FB] = 4000, 2000
    keys: list[tuple[float, np.ndarray]] = [(0.0, neutral)]
    phrases: list[Phrase] = []
    t = start_s
    while t < dur:
        n_syll = int(rng.integers(3, 13))
        p_start = t
        accents = []
        for _ in range(n_syll):
            sdur = float(rng.uniform(0.7, 1.3)) / speaker.rate_syll_s
            stressed = rng.random() < 0.35
            if stressed:
                accents.append(t + sdur / 2)
            keys += _syllable_keys(rng, speaker, t, sdur, stressed)
            t += sdur
        phrases.append((p_start, t, accents, rng.random() < 0.2))
        t += float(rng.uniform(0.15, 0.6))
    keys.sort(key=lambda kv: kv[0])
    kt = np.array([k[0] for k in keys])
    kv = np.stack([k[1] for k in keys])
    ft = np.arange(n_frames) * FRAME_S
    params = np.stack([np.interp(ft, kt, kv[:, j]) for j in range(_NPARAM)], axis=1)

    f0 = _f0_contour(rng, speaker, n_frames, phrases)
    sample_t = np.arange(n) / sr
    av = np.interp(sample_t, ft, params[:, _AV])
    ah = np.interp(sample_t, ft, params[:, _AH])
    af = np.interp(sample_t, ft, params[:, _AF])
    voiced_src = normalize_rms(_glottal_source(rng, speaker, f0, n, sr)) * av
    voiced_src += rng.standard_normal(n) * ah * 0.3
    fric_src = rng.standard_normal(n) * af

    nfft, hop = 512, 128
    n_stft = int(np.ceil(n / hop)) + 1
    centres = np.minimum(np.arange(n_stft) * hop / sr / FRAME_S, n_frames - 1)
    p = np.stack([np.interp(centres, np.arange(n_frames), params[:, j]) for j in range(_NPARAM)], axis=1)
    w = 2 * np.pi * np.fft.rfftfreq(nfft)
    tract = stft_filter(voiced_src, _klatt_response(p[:, _F], p[:, _B], sr, w), nfft, hop)
    fric = stft_filter(fric_src, _noise_response(p[:, _FF], p[:, _FB], sr, w), nfft, hop)
    tract = np.diff(tract, prepend=tract[0])  # lip radiation, +6 dB/octave
    tract = normalize_rms(tract)
    fric = normalize_rms(fric) * 10 ** (rng.uniform(-14, -6) / 20) if rms(fric) > 0 else fric
    out = tract + fric
    intervals = np.array([(p[0], min(p[1], dur)) for p in phrases if p[0] < dur], dtype=float).reshape(-1, 2)
    active = np.zeros(n, dtype=bool)
    for a, b in intervals:
        active[int(a * sr) : int(b * sr)] = True
    scale = rms(out[active]) if active.any() else rms(out)
    out = out / scale if scale > 0 else out
    meta = {"speaker": speaker.describe(), "phrases": len(phrases)}
    return out, intervals, meta
