"""Physically based machine-vibration corpus (all synthetic; documented in docs/node-model.md).

A rotating shaft at 900–3600 rpm with a deep-groove ball bearing of CWRU's drive-end geometry
(SKF 6205: 9 balls, ball diameter 7.94 mm, pitch diameter 39.04 mm, contact angle 0). Fault frequencies
from the geometry: BPFO = n/2·fr·(1 − d/D), BPFI = n/2·fr·(1 + d/D), BSF = D/(2d)·fr·(1 − (d/D)²),
FTF = fr/2·(1 − d/D). Bearing faults are periodic impacts that ring a structural resonance; inner-race
impacts are amplitude-modulated by the shaft rotation, ball faults by the cage (FTF). Imbalance is a strong
1×, misalignment 2× (with 1×, 3×), looseness many harmonics and ½-orders with clipping. Every window gets
speed jitter, random phases, sensor noise and a random sensor gain. Two variants: an accelerometer at
3.2 kHz (ADXL345's top data rate) and a piezo on an ADC at 16 kHz.

`render` without a `Machine` draws every property per window (the training corpus). With one (`draw_machine`)
it renders consecutive windows of the same machine at a given speed, for developing the per-machine baseline
(benchmarks/baseline_dev.py): fixed structural resonances that colour the whole response, healthy shaft
harmonics whose forces grow with the square of the speed, fixed noise and sensor gain, no per-window level
normalisation (a fault makes the machine louder).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

VIBRATION_CLASSES = (
    "healthy",
    "imbalance",
    "misalignment",
    "looseness",
    "bearing_outer",
    "bearing_inner",
    "bearing_ball",
)
N_BALLS, BALL_D, PITCH_D = 9, 7.94, 39.04
RATIO = BALL_D / PITCH_D
Float = NDArray[np.float64]


def fault_orders() -> dict[str, float]:
    """Fault frequencies as multiples of the shaft frequency."""
    return {
        "bpfo": N_BALLS / 2 * (1 - RATIO),
        "bpfi": N_BALLS / 2 * (1 + RATIO),
        "bsf": PITCH_D / (2 * BALL_D) * (1 - RATIO**2),
        "ftf": 0.5 * (1 - RATIO),
    }


def _impacts(rng: np.random.Generator, t: Float, rate: float, sr: int, resonance: float) -> Float:
    """Periodic impacts at `rate` Hz (with slip jitter), each ringing a damped resonance."""
    x = np.zeros(len(t))
    period = sr / rate
    pos = rng.uniform(0, period)
    ring_len = int(0.01 * sr) + 8
    k = np.arange(ring_len)
    ring = np.exp(-k / (0.0015 * sr)) * np.sin(2 * np.pi * resonance * k / sr)
    while pos < len(t):
        i = int(pos)
        end = min(len(t), i + ring_len)
        x[i:end] += ring[: end - i]
        pos += period * (1 + rng.normal(0, 0.01))
    return x


@dataclass(frozen=True)
class Machine:
    """One machine's fixed properties (the training generator's textbook ranges, see `draw_machine`)."""

    rpm_nominal: float
    resonances: tuple[float, ...]  # Hz: what impacts ring and what amplifies the shaft harmonics near them
    damping: float  # fraction of critical damping of every resonance
    harmonics: tuple[float, ...]  # healthy amplitudes of 1x, 2x, ... at the nominal speed
    noise: float  # sensor noise, standard deviation
    gain: float  # sensor scale: signal units -> full scale

    def response(self, x: Float, sr: int) -> Float:
        """The structure's linear response: rigid body plus one mode per resonance."""
        f = np.fft.rfftfreq(len(x), 1 / sr)
        h = np.ones(len(f), dtype=np.complex128)
        for fk in self.resonances:
            r = f / fk
            h += 0.5 / (1 - r**2 + 2j * self.damping * r)
        return np.fft.irfft(np.fft.rfft(x) * h, len(x))


def draw_machine(rng: np.random.Generator, sr: int) -> Machine:
    return Machine(
        rpm_nominal=rng.uniform(15, 60) * 60,
        resonances=tuple(sorted(rng.uniform(30, 0.45 * sr, int(rng.integers(2, 7))))),  # low frame modes too
        damping=rng.uniform(0.03, 0.15),
        harmonics=(rng.uniform(0.1, 0.3), rng.uniform(0, 0.08), rng.uniform(0, 0.04), rng.uniform(0, 0.02)),
        noise=rng.uniform(0.02, 0.1),
        gain=10 ** (rng.uniform(-26, -12) / 20),
    )


def render(
    label: str,
    rng: np.random.Generator,
    n: int,
    sr: int,
    machine: Machine | None = None,
    rpm: float = 0.0,
    load: float = 1.0,
    rpm_end: float | None = None,
    severity: float = 1.0,
) -> NDArray[np.int16]:
    """One window of `label`: every property drawn from `rng`, or those of `machine` at shaft speed `rpm`
    (changing linearly to `rpm_end` within the window, if given) with its healthy forces scaled by `load`
    and the fault's own components by `severity` (1: the training corpus's recipes, sample for sample)."""
    t = np.arange(n) / sr
    shaft_hz: float | Float = rng.uniform(15, 60) if machine is None else rpm / 60
    if machine is not None and rpm_end is not None:
        shaft_hz = (rpm + (rpm_end - rpm) * t / (n / sr)) / 60
        rpm = (rpm + rpm_end) / 2
    fr = shaft_hz * (1 + 0.002 * np.sin(2 * np.pi * 0.5 * t))  # slow speed wander
    phase = 2 * np.pi * np.cumsum(fr) / sr
    base = fr.mean()
    if machine is None:
        x = 0.2 * np.sin(phase + rng.uniform(0, 6.3))  # every machine has some 1x
        x += rng.normal(0, 0.05, n)
        resonance = rng.uniform(0.25, 0.42) * sr  # structural resonance below Nyquist
    else:
        force = load * (rpm / machine.rpm_nominal) ** 2  # unbalance-type forces grow with the square of the speed
        x = sum(  # type: ignore[assignment]
            a * force * np.sin((h + 1) * phase + rng.uniform(0, 6.3)) for h, a in enumerate(machine.harmonics)
        )
        x += rng.normal(0, 0.05 * rpm / machine.rpm_nominal, n)  # friction and flow noise
        resonance = float(rng.choice(machine.resonances))
    orders = fault_orders()
    if label == "imbalance":
        x += severity * rng.uniform(0.8, 1.5) * np.sin(phase + rng.uniform(0, 6.3))
    elif label == "misalignment":
        x += severity * rng.uniform(0.6, 1.2) * np.sin(2 * phase + rng.uniform(0, 6.3))
        x += severity * (0.4 * np.sin(phase) + rng.uniform(0.1, 0.4) * np.sin(3 * phase))
    elif label == "looseness":
        for h in range(1, 11):
            x += severity * rng.uniform(0.1, 0.5) / h**0.5 * np.sin(h * phase + rng.uniform(0, 6.3))
        x += severity * rng.uniform(0.1, 0.3) * np.sin(0.5 * phase)
        x = np.clip(x, -rng.uniform(0.6, 1.0), None)
    elif label == "bearing_outer":
        x += severity * rng.uniform(0.5, 1.5) * _impacts(rng, t, orders["bpfo"] * base, sr, resonance)
    elif label == "bearing_inner":
        am = 1 + 0.8 * np.sin(phase)
        x += severity * rng.uniform(0.5, 1.5) * am * _impacts(rng, t, orders["bpfi"] * base, sr, resonance)
    elif label == "bearing_ball":
        am = 1 + 0.8 * np.sin(orders["ftf"] * phase)
        x += severity * rng.uniform(0.5, 1.5) * am * _impacts(rng, t, 2 * orders["bsf"] * base, sr, resonance)
    elif label != "healthy":
        raise ValueError(f"unknown vibration class {label!r}")
    if machine is not None:
        x = machine.response(x, sr) + rng.normal(0, machine.noise, n)
        return np.clip(np.round(x * machine.gain * 32767), -32768, 32767).astype(np.int16)
    x += rng.normal(0, rng.uniform(0.02, 0.2), n)  # sensor noise
    gain = 10 ** (rng.uniform(-20, -2) / 20)
    x = x / (np.max(np.abs(x)) + 1e-12) * gain
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


SPLIT_SEEDS = {"train": 5_000_000, "val": 6_000_000, "test": 7_000_000}


def build_split(split: str, per_class: int, n: int, sr: int) -> tuple[NDArray[np.int16], NDArray[np.int64]]:
    windows, labels = [], []
    for ci, label in enumerate(VIBRATION_CLASSES):
        for i in range(per_class):
            windows.append(render(label, np.random.default_rng(SPLIT_SEEDS[split] + ci * 100_000 + i), n, sr))
            labels.append(ci)
    return np.stack(windows), np.asarray(labels)
