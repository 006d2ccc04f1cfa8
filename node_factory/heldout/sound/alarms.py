"""Smoke (temporal-three) and CO (temporal-four) alarm signals from their standards and sounder physics.

Timing
------
* Temporal-three (T3), ISO 8201:1987 "Audible emergency evacuation signal", ANSI/ASA S3.41-1990 (R2008),
  required for smoke alarms and fire evacuation by NFPA 72 (2010+ §18.4.2) and UL 217: three "on" phases of
  0.5 s ± 10 % separated by "off" phases of 0.5 s ± 10 %, then an "off" phase of 1.5 s ± 10 % (cycle 4.0 s).
  The same numbers, written as 0.5 ± 0.05 s and 1.5 ± 0.15 s, are in the National Building Code of Canada,
  appendix note A-3.2.4.18.(2).
* Temporal-four (T4) for CO alarms, UL 2034 and NFPA 720 (2009+; carried into NFPA 72 2019+ for CO
  signalling): four "on" phases of 100 ms ± 10 % separated by 100 ms ± 10 % "off", then 5 s ± 10 % off
  (cycle 5.8 s; an X-Sense CO manual describes exactly "4 short beeps, repeating every 5.8 seconds").
  EN 50291-1 (Europe) does not fix the pattern; the many European devices that adopt T4 are what is
  modelled here.  The T4 tolerances above are quoted from memory of
  UL 2034 / NFPA 720 and corroborated by the 5.8 s cycle in manuals, not checked against the standard's text.

Every rendered device draws one clock factor (an RC or ceramic oscillator, ±5 %), a per-phase trim (±2 %)
and a per-pulse jitter (±0.5 %), so every on/off phase stays within the ±10 % tolerance.

Sounders
--------
* Piezo horns: 2.9–3.6 kHz, typically 3.1–3.3 kHz (smoke/CO alarm sounders are tuned to ~3.1–3.2 kHz; the
  spread is manufacturing tolerance of the disc and the Helmholtz cavity).  The disc is driven by a square-ish
  pulse wave (duty 0.35–0.5; a duty away from 0.5 gives even harmonics) and its acoustic output is the drive
  spectrum weighted by the transducer: a broad fundamental resonance (Q 2–6, the horn's acoustic loading) and a
  second bending mode at 2–3.2x with its own gain, plus a small diaphragm nonlinearity (2nd harmonic).  The
  frequency drifts a little within a pulse (supply sag, heating: ±0.2–1.5 %) and may warble (0–0.8 % at
  4–25 Hz).  Attack/release are the resonator's ring-up/down, 0.3–3 ms.  Harmonics above Nyquist fold back
  (sin(k·phi) sampled on the grid aliases by itself) but are attenuated by the microphone's decimation filter
  (alias_rejection_db, drawn per microphone).
* Low-frequency sounder: NFPA 72 (2010+) §18.4.5.3 (§18.4.6.3 in 2013+ numbering) for sleeping areas requires a
  square wave (or equivalent) with a fundamental of 520 Hz ± 10 %.  Rendered as a square wave (duty 0.48–0.52)
  through a small loudspeaker: 2nd-order high-pass at its resonance (250–400 Hz), a cone break-up peak
  (2–5 kHz, +2..+8 dB) and a roll-off above 4–8 kHz.  Odd harmonics dominate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..dsp import harmonic_table, phase_from_freq
from .shared import Rendered, finish

T3_ON_S, T3_OFF_S, T3_LONG_OFF_S, T3_PULSES = 0.5, 0.5, 1.5, 3
T4_ON_S, T4_OFF_S, T4_LONG_OFF_S, T4_PULSES = 0.1, 0.1, 5.0, 4
TIMING_TOLERANCE = 0.10
LF_NOMINAL_HZ, LF_TOLERANCE = 520.0, 0.10


@dataclass(frozen=True)
class PatternTiming:
    """One device's temporal pattern (seconds)."""

    on_s: float
    off_s: float
    long_off_s: float
    pulses: int
    jitter: float  # relative per-pulse jitter bound

    @property
    def cycle_s(self) -> float:
        return self.pulses * self.on_s + (self.pulses - 1) * self.off_s + self.long_off_s


def _draw_timing(rng: np.random.Generator, on: float, off: float, long_off: float, pulses: int) -> PatternTiming:
    clock = 1.0 + rng.uniform(-0.05, 0.05)
    trim = rng.uniform(-0.02, 0.02, size=3)
    return PatternTiming(
        on_s=on * clock * (1 + trim[0]),
        off_s=off * clock * (1 + trim[1]),
        long_off_s=long_off * clock * (1 + trim[2]),
        pulses=pulses,
        jitter=0.005,
    )


def draw_t3_timing(rng: np.random.Generator) -> PatternTiming:
    return _draw_timing(rng, T3_ON_S, T3_OFF_S, T3_LONG_OFF_S, T3_PULSES)


def draw_t4_timing(rng: np.random.Generator) -> PatternTiming:
    return _draw_timing(rng, T4_ON_S, T4_OFF_S, T4_LONG_OFF_S, T4_PULSES)


def pulse_schedule(
    timing: PatternTiming,
    rng: np.random.Generator,
    first_group_s: float,
    end_s: float,
    extra_gap_s: float = 0.0,
) -> tuple[np.ndarray, list[float]]:
    """[on, off] times (s) of every pulse from a group starting at first_group_s (may be < 0) until end_s.

    extra_gap_s lengthens every long off phase (used when a voice message is interleaved).  Returns the pulses
    that overlap [0, end_s) clipped to it, and the start time of every group (before clipping).
    """
    out: list[tuple[float, float]] = []
    groups: list[float] = []
    t = first_group_s
    while t < end_s:
        groups.append(t)
        for p in range(timing.pulses):
            on = timing.on_s * (1 + rng.uniform(-timing.jitter, timing.jitter))
            out.append((t, t + on))
            t += on
            if p < timing.pulses - 1:
                t += timing.off_s * (1 + rng.uniform(-timing.jitter, timing.jitter))
        t += timing.long_off_s * (1 + rng.uniform(-timing.jitter, timing.jitter)) + extra_gap_s
    arr = np.array([(max(a, 0.0), min(b, end_s)) for a, b in out if b > 0 and a < end_s], dtype=float)
    return arr.reshape(-1, 2), groups


@dataclass(frozen=True)
class SounderSpec:
    kind: str  # "piezo" | "lf520"
    f0: float
    harmonics: tuple[tuple[int, float], ...]  # (k, amplitude relative to the fundamental)
    drift_rel: float  # frequency change over one pulse
    warble_rel: float
    warble_hz: float
    attack_s: float
    release_s: float

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d["harmonic_levels_db"] = {str(k): round(20 * np.log10(max(a, 1e-9)), 1) for k, a in self.harmonics}
        del d["harmonics"]
        return d


def _resonance_mag(f: np.ndarray | float, f_res: float, q: float) -> np.ndarray:
    ratio = np.asarray(f, dtype=float) / f_res
    return np.asarray(1.0 / np.sqrt(1.0 + q * q * (ratio - 1.0 / ratio) ** 2))


def draw_piezo(rng: np.random.Generator, sr: float, alias_rejection_db: float) -> SounderSpec:
    if rng.random() < 0.8:
        f0 = float(np.clip(rng.normal(3200.0, 70.0), 3050.0, 3350.0))
    else:
        f0 = float(rng.uniform(2900.0, 3600.0))
    duty = rng.uniform(0.35, 0.5)
    f_res, q = f0 * rng.uniform(0.97, 1.05), rng.uniform(2.0, 6.0)
    mode2_f, mode2_g, mode2_q = f0 * rng.uniform(2.0, 3.2), rng.uniform(0.1, 0.5), rng.uniform(4.0, 10.0)
    nonlin2 = 10 ** (rng.uniform(-40, -25) / 20)
    ks = np.arange(1, int((sr * 0.98) // f0) + 1)  # up to just below the sample rate: folded ones are attenuated
    drive = (2 / (ks * np.pi)) * np.abs(np.sin(ks * np.pi * duty))
    transducer = _resonance_mag(ks * f0, f_res, q) + mode2_g * _resonance_mag(ks * f0, mode2_f, mode2_q)
    amps = drive * transducer
    amps = amps / amps[0]
    if len(amps) > 1:
        amps[1] = np.hypot(amps[1], nonlin2)
    amps = np.where(ks * f0 > sr / 2, amps * 10 ** (-alias_rejection_db / 20), amps)
    harmonics = tuple((int(k), float(a)) for k, a in zip(ks, amps, strict=True) if a > 1e-4)
    return SounderSpec(
        kind="piezo",
        f0=f0,
        harmonics=harmonics,
        drift_rel=float(rng.uniform(-0.015, 0.01)),
        warble_rel=float(rng.uniform(0, 0.008) if rng.random() < 0.5 else 0.0),
        warble_hz=float(rng.uniform(4, 25)),
        attack_s=float(rng.uniform(0.0003, 0.003)),
        release_s=float(rng.uniform(0.0003, 0.003)),
    )


def draw_lf520(rng: np.random.Generator, sr: float, alias_rejection_db: float) -> SounderSpec:
    f0 = float(LF_NOMINAL_HZ * (1 + np.clip(rng.normal(0, 0.03), -0.09, 0.09)))
    duty = rng.uniform(0.48, 0.52)
    ks = np.arange(1, int((sr * 0.98) // f0) + 1)
    drive = (4 / (ks * np.pi)) * np.abs(np.sin(ks * np.pi * duty))
    f = ks * f0
    hp_f, lp_f = rng.uniform(250, 400), rng.uniform(4000, 8000)
    hp = (f / hp_f) ** 2 / np.sqrt((1 - (f / hp_f) ** 2) ** 2 + (f / hp_f / 0.8) ** 2)
    lp = 1 / np.sqrt(1 + (f / lp_f) ** 4)
    peak = 1 + (10 ** (rng.uniform(2, 8) / 20) - 1) * _resonance_mag(f, rng.uniform(2000, 5000), rng.uniform(2, 5))
    amps = drive * hp * lp * peak
    amps = amps / amps[0]
    amps = np.where(f > sr / 2, amps * 10 ** (-alias_rejection_db / 20), amps)
    harmonics = tuple((int(k), float(a)) for k, a in zip(ks, amps, strict=True) if a > 1e-4)
    return SounderSpec(
        kind="lf520",
        f0=f0,
        harmonics=harmonics,
        drift_rel=float(rng.uniform(-0.003, 0.003)),
        warble_rel=0.0,
        warble_hz=0.0,
        attack_s=float(rng.uniform(0.001, 0.004)),
        release_s=float(rng.uniform(0.001, 0.004)),
    )


def render_sounder(spec: SounderSpec, schedule: np.ndarray, n: int, sr: float, rng: np.random.Generator) -> np.ndarray:
    """The sounder playing the pulse schedule, fundamental amplitude 1 (before level scaling)."""
    t = np.arange(n) / sr
    env = np.zeros(n)
    pulse_pos = np.zeros(n)  # 0..1 position within the current pulse (for the frequency drift)
    for on, off in schedule:
        i0, i_off = int(np.ceil(on * sr)), int(np.ceil(off * sr))
        i1 = min(n, i_off + int(8 * spec.release_s * sr) + 1)
        if i0 >= n or i1 <= i0:
            continue
        tt = t[i0:i1]
        rise = 1 - np.exp(-(tt - on) / spec.attack_s)
        fall = np.exp(-np.maximum(tt - off, 0.0) / spec.release_s)
        env[i0:i1] = np.maximum(env[i0:i1], rise * fall)
        pulse_pos[i0:i1] = np.clip((tt - on) / max(off - on, 1e-3), 0, 1)
    active = env > 1e-6
    if not active.any():
        return np.zeros(n)
    warble = spec.warble_rel * np.sin(2 * np.pi * spec.warble_hz * t + rng.uniform(0, 2 * np.pi))
    freq = spec.f0 * (1 + spec.drift_rel * pulse_pos + warble)
    phi = phase_from_freq(freq, sr, rng.uniform(0, 2 * np.pi))
    idx = np.flatnonzero(active)
    tone = harmonic_table(phi[idx], [(k, a, float(rng.uniform(0, 2 * np.pi))) for k, a in spec.harmonics])
    out = np.zeros(n)
    out[idx] = tone * env[idx]
    return out


def low_battery_chirp(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    """A smoke/CO alarm's low-battery or end-of-life chirp: one 30–100 ms piezo beep every 30–60 s.

    Not an alarm (no temporal pattern), but the same sounder: the confuser that matters for false alarms.
    """
    spec = draw_piezo(rng, sr, float(rng.uniform(10, 80)))
    dur = n / sr
    period = float(rng.uniform(30, 60))
    on = float(rng.uniform(0.03, 0.1))
    start = float(rng.uniform(0, min(period, max(dur - on, 0.0))))
    schedule = np.array([[t, t + on] for t in np.arange(start, dur - on, period)]).reshape(-1, 2)
    x = render_sounder(spec, schedule, n, sr, rng)
    return finish(
        x, schedule, sr, {"kind": "low_battery_chirp", "sounder": spec.describe(), "period_s": period, "on_s": on}
    )
