"""Sensors: acceleration (g) -> int16 as the node stores it.

ADXL345 (Analog Devices data sheet, rev. E/G), full-resolution mode, +-16 g range: 13-bit output, scale
factor 3.9 mg/LSB typ (3.5–4.3 min–max), so int16 = LSB x 8 maps 4096 LSB to the int16 full scale (16 g).
Noise at 100 Hz ODR: 0.75 LSB RMS on x/y, 1.1 LSB RMS on z (noise density ~290 / 430 ug/sqrt(Hz)); above
100 Hz ODR it grows about sqrt(2) per doubling of the data rate (data sheet, "Noise performance"), i.e. at
3200 Hz ~4.2 LSB (16.5 mg) x/y and ~6.2 LSB z.  At 3200 and 1600 Hz ODR the LSB of the full-resolution word is
always 0 (data sheet, "Data formatting of upper data rates"), so those rates move in 2-LSB (7.8 mg) steps.
0 g offset drawn N(0, 40 mg) within +-150 mg; gravity projects onto the axis (cos of a 0–90 deg tilt).  The
output bandwidth is ODR/2; components above it are not synthesised (no aliasing model).

Piezo disc + ESP32 ADC at 16 kHz (an assumed, plausible front end, not a datasheet): brass piezo disc
glued to the housing, 0.02–0.2 V/g (with or without a gain stage), first-order high-pass 2–30 Hz (disc
capacitance into the bias resistor), mounted-disc resonance 3–7 kHz (Q 5–20, boosts that band), 50/60 Hz
pickup on the high-impedance line (0–5 mV), ADC 12-bit over 2.3 V (11 dB attenuation, +-1.15 V around a
mid-rail bias with +-30 codes offset), 2–6 LSB RMS noise, a smooth integral non-linearity up to +-12 LSB at
the ends of the range, saturation at the rails; int16 = (code − 2048) x 16.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import signal

from ..dsp import butter_sos, resonator_sos

ADXL_ODRS = (3200, 1600, 800, 400, 200, 100)


@dataclass(frozen=True)
class Adxl345:
    odr: int
    axis: str
    scale_mg_per_lsb: float
    offset_g: float
    gravity_g: float
    noise_lsb: float

    def describe(self) -> dict[str, Any]:
        return {"sensor": "adxl345", **asdict(self)}


@dataclass(frozen=True)
class PiezoAdc:
    rate: int
    volts_per_g: float
    highpass_hz: float
    disc_resonance_hz: float
    disc_q: float
    mains_hz: float
    mains_v: float
    adc_span_v: float
    offset_codes: float
    noise_lsb: float
    inl_lsb: float

    def describe(self) -> dict[str, Any]:
        return {"sensor": "piezo_adc", **asdict(self)}


Sensor = Adxl345 | PiezoAdc


def draw_sensor(rng: np.random.Generator, sample_rate: int) -> Sensor:
    if sample_rate in ADXL_ODRS:
        axis = str(rng.choice(["x", "y", "z"]))
        base = 1.1 if axis == "z" else 0.75
        return Adxl345(
            odr=sample_rate,
            axis=axis,
            scale_mg_per_lsb=float(np.clip(rng.normal(3.9, 0.1), 3.5, 4.3)),
            offset_g=float(np.clip(rng.normal(0, 0.04), -0.15, 0.15)),
            gravity_g=float(np.cos(rng.uniform(0, np.pi / 2))),
            noise_lsb=float(base * np.sqrt(max(sample_rate, 100) / 100) * rng.uniform(0.85, 1.15)),
        )
    if sample_rate < 4000:
        raise ValueError(f"{sample_rate} Hz: use an ADXL345 rate {ADXL_ODRS} or a piezo ADC rate >= 4000 Hz")
    return PiezoAdc(
        rate=sample_rate,
        volts_per_g=float(np.exp(rng.uniform(np.log(0.02), np.log(0.2)))),
        highpass_hz=float(rng.uniform(2, 30)),
        disc_resonance_hz=float(min(rng.uniform(3000, 7000), 0.45 * sample_rate)),
        disc_q=float(rng.uniform(5, 20)),
        mains_hz=float(rng.choice([50.0, 60.0])),
        mains_v=float(rng.uniform(0, 0.005)),
        adc_span_v=2.3,
        offset_codes=float(rng.uniform(-30, 30)),
        noise_lsb=float(rng.uniform(2, 6)),
        inl_lsb=float(rng.uniform(0, 12)),
    )


class SensorChain:
    """Applies a sensor to consecutive chunks (filter states carried across chunks)."""

    def __init__(self, sensor: Sensor) -> None:
        self.sensor = sensor
        self._t = 0.0
        if isinstance(sensor, PiezoAdc):
            sr = sensor.rate
            hp = butter_sos(1, sensor.highpass_hz, sr, "highpass")
            res = resonator_sos(sensor.disc_resonance_hz, sensor.disc_resonance_hz / sensor.disc_q, sr)
            self._hp, self._res = hp, res
            self._zi_hp, self._zi_res = np.zeros((1, 2)), np.zeros((1, 2))

    def apply(self, accel_g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        s = self.sensor
        if isinstance(s, Adxl345):
            lsb = (accel_g + s.offset_g + s.gravity_g) * 1000 / s.scale_mg_per_lsb
            lsb = lsb + rng.standard_normal(len(lsb)) * s.noise_lsb
            step = 2 if s.odr >= 1600 else 1
            q = np.clip(np.floor(lsb / step) * step, -4096, 4095)
            return (q * 8).astype(np.int16)
        sr = s.rate
        x, self._zi_hp = signal.sosfilt(self._hp, accel_g, zi=self._zi_hp)
        boost, self._zi_res = signal.sosfilt(self._res, x, zi=self._zi_res)
        v = s.volts_per_g * (x + (s.disc_q / 3) * boost)
        t = self._t + np.arange(len(v)) / sr
        v = v + s.mains_v * np.sin(2 * np.pi * s.mains_hz * t)
        self._t = float(t[-1] + 1 / sr) if len(t) else self._t
        codes = 2048 + s.offset_codes + v / s.adc_span_v * 4096
        u = (codes - 2048) / 2048
        codes = codes + s.inl_lsb * (u**3 - u) * 2.6  # smooth bow, zero at mid and both ends, max ~inl
        codes = codes + rng.standard_normal(len(codes)) * s.noise_lsb
        q = np.clip(np.round(codes), 0, 4095)
        return ((q - 2048) * 16).astype(np.int16)
