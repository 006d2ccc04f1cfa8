"""A rotating machine: bearing, speed, structure, base vibration, and the faults that can be seeded in it.

Vibration severity is anchored on ISO 10816-1 (now ISO 20816-1) zone boundaries for broadband velocity RMS
(10–1000 Hz), class I small machines / class II medium: A/B 0.71 / 1.12 mm/s, B/C 1.8 / 2.8 mm/s, C/D 4.5 /
7.1 mm/s.  A healthy machine's residual 1x is drawn in zone A–B, fault tones (imbalance, misalignment,
looseness) in zones C–D.  Acceleration from velocity at frequency f: a = 2·pi·f·v.

Structure: 4–6 resonances (frequency, damping ratio 1.5–8 %, gain): at least one 300–1400 Hz (inside the
ADXL345's 1600 Hz band at 3200 Hz ODR), at least two 1–5 kHz (seen by a piezo sampled at 16 kHz), others
anywhere 200–6000 Hz; each sensor only sees those below its Nyquist frequency.  Base vibration: broadband
noise through the resonances (2–15 mg RMS), an induction motor's 2x line-frequency magnetic tone (100/120 Hz,
70 % of machines), and a gear mesh (40 %: 13–60 teeth on the measured shaft, mesh tone with +-1x sidebands).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .bearings import BEARINGS, Bearing

G = 9.80665
FAULT_CLASSES = ("imbalance", "misalignment", "looseness", "bearing_outer", "bearing_inner", "bearing_ball")
VIBRATION_CLASSES = ("healthy", *FAULT_CLASSES)
RPM_MIN, RPM_MAX = 600.0, 6000.0


def velocity_to_g(v_rms_mm_s: float, freq_hz: float) -> float:
    """Peak acceleration (g) of a sinusoid with the given velocity RMS (mm/s) at freq_hz."""
    return float(2 * np.pi * freq_hz * v_rms_mm_s * np.sqrt(2) / 1000 / G)


@dataclass(frozen=True)
class Resonance:
    freq_hz: float
    damping: float
    gain: float


@dataclass(frozen=True)
class Machine:
    bearing: Bearing
    rpm_nominal: float
    iso_class: str  # "I" | "II"
    resonances: tuple[Resonance, ...]
    mount_gain: float
    axial_mix: float  # sin of the angle between the sensor axis and the radial direction
    noise_g: float
    line_hz: float
    line_tone_g: float
    gear_teeth: int
    gear_g: float
    residual_1x_mm_s: float
    residual_2x_rel: float
    phases: tuple[float, ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d["bearing"] = self.bearing.describe()
        d["fault_hz_at_nominal"] = {k: v * self.rpm_nominal / 60 for k, v in self.bearing.orders().items()}
        del d["phases"]
        return d


def draw_nominal_rpm(rng: np.random.Generator) -> float:
    if rng.random() < 0.5:  # mains-fed induction motors: synchronous speed less 1–4 % slip
        sync = float(rng.choice([1000.0, 1200.0, 1500.0, 1800.0, 3000.0, 3600.0]))
        return sync * (1 - float(rng.uniform(0.01, 0.04)))
    return float(np.exp(rng.uniform(np.log(RPM_MIN), np.log(RPM_MAX))))


def draw_machine(rng: np.random.Generator, bearing: Bearing | None = None, rpm: float | None = None) -> Machine:
    bearing = bearing or BEARINGS[int(rng.integers(len(BEARINGS)))]
    res = [float(rng.uniform(300, 1400)), float(rng.uniform(1000, 5000)), float(rng.uniform(1000, 5000))]
    res += list(rng.uniform(200, 6000, size=int(rng.integers(1, 4))))
    resonances = tuple(
        Resonance(float(f), float(rng.uniform(0.015, 0.08)), float(rng.uniform(0.3, 1.0))) for f in sorted(res)
    )
    gear = rng.random() < 0.4
    return Machine(
        bearing=bearing,
        rpm_nominal=float(rpm if rpm is not None else draw_nominal_rpm(rng)),
        iso_class=str(rng.choice(["I", "II"])),
        resonances=resonances,
        mount_gain=float(np.exp(rng.uniform(np.log(0.3), np.log(3.0)))),
        axial_mix=float(rng.uniform(0.0, 0.6)),
        noise_g=float(rng.uniform(0.002, 0.015)),
        line_hz=float(rng.choice([50.0, 60.0])),
        line_tone_g=float(rng.uniform(0.002, 0.02)) if rng.random() < 0.7 else 0.0,
        gear_teeth=int(rng.integers(13, 61)) if gear else 0,
        gear_g=float(rng.uniform(0.005, 0.05)) if gear else 0.0,
        residual_1x_mm_s=float(rng.uniform(0.2, 1.2)),
        residual_2x_rel=float(rng.uniform(0.1, 0.4)),
        phases=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, size=16)),
    )


ZONES = {"I": (0.71, 1.8, 4.5), "II": (1.12, 2.8, 7.1)}


@dataclass(frozen=True)
class Fault:
    """A seeded fault; parameters are drawn once per clip or run segment and recorded in meta."""

    label: str
    params: dict[str, float]

    def describe(self) -> dict[str, Any]:
        return {"label": self.label, **self.params}


def draw_fault(rng: np.random.Generator, label: str, machine: Machine) -> Fault:
    bc, cd = ZONES[machine.iso_class][1], ZONES[machine.iso_class][2]
    p: dict[str, float] = {}
    if label == "imbalance":
        p = {"v1x_mm_s": float(rng.uniform(bc, 2.5 * cd)), "v2x_rel": float(rng.uniform(0.05, 0.2))}
    elif label == "misalignment":
        kind = float(rng.integers(0, 3))  # 0 parallel (radial 2x), 1 angular (axial 1x), 2 combined
        p = {
            "kind": kind,
            "v1x_mm_s": float(rng.uniform(0.5 * bc, 1.5 * cd)),
            "r2x": float(rng.uniform(0.5, 2.0)),
            "r3x": float(rng.uniform(0.1, 0.4)),
            "axial_1x": float(rng.uniform(0.5, 1.5) if kind >= 1 else rng.uniform(0.1, 0.4)),
            "axial_2x": float(rng.uniform(0.3, 1.0)),
        }
    elif label == "looseness":
        p = {
            "v1x_mm_s": float(rng.uniform(bc, 1.5 * cd)),
            "harmonics": float(rng.integers(5, 11)),
            "rolloff": float(rng.uniform(0.4, 1.2)),
            "half_orders_rel": float(rng.uniform(0.1, 0.5)),
            "truncation": float(rng.uniform(0.3, 0.8)),
            "impact_g": float(np.exp(rng.uniform(np.log(0.03), np.log(0.5)))),
            "every_other_rev": float(rng.random() < 0.5),
        }
    elif label.startswith("bearing_"):
        p = {
            "impact_g": float(np.exp(rng.uniform(np.log(0.05), np.log(2.0)))),
            "slip_jitter": float(rng.uniform(0.01, 0.02)),
            "slip_mean": float(rng.uniform(0.0, 0.01)),
            "amp_spread": float(rng.uniform(0.1, 0.3)),
            "load_zone_eps": float(rng.uniform(0.3, 0.5)),
            "unloaded_floor": float(rng.uniform(0.05, 0.25)),
            "load_angle": float(rng.uniform(0, 2 * np.pi)),
            "defect_angle": float(rng.uniform(-0.6, 0.6)),  # outer-race defect position re the load direction
            "inner_contact_rel": float(rng.uniform(0.3, 1.0)),  # ball fault: strength of the inner-race hit
        }
    elif label != "healthy":
        raise ValueError(f"unknown vibration class: {label}")
    return Fault(label, p)


@dataclass
class SpeedProfile:
    """Shaft speed over time: set-point steps with linear ramps, plus a slow smooth wander (continuous in t)."""

    knots_t: np.ndarray
    knots_rpm: np.ndarray
    wander_amp: np.ndarray
    wander_period: np.ndarray
    wander_phase: np.ndarray

    def rpm(self, t: np.ndarray) -> np.ndarray:
        base = np.interp(t, self.knots_t, self.knots_rpm)
        w = np.zeros_like(t, dtype=float)
        for a, p, ph in zip(self.wander_amp, self.wander_period, self.wander_phase, strict=True):
            w += a * np.sin(2 * np.pi * t / p + ph)
        return np.clip(base * (1 + w), RPM_MIN * 0.9, RPM_MAX * 1.1)

    def describe(self, total_s: float, step_s: float = 0.1) -> list[float]:
        return [round(float(v), 2) for v in self.rpm(np.arange(0.0, total_s, step_s))]


def clip_speed(rng: np.random.Generator, rpm: float, seconds: float, variation: bool = True) -> SpeedProfile:
    """A few seconds of running: a drift of up to +-2 % and a wander of 0.2–1 % (or constant)."""
    drift = float(rng.uniform(-0.02, 0.02)) if variation else 0.0
    amp = rng.uniform(0.002, 0.01, size=2) / 2 if variation else np.zeros(2)
    return SpeedProfile(
        knots_t=np.array([0.0, seconds]),
        knots_rpm=np.array([rpm, rpm * (1 + drift)]),
        wander_amp=amp,
        wander_period=rng.uniform(0.5, 4.0, size=2),
        wander_phase=rng.uniform(0, 2 * np.pi, size=2),
    )


def run_speed(rng: np.random.Generator, rpm: float, total_s: float) -> tuple[SpeedProfile, dict[str, float]]:
    """Hours of running: set-point changes every 5–30 min (mean) within +-5..25 % of nominal, ramps 5–60 s."""
    span = float(rng.uniform(0.05, 0.25))
    lo, hi = max(RPM_MIN, rpm * (1 - span)), min(RPM_MAX, rpm * (1 + span))
    mean_interval = float(rng.uniform(300, 1800))
    ts, vs = [0.0], [float(rng.uniform(lo, hi))]
    t = 0.0
    while t < total_s:
        t += float(rng.exponential(mean_interval))
        ramp = float(rng.uniform(5, 60))
        ts += [t, t + ramp]
        vs += [vs[-1], float(rng.uniform(lo, hi))]
    profile = SpeedProfile(
        knots_t=np.array(ts),
        knots_rpm=np.array(vs),
        wander_amp=rng.uniform(0.001, 0.004, size=3),
        wander_period=rng.uniform(5, 120, size=3),
        wander_phase=rng.uniform(0, 2 * np.pi, size=3),
    )
    return profile, {"rpm_low": lo, "rpm_high": hi, "mean_setpoint_interval_s": mean_interval}
