"""Background sounds of a home and the interferers mixed in at a chosen SNR.

Each generator returns a continuous Rendered at unit RMS (silence returns zeros).  Physical anchors:
fans/HVAC blade-pass frequency = blades x shaft rpm / 60 plus harmonics over broadband flow noise;
fridge compressors are 2-pole induction motors turning at 48–49.5 Hz (50 Hz mains) or 58–59.5 Hz (60 Hz)
with 2x-mains magnetic hum; mains pickup is 50/60 Hz with mostly odd harmonics; vacuum cleaner motors spin at
30–45 krpm (500–750 Hz) with an impeller of 7–13 blades; traffic is low-passed (brown) rumble with passing
vehicles' tyre noise (0.6–1.5 kHz) swelling over 2–6 s; rain is a Poisson stream of short resonant droplet
clicks (2–8 kHz) over a pink roar; kitchen clatter is random impacts of ceramic/metal objects (inharmonic modes
1–8 kHz, 10–300 ms decays) and thuds; music is chords of harmonic tones with a bass line and optional drums;
TV speech is the formant synthesizer through a small speaker (high-pass 120–250 Hz, low-pass 5–7.5 kHz) with
broadcast-style compression.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from ..dsp import (
    butter_sos,
    colored_noise,
    damped_sines,
    db_to_amp,
    harmonic_table,
    normalize_rms,
    phase_from_freq,
    shaped_noise,
    smooth_random,
    sosfilt,
)
from .shared import Rendered, continuous
from .speech import draw_speaker, synthesize_speech


class SpeechPool:
    """A few seconds of several synthetic voices, rendered once and cropped for babble (cheap per use)."""

    def __init__(self, rng: np.random.Generator, sr: float, voices: int = 12, seconds: float = 6.0) -> None:
        self.sr = sr
        self.clips = [synthesize_speech(rng, int(seconds * sr), sr)[0] for _ in range(voices)]

    def voice(self, rng: np.random.Generator, n: int) -> np.ndarray:
        clip = self.clips[int(rng.integers(len(self.clips)))]
        reps = int(np.ceil((n + len(clip)) / len(clip)))
        tiled = np.tile(clip, reps)
        start = int(rng.integers(len(clip)))
        return tiled[start : start + n]


def _tone_series(n: int, sr: float, f0: np.ndarray | float, amps: list[float], rng: np.random.Generator) -> np.ndarray:
    freq = np.broadcast_to(np.asarray(f0, dtype=float), (n,))
    phi = phase_from_freq(freq, sr, rng.uniform(0, 2 * np.pi))
    top = float(np.max(freq))
    parts = [(k, a, float(rng.uniform(0, 2 * np.pi))) for k, a in enumerate(amps, start=1)]
    return harmonic_table(phi, [(k, a, p) for k, a, p in parts if k * top < sr / 2])


def _hump(peak: float, width_oct: float, slope_db_oct: float) -> Callable[[np.ndarray], np.ndarray]:
    def mag(f: np.ndarray) -> np.ndarray:
        ff = np.maximum(f, 20.0)
        octs = np.log2(ff / peak)
        base = np.where(octs > 0, 10 ** (-slope_db_oct * octs / 20), 10 ** (2 * slope_db_oct * octs / 20))
        return np.asarray(base * (1 + np.exp(-0.5 * (octs / width_oct) ** 2)))

    return mag


def room_tone(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    lp = float(rng.uniform(2000, 6000))
    x = sosfilt(butter_sos(2, lp, sr, "lowpass"), colored_noise(rng, n, sr, 1.0))
    x = x + db_to_amp(rng.uniform(-6, 6)) * colored_noise(rng, n, sr, 2.0, f_min=20.0)
    return continuous(x, sr, {"kind": "room_tone", "lowpass_hz": lp})


def fan_like(rng: np.random.Generator, n: int, sr: float, kind: str) -> Rendered:
    line = float(rng.choice([50.0, 60.0]))
    if kind == "hvac":
        blades, rpm = int(rng.integers(4, 13)), float(rng.uniform(600, 1800))
    else:
        blades, rpm = int(rng.integers(3, 6)), float(rng.uniform(900, 1400))
    bpf = blades * rpm / 60
    wobble = 1 + 0.01 * smooth_random(rng, n, sr, 0.5)
    tones = _tone_series(n, sr, bpf * wobble, [1.0, float(rng.uniform(0.2, 0.6)), float(rng.uniform(0.05, 0.3))], rng)
    flow = shaped_noise(rng, n, sr, _hump(float(rng.uniform(150, 1000)), 1.0, float(rng.uniform(3, 6))))
    hum = _tone_series(n, sr, 2 * line, [1.0, 0.3], rng)
    x = (
        flow
        + db_to_amp(rng.uniform(-18, -4)) * normalize_rms(tones)
        + db_to_amp(rng.uniform(-35, -15)) * normalize_rms(hum)
    )
    return continuous(x, sr, {"kind": kind, "blades": blades, "rpm": rpm, "blade_pass_hz": bpf, "mains_hz": line})


def fridge(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    line = float(rng.choice([50.0, 60.0]))
    rot = line * float(rng.uniform(0.96, 0.99))
    amps = [float(a) for a in np.exp(rng.normal(0, 0.6, 8)) / np.arange(1, 9)]
    comp = _tone_series(n, sr, rot, amps, rng)
    hum = _tone_series(n, sr, 2 * line, [1.0, 0.2, 0.1], rng)
    hiss = sosfilt(butter_sos(2, (200.0, 3000.0), sr, "bandpass"), rng.standard_normal(n))
    x = (
        normalize_rms(comp)
        + db_to_amp(rng.uniform(-12, 0)) * normalize_rms(hum)
        + db_to_amp(rng.uniform(-25, -10)) * normalize_rms(hiss)
    )
    return continuous(x, sr, {"kind": "fridge", "mains_hz": line, "compressor_hz": rot})


def mains_hum(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    line = float(rng.choice([50.0, 60.0]))
    amps = [
        1.0,
        float(rng.uniform(0, 0.1)),
        float(rng.uniform(0.1, 0.5)),
        float(rng.uniform(0, 0.05)),
        float(rng.uniform(0.05, 0.3)),
        0.0,
        float(rng.uniform(0.02, 0.2)),
    ]
    hum = _tone_series(n, sr, line, amps, rng)
    x = normalize_rms(hum) + db_to_amp(rng.uniform(-10, 10)) * room_tone(rng, n, sr).signal
    return continuous(x, sr, {"kind": "mains_hum", "mains_hz": line})


def traffic(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    dur = n / sr
    rumble = sosfilt(
        butter_sos(2, float(rng.uniform(300, 800)), sr, "lowpass"), colored_noise(rng, n, sr, 2.0, f_min=20.0)
    )
    tyre = sosfilt(butter_sos(2, (600.0, 1500.0), sr, "bandpass"), rng.standard_normal(n))
    t = np.arange(n) / sr
    passes = rng.uniform(-3, dur + 3, size=rng.poisson(float(rng.uniform(0.05, 0.5)) * (dur + 6)))
    env = np.full(n, 0.2)
    for c in passes:
        width = float(rng.uniform(1.0, 3.0))
        lo, hi = max(0, int((c - 4 * width) * sr)), min(n, int((c + 4 * width) * sr))
        if hi > lo:
            env[lo:hi] += np.exp(-0.5 * ((t[lo:hi] - c) / width) ** 2) * rng.uniform(0.3, 1.0)
    x = normalize_rms(rumble) * (0.5 + env) + db_to_amp(rng.uniform(-12, -3)) * normalize_rms(tyre) * env
    return continuous(x, sr, {"kind": "traffic", "passes": len(passes)})


def babble(rng: np.random.Generator, n: int, sr: float, pool: SpeechPool) -> Rendered:
    k = int(rng.integers(3, 13))
    x = np.zeros(n)
    for _ in range(k):
        x += db_to_amp(rng.uniform(-6, 0)) * pool.voice(rng, n)
    lp = float(rng.uniform(3000, 6000))
    x = sosfilt(butter_sos(2, lp, sr, "lowpass"), x)
    return continuous(x, sr, {"kind": "babble", "voices": k, "lowpass_hz": lp})


def clock(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    dur = n / sr
    rate = float(rng.choice([1.0, 2.0]))
    times = np.arange(rng.uniform(0, 1 / rate), dur, 1 / rate)
    x = np.zeros(n)
    for f in rng.uniform(2000, 6000, size=3):
        amps = np.where(np.arange(len(times)) % 2 == 0, 1.0, rng.uniform(0.5, 0.9))
        damped_sines(x, sr, times, amps * rng.uniform(0.3, 1.0), float(f), float(rng.uniform(0.001, 0.004)))
    x = normalize_rms(x) + db_to_amp(rng.uniform(-25, -10)) * room_tone(rng, n, sr).signal
    return continuous(x, sr, {"kind": "clock", "ticks_per_s": rate})


def vacuum(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    rotor = float(rng.uniform(30000, 45000)) / 60
    blades = int(rng.integers(7, 14))
    wob = 1 + 0.003 * smooth_random(rng, n, sr, 1.0)
    whine = _tone_series(n, sr, rotor * wob, [1.0, 0.5, 0.3, 0.2], rng)
    bpf = blades * rotor
    blade = _tone_series(n, sr, bpf * wob, [1.0], rng) if bpf < sr / 2 else np.zeros(n)
    flow = shaped_noise(rng, n, sr, _hump(float(rng.uniform(1000, 4000)), 1.5, 3.0))
    x = flow + db_to_amp(rng.uniform(-15, -5)) * normalize_rms(whine)
    if blade.any():
        x += db_to_amp(rng.uniform(-20, -8)) * normalize_rms(blade)
    return continuous(x, sr, {"kind": "vacuum", "rotor_hz": rotor, "blades": blades, "blade_pass_hz": bpf})


def kitchen_clatter(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    dur = n / sr
    count = rng.poisson(float(rng.uniform(0.5, 4.0)) * dur) + 1
    x = np.zeros(n)
    for t in rng.uniform(0, dur, size=count):
        metal = rng.random() < 0.4
        level = db_to_amp(rng.uniform(-10, 0))
        for f in np.exp(rng.uniform(np.log(1000), np.log(min(8000.0, 0.45 * sr)), size=int(rng.integers(3, 9)))):
            decay = float(rng.uniform(0.05, 0.3) if metal else rng.uniform(0.01, 0.06)) / 6.9
            damped_sines(x, sr, np.array([t]), np.array([level * rng.uniform(0.2, 1.0)]), float(f), decay)
        if rng.random() < 0.2:
            damped_sines(x, sr, np.array([t]), np.array([level * 2]), float(rng.uniform(100, 300)), 0.02)
    x = normalize_rms(x) + db_to_amp(rng.uniform(-30, -15)) * room_tone(rng, n, sr).signal
    return continuous(x, sr, {"kind": "kitchen_clatter", "impacts": count})


def rain(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    rate = float(rng.uniform(500, 5000))
    x = np.zeros(n)
    for f in rng.uniform(2000, min(8000.0, 0.45 * sr), size=4):
        imp = np.zeros(n)
        k = rng.poisson(rate / 4 * n / sr)
        idx = rng.integers(0, n, size=k)
        np.add.at(imp, idx, rng.pareto(2.5, size=k) + 0.1)
        decay = float(rng.uniform(0.0005, 0.003))
        tt = np.arange(int(6 * decay * sr)) / sr
        kernel = np.exp(-tt / decay) * np.sin(2 * np.pi * f * tt)
        x += signal.oaconvolve(imp, kernel)[:n]
    x = normalize_rms(x) + db_to_amp(rng.uniform(-12, 0)) * colored_noise(rng, n, sr, 1.0)
    return continuous(x, sr, {"kind": "rain", "drops_per_s": rate})


def music(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    dur = n / sr
    bpm = float(rng.uniform(70, 140))
    beat = 60 / bpm
    key = 220 * 2 ** (int(rng.integers(0, 12)) / 12)
    progression = [[0, 4, 7], [5, 9, 12], [7, 11, 14], [-3, 0, 4]]
    order = rng.permutation(len(progression))
    rolloff = float(rng.uniform(1.0, 2.0))
    amps = [float(k**-rolloff) for k in range(1, 9)]
    sustained = rng.random() < 0.5
    x = np.zeros(n)
    t = 0.0
    i = 0
    while t < dur:
        chord = progression[order[i % len(order)]]
        seg_n = int(min(2 * beat, dur - t) * sr)
        i0 = int(t * sr)
        tt = np.arange(seg_n) / sr
        env = np.ones(seg_n) if sustained else np.exp(-tt / rng.uniform(0.3, 1.0))
        for semi in [*chord, chord[0] - 12]:
            f = key * 2 ** (semi / 12)
            harm = [(k, a, 0.0) for k, a in enumerate(amps, start=1) if k * f < sr / 2]
            tone = harmonic_table(2 * np.pi * f * tt, harm)
            x[i0 : i0 + seg_n] += tone * env[:seg_n] * (1.5 if semi == chord[0] - 12 else 1.0)
        t += 2 * beat
        i += 1
    drums = rng.random() < 0.6
    if drums:
        beats = np.arange(0, dur, beat)
        kick = np.zeros(n)
        damped_sines(kick, sr, beats[::2], np.full(len(beats[::2]), 3.0), float(rng.uniform(50, 80)), 0.05)
        hats = np.zeros(n)
        for t8 in np.arange(0, dur, beat / 2):
            i0 = int(t8 * sr)
            m = min(n - i0, int(0.03 * sr))
            hats[i0 : i0 + m] += rng.standard_normal(m) * np.exp(-np.arange(m) / (0.006 * sr))
        x = (
            normalize_rms(x)
            + normalize_rms(kick) * 0.7
            + normalize_rms(sosfilt(butter_sos(2, 6000.0, sr, "highpass"), hats)) * 0.3
        )
    return continuous(x, sr, {"kind": "music", "bpm": bpm, "key_hz": key, "drums": drums})


def compress(x: np.ndarray, sr: float, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """Broadcast-style RMS compression (50 ms smoothing, ratio 3–6 above a threshold 6–18 dB under the peak RMS)."""
    a = np.exp(-1 / (0.05 * sr))
    power = signal.lfilter([1 - a], [1, -a], x * x)
    level_db = 10 * np.log10(np.maximum(power, 1e-12))
    thr = float(level_db.max() - rng.uniform(6, 18))
    ratio = float(rng.uniform(3, 6))
    gain_db = np.where(level_db > thr, (thr - level_db) * (1 - 1 / ratio), 0.0)
    return x * 10 ** (gain_db / 20), {"threshold_db": thr, "ratio": ratio}


def tv_speech(rng: np.random.Generator, n: int, sr: float, pool: SpeechPool | None = None) -> Rendered:
    """TV/radio speech; with a pool (speech as interference) voices are cropped from it instead of synthesised."""
    if pool is not None:
        x, meta = normalize_rms(pool.voice(rng, n)), {"from_pool": True}
    else:
        x, _, meta = synthesize_speech(rng, n, sr)
    if rng.random() < 0.4:  # a second speaker answering (a dialogue)
        if pool is not None:
            y = normalize_rms(pool.voice(rng, n))
        else:
            y, _, _ = synthesize_speech(rng, n, sr, draw_speaker(rng), start_s=float(rng.uniform(0.5, 2.0)))
        x = x + db_to_amp(rng.uniform(-6, 0)) * y
    hp, lp = float(rng.uniform(120, 250)), float(rng.uniform(5000, 7500))
    x = sosfilt(butter_sos(2, (hp, lp), sr, "bandpass"), x)
    x, comp = compress(x, sr, rng)
    bed = rng.random() < 0.3
    if bed:
        x = normalize_rms(x) + db_to_amp(rng.uniform(-20, -10)) * music(rng, n, sr).signal
    return continuous(
        x, sr, {"kind": "tv_speech", "speech": meta, "band_hz": [hp, lp], "compression": comp, "music_bed": bed}
    )


def plain_noise(rng: np.random.Generator, n: int, sr: float, color: str) -> Rendered:
    exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0}[color]
    return continuous(colored_noise(rng, n, sr, exponent, f_min=20.0), sr, {"kind": color})


BACKGROUND_KINDS = ("room_tone", "hvac", "fan", "fridge", "traffic", "babble", "mains_hum", "silence", "clock", "rain")
NOISE_KINDS = (
    "babble", "music", "tv_speech", "fan", "hvac", "vacuum", "kitchen_clatter", "pink", "brown", "white", "rain",
    "traffic", "fridge", "room_tone",
)  # fmt: skip


def render_ambient(kind: str, rng: np.random.Generator, n: int, sr: float, pool: SpeechPool) -> Rendered:
    if kind == "silence":
        return Rendered(np.zeros(n), np.array([[0.0, n / sr]]), {"kind": "silence"})
    if kind in ("hvac", "fan"):
        return fan_like(rng, n, sr, kind)
    if kind == "babble":
        return babble(rng, n, sr, pool)
    if kind == "tv_speech":
        return tv_speech(rng, n, sr, pool)
    if kind in ("white", "pink", "brown"):
        return plain_noise(rng, n, sr, kind)
    simple: dict[str, Callable[[np.random.Generator, int, float], Rendered]] = {
        "room_tone": room_tone,
        "fridge": fridge,
        "mains_hum": mains_hum,
        "traffic": traffic,
        "clock": clock,
        "vacuum": vacuum,
        "kitchen_clatter": kitchen_clatter,
        "rain": rain,
        "music": music,
    }
    return simple[kind](rng, n, sr)
