"""Appliance beeps, doorbells and door knocks.

* Appliance beeps: piezo buzzers 1–5 kHz (driven pulse wave through a low-Q resonance, so harmonics), plain
  tone generators, single/repeated beeps 0.05–1 s (microwave/oven end, fridge-door reminder every 1–2 s,
  keypad clicks of 30–80 ms), end-of-cycle melodies of 3–8 notes (washing machine, dishwasher) and
  electromechanical buzzers (AC-driven: 2x mains = 100/120 Hz rattle with a rich harmonic series).
* Doorbells: mechanical "ding-dong" chimes are solenoid-struck free-free metal bars whose partials follow the
  Euler–Bernoulli free-free ratios 1 : 2.756 : 5.404 : 8.933, tuned around E5/C5 (a major third apart, ding
  600–700 Hz, dong / 1.26), with T60 decays of 1–3 s (shorter for the higher partials) and a strike click;
  electronic chimes play Westminster changes, 2–3-tone chimes or short pentatonic tunes with a synthetic
  bell timbre through a small speaker (300 Hz – 6 kHz); AC buzzers 100/120 Hz.
* Knocks: knuckles (contact 0.5–3 ms, half-sine force pulse) or a fist (4–10 ms) on a door modelled as a set of
  damped plate modes, most between 100 and 1000 Hz (a few weaker up to 3 kHz), damping ratios 1–6 %; 2–6
  knocks with human timing (intervals 0.12–0.3 s, ±10 % jitter), sometimes two groups, level varying ±3 dB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dsp import butter_sos, damped_sines, sosfilt
from .shared import Rendered, finish, harmonic_tone

BAR_RATIOS = np.array([1.0, 2.756, 5.404, 8.933])
WESTMINSTER_CHANGES = ([4, 2, 0, -5], [0, 4, 2, -5], [0, 2, 4, 0], [4, 0, 2, -5], [-5, 2, 4, 0])


def _piezo_harmonics(rng: np.random.Generator, f0: float, sr: float) -> list[tuple[int, float]]:
    duty = rng.uniform(0.2, 0.5)
    q = rng.uniform(1.0, 5.0)
    ks = np.arange(1, int((sr / 2) // f0) + 1)
    drive = (2 / (ks * np.pi)) * np.abs(np.sin(ks * np.pi * duty))
    reson = 1 / np.sqrt(1 + q * q * (ks - 1 / ks) ** 2)
    amps = drive * reson
    return [(int(k), float(a / amps[0])) for k, a in zip(ks, amps, strict=True) if a / amps[0] > 1e-3]


def appliance_beep(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    kind = str(rng.choice(["beeps", "melody", "buzzer", "keypress"], p=[0.5, 0.2, 0.1, 0.2]))
    dur = n / sr
    out = np.zeros(n)
    intervals: list[tuple[float, float]] = []
    meta: dict[str, Any] = {"kind": kind}
    t0 = float(rng.uniform(0.0, min(1.0, dur * 0.3)))
    if kind in ("beeps", "keypress"):
        f0 = float(np.exp(rng.uniform(np.log(1000), np.log(5000))))
        harm = _piezo_harmonics(rng, f0, sr) if rng.random() < 0.7 else [(1, 1.0)]
        if kind == "beeps":
            count, on = int(rng.integers(1, 6)), float(rng.uniform(0.05, 1.0))
            gap, repeat = float(rng.uniform(0.05, 0.6)), float(rng.uniform(1.0, 10.0))
        else:
            count, on = int(rng.integers(1, 5)), float(rng.uniform(0.03, 0.08))
            gap, repeat = float(rng.uniform(0.15, 0.8)), float(rng.uniform(1.5, 6.0))
        meta.update(f0=f0, harmonics=harm, count=count, on_s=on, gap_s=gap, repeat_s=repeat)
        t = t0
        while t < dur:
            for _ in range(count):
                j = gap * rng.uniform(0.8, 1.2) if kind == "keypress" else gap
                intervals.append((t, t + on))
                t += on + j
            t += repeat
    elif kind == "melody":
        base = float(np.exp(rng.uniform(np.log(800), np.log(2500))))
        scale = np.array([0, 2, 4, 7, 9, 12, 14, 16])
        notes = base * 2 ** (rng.choice(scale, size=int(rng.integers(3, 9))) / 12)
        note_s = float(rng.uniform(0.1, 0.4))
        harm = _piezo_harmonics(rng, base, sr) if rng.random() < 0.6 else [(1, 1.0)]
        meta.update(notes_hz=notes, note_s=note_s, harmonics=harm)
        t = t0
        for f in notes:
            seg = (t, t + note_s * 0.85)
            if seg[0] < dur:
                out += harmonic_tone(
                    n, sr, float(f), [(k, a) for k, a in harm if k * f < sr / 2], seg, rng, 0.004, 0.02
                )
                intervals.append(seg)
            t += note_s
        return finish(out, intervals, sr, meta)
    else:  # buzzer
        f0 = float(rng.choice([100.0, 120.0])) if rng.random() < 0.7 else float(rng.uniform(200, 400))
        ks = np.arange(1, int((sr / 2) // f0) + 1)
        amps = (1 / ks) * np.exp(rng.normal(0, 0.5, size=len(ks)))
        harm = [(int(k), float(a)) for k, a in zip(ks, amps, strict=True)]
        on = float(rng.uniform(0.3, 2.0))
        meta.update(f0=f0, on_s=on)
        t = t0
        while t < dur:
            intervals.append((t, t + on))
            t += on + float(rng.uniform(0.3, 3.0))
        for seg in intervals:
            out += harmonic_tone(n, sr, f0, harm, seg, rng, 0.005, 0.01)
        return finish(out, intervals, sr, meta)
    for seg in intervals:
        if seg[0] < dur:
            out += harmonic_tone(n, sr, f0, [(k, a) for k, a in harm if k * f0 < sr / 2], seg, rng, 0.002, 0.004)
    return finish(out, [s for s in intervals if s[0] < dur], sr, meta)


def _bell_note(
    out: np.ndarray, sr: float, t: float, f0: float, ratios: np.ndarray, amps: np.ndarray, t60: np.ndarray
) -> None:
    for r, a, d in zip(ratios, amps, t60, strict=True):
        if f0 * r < sr / 2 * 0.95:
            damped_sines(out, sr, np.array([t]), np.array([a]), f0 * r, d / 6.9, max_len_s=min(d, 4.0))


def doorbell(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    kind = str(rng.choice(["mechanical", "electronic", "buzzer"], p=[0.4, 0.45, 0.15]))
    dur = n / sr
    out = np.zeros(n)
    t0 = float(rng.uniform(0.0, min(1.0, dur * 0.25)))
    intervals: list[tuple[float, float]] = []
    meta: dict[str, Any] = {"kind": kind}
    if kind == "mechanical":
        ding = float(rng.uniform(600, 700))
        dong = ding / float(rng.uniform(1.22, 1.30))
        amps = np.array([1.0, rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.4), rng.uniform(0.05, 0.2)])
        t60_f = float(rng.uniform(1.0, 3.0))
        t60 = t60_f / BAR_RATIOS ** rng.uniform(0.5, 1.0)
        gap = float(rng.uniform(0.3, 0.8))
        meta.update(ding_hz=ding, dong_hz=dong, partial_ratios=BAR_RATIOS, t60_s=t60, gap_s=gap)
        strikes = [(t0, ding), (t0 + gap, dong)] if rng.random() < 0.85 else [(t0, ding)]
        for ts, f in strikes:
            _bell_note(out, sr, ts, f, BAR_RATIOS, amps * rng.uniform(0.8, 1.2), t60)
            click = np.zeros(n)
            i = int(ts * sr)
            m = int(rng.uniform(0.003, 0.01) * sr)
            click[i : i + m] = rng.standard_normal(min(m, n - i)) * np.hanning(m)[: min(m, n - i)] * 0.3
            out += sosfilt(butter_sos(2, (800.0, 6000.0), sr, "bandpass"), click)
            intervals.append((ts, min(ts + t60_f, dur)))
    elif kind == "electronic":
        style = str(rng.choice(["westminster", "two_tone", "three_tone", "tune"]))
        base = float(np.exp(rng.uniform(np.log(400), np.log(1200))))
        if style == "westminster":
            first = int(rng.integers(0, len(WESTMINSTER_CHANGES)))
            semis = [*WESTMINSTER_CHANGES[first], *WESTMINSTER_CHANGES[(first + 1) % len(WESTMINSTER_CHANGES)]]
        elif style == "two_tone":
            semis = [0, -int(rng.choice([3, 4, 5, 7]))]
        elif style == "three_tone":
            semis = [0, -int(rng.choice([3, 4])), -7]
        else:
            semis = list(rng.choice([0, 2, 4, 7, 9, 12], size=int(rng.integers(3, 7))))
        step = float(rng.uniform(0.3, 0.7))
        inharm = float(rng.uniform(0.0, 0.02))
        ratios = np.array([1.0, 2.0 + inharm, 3.0 + 3 * inharm, 4.2])
        amps = np.array([1.0, rng.uniform(0.2, 0.6), rng.uniform(0.05, 0.3), rng.uniform(0.0, 0.15)])
        t60 = float(rng.uniform(0.5, 2.0)) / ratios**0.7
        meta.update(style=style, base_hz=base, semitones=semis, step_s=step, t60_s=t60)
        for i, sm in enumerate(semis):
            ts = t0 + i * step
            if ts < dur:
                _bell_note(out, sr, ts, base * 2 ** (sm / 12), ratios, amps, t60)
        intervals.append((t0, min(dur, t0 + len(semis) * step + float(t60[0]) * 0.5)))
        out = sosfilt(butter_sos(2, (300.0, 6000.0), sr, "bandpass"), out)
    else:
        f0 = float(rng.choice([100.0, 120.0]))
        ks = np.arange(1, int((sr / 2) // f0) + 1)
        harm = [
            (int(k), float(a)) for k, a in zip(ks, (1 / ks**0.8) * np.exp(rng.normal(0, 0.5, len(ks))), strict=True)
        ]
        t = t0
        for _ in range(int(rng.integers(1, 3))):
            seg = (t, min(dur, t + float(rng.uniform(0.5, 2.0))))
            if seg[0] < dur:
                out += harmonic_tone(n, sr, f0, harm, seg, rng, 0.005, 0.01)
                intervals.append(seg)
            t = seg[1] + float(rng.uniform(0.3, 1.0))
        meta.update(f0=f0)
    return finish(out, intervals, sr, meta)


def knock(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    dur = n / sr
    n_modes = int(rng.integers(6, 16))
    freqs = np.exp(rng.uniform(np.log(100), np.log(1000), size=n_modes))
    extra = np.exp(rng.uniform(np.log(1000), np.log(3000), size=int(rng.integers(1, 4))))
    freqs = np.concatenate([freqs, extra])
    gains = np.concatenate([rng.uniform(0.3, 1.0, n_modes), rng.uniform(0.05, 0.3, len(extra))])
    zeta = rng.uniform(0.01, 0.06, size=len(freqs))
    fist = rng.random() < 0.25
    contact = float(rng.uniform(0.004, 0.01) if fist else rng.uniform(0.0005, 0.003))
    # spectrum of a half-sine force pulse of length T falls off above ~1/T: weight modes by it
    x = freqs * contact
    pulse_gain = np.abs(np.cos(np.pi * x) / np.maximum(np.abs(1 - 4 * x * x), 1e-3))
    groups = [int(rng.integers(2, 7))] if rng.random() < 0.7 else [int(rng.integers(2, 4)), int(rng.integers(2, 4))]
    interval = float(rng.uniform(0.12, 0.3))
    t = float(rng.uniform(0.05, min(1.0, dur * 0.3)))
    times, levels = [], []
    for gi, count in enumerate(groups):
        for _ in range(count):
            times.append(t)
            levels.append(10 ** (rng.uniform(-3, 3) / 20))
            t += interval * rng.uniform(0.9, 1.1)
        if gi < len(groups) - 1:
            t += float(rng.uniform(0.3, 0.9))
    times_a = np.array([x for x in times if x < dur])
    levels_a = np.array(levels[: len(times_a)])
    out = np.zeros(n)
    for f, g, z, pg in zip(freqs, gains, zeta, pulse_gain, strict=True):
        decay = 1 / (2 * np.pi * f * z)
        damped_sines(out, sr, times_a, levels_a * g * pg, float(f), float(decay), max_len_s=min(6 * decay, 0.6))
    # knuckle contact click: a very short broadband burst
    if not fist:
        click = np.zeros(n)
        for tk, lv in zip(times_a, levels_a, strict=True):
            i = int(tk * sr)
            m = max(2, int(contact * sr))
            click[i : i + m] += lv * 0.1 * rng.standard_normal(min(m, n - i))
        out += sosfilt(butter_sos(2, (1500.0, 5000.0), sr, "bandpass"), click)
    intervals = [(float(a), float(min(dur, a + 0.15))) for a in times_a]
    meta = {
        "kind": "fist" if fist else "knuckle",
        "knocks": len(times_a),
        "groups": groups,
        "interval_s": interval,
        "contact_s": contact,
        "mode_hz": freqs,
        "mode_damping": zeta,
    }
    return finish(out, intervals, sr, meta)
