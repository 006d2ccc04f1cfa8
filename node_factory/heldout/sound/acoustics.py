"""Room, distance, MEMS microphone and converter: from a source's sound pressure to int16 samples.

Room: a statistical impulse response, not a geometric one.  Direct sound at t = 0 (so every time in the
metadata is the arrival time at the microphone), 3–8 discrete early reflections (2–40 ms), then an
exponentially decaying Gaussian tail that starts after an initial time gap of 1–15 ms; the tail decays with
RT60 0.2–1.2 s at mid frequencies, 1.1x that below 500 Hz and 0.5–0.9x above 4 kHz (air and soft-furnishing
absorption).  The reverberant energy relative to the direct sound follows Sabine's diffuse field:
critical distance r_c = 0.057·sqrt(V/RT60) (m, V in m³) and DRR = 20·log10(r_c/r) dB for a source at r metres.
Levels: SPL(r) = SPL(1 m) − 20·log10(r) for the direct part.

Microphone (ESP32-class nodes use I2S MEMS microphones such as the INMP441/SPH0645/ICS-43434, or an analog
MEMS/electret into the ADC): sensitivity −26 ± 3 dBFS for a 94 dB SPL 1 kHz tone (digital), −20..−32 dBFS
for analog chains; a 1st/2nd-order high-pass at 50–150 Hz (the vent/back-volume corner); the Helmholtz
resonance of the sound port at 10–15 kHz (Q 2–4) is above the 8 kHz Nyquist, so only its in-band rise
(~+0.5..+4 dB toward 7 kHz) is modelled; self-noise −100..−80 dBFS (SNR 57–65 dB typical for MEMS);
digital or analog gain 0–30 dB; overload either hard (converter saturation) or soft (analog preamp, tanh
knee); decimation-filter stop-band 60–80 dB for I2S parts, 10–30 dB for a plain ADC (lets piezo harmonics
fold back).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..dsp import butter_sos, db_to_amp, fft_convolve, min_phase_fir, sosfilt

P_REF = 20e-6  # Pa
MAX_DISTANCE_M = 10.0


@dataclass(frozen=True)
class Room:
    rt60_s: float
    volume_m3: float
    hf_ratio: float  # RT60 above 4 kHz relative to mid
    initial_gap_s: float

    @property
    def critical_distance_m(self) -> float:
        return float(0.057 * np.sqrt(self.volume_m3 / self.rt60_s))


def draw_room(rng: np.random.Generator) -> Room:
    rt60 = float(rng.uniform(0.2, 1.2))
    volume = float(np.exp(rng.uniform(np.log(15.0), np.log(200.0))))
    return Room(rt60, volume, float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.001, 0.015)))


def drr_db(room: Room, distance_m: float) -> float:
    return float(20 * np.log10(room.critical_distance_m / distance_m))


def impulse_response(room: Room, distance_m: float, sr: float, rng: np.random.Generator) -> np.ndarray:
    """Direct sound (tap 0, amplitude 1) + early reflections + reverberant tail at the diffuse-field DRR."""
    length = int(room.rt60_s * 1.1 * sr)
    t = np.arange(length) / sr
    tail = np.zeros(length)
    noise = rng.standard_normal(length)
    bands = [((20.0, 500.0), 1.1), ((500.0, 4000.0), 1.0), ((4000.0, 0.49 * sr), room.hf_ratio)]
    for (lo, hi), k in bands:
        band = sosfilt(butter_sos(2, (lo, hi), sr, "bandpass"), noise)
        tail += band * np.exp(-6.9 * t / (room.rt60_s * k))
    gap = int(room.initial_gap_s * sr)
    build = np.clip((t - room.initial_gap_s) / 0.01, 0, 1)  # the diffuse field builds up over ~10 ms
    tail *= build
    tail[:gap] = 0.0
    early = np.zeros(length)
    for _ in range(int(rng.integers(3, 9))):
        d = float(rng.uniform(0.002, 0.04))
        early[min(length - 1, int(d * sr))] += rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.8) * (0.002 / d) ** 0.5
    early = sosfilt(butter_sos(1, 6000.0, sr, "lowpass"), early)
    reverb = early + tail
    target_energy = 10 ** (-drr_db(room, distance_m) / 10)
    energy = float(np.sum(reverb**2))
    h = reverb * np.sqrt(target_energy / energy) if energy > 0 else reverb
    h[0] += 1.0
    return h


def place(
    source: np.ndarray, spl_1m: float, distance_m: float, room: Room, sr: float, rng: np.random.Generator
) -> np.ndarray:
    """Sound pressure (Pa) at the microphone from a unit-RMS source playing at spl_1m (RMS over its activity)."""
    p = source * (P_REF * 10 ** (spl_1m / 20)) / distance_m
    return fft_convolve(p, impulse_response(room, distance_m, sr, rng))


@dataclass(frozen=True)
class Microphone:
    kind: str
    sensitivity_dbfs: float  # digital RMS re full-scale sine for 1 Pa (94 dB SPL)
    gain_db: float
    highpass_hz: float
    highpass_order: int
    port_resonance_hz: float
    port_q: float
    self_noise_dbfs: float
    alias_rejection_db: float
    clipping: str  # "hard" | "soft"
    soft_knee_dbfs: float

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def draw_microphone(rng: np.random.Generator) -> Microphone:
    i2s = rng.random() < 0.75
    return Microphone(
        kind="mems_i2s" if i2s else "analog_adc",
        sensitivity_dbfs=float(rng.uniform(-29, -23) if i2s else rng.uniform(-32, -20)),
        gain_db=float(rng.choice([0.0, 6.0, 12.0, 18.0, 24.0, 30.0], p=[0.35, 0.25, 0.2, 0.1, 0.07, 0.03])),
        highpass_hz=float(rng.uniform(50, 150)),
        highpass_order=int(rng.integers(1, 3)),
        port_resonance_hz=float(rng.uniform(10000, 15000)),
        port_q=float(rng.uniform(2, 4)),
        self_noise_dbfs=float(rng.uniform(-100, -80)),
        alias_rejection_db=float(rng.uniform(60, 80) if i2s else rng.uniform(10, 30)),
        clipping="hard" if rng.random() < 0.6 else "soft",
        soft_knee_dbfs=float(rng.uniform(-6, -1)),
    )


def microphone_response(mic: Microphone, sr: float) -> np.ndarray:
    """Minimum-phase FIR for the in-band effect of the port resonance (high-pass is applied separately)."""
    f = np.linspace(0, sr / 2, 64)
    ratio = f / mic.port_resonance_hz
    gain = 1 / np.sqrt((1 - ratio**2) ** 2 + (ratio / mic.port_q) ** 2)
    return min_phase_fir(f, gain, sr, taps=65)


def record(
    pressure: np.ndarray, mic: Microphone, sr: float, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """Pa at the microphone -> float samples at full scale 1.0 (before int16), with what happened on the way."""
    # sensitivity S: 1 Pa RMS gives an RMS of S dBFS re a full-scale sine (RMS 1/sqrt(2))
    x = pressure * db_to_amp(mic.sensitivity_dbfs) / np.sqrt(2)
    x = sosfilt(butter_sos(mic.highpass_order, mic.highpass_hz, sr, "highpass"), x)
    x = np.convolve(x, microphone_response(mic, sr))[: len(x)]
    x = x + rng.standard_normal(len(x)) * db_to_amp(mic.self_noise_dbfs)
    x = x * db_to_amp(mic.gain_db)
    peak_before = float(np.max(np.abs(x))) if len(x) else 0.0
    if mic.clipping == "soft":
        knee = db_to_amp(mic.soft_knee_dbfs)
        over = np.abs(x) > knee
        head = 1.0 - knee
        x = np.where(over, np.sign(x) * (knee + head * np.tanh((np.abs(x) - knee) / head)), x)
        clipped = float(np.mean(over)) if len(x) else 0.0
    else:  # the converter saturates when the float is turned into int16
        clipped = float(np.mean(np.abs(x) > 1.0)) if len(x) else 0.0
    return x, {"peak_before_clip_dbfs": 20 * np.log10(max(peak_before, 1e-12)), "clipped_fraction": clipped}
