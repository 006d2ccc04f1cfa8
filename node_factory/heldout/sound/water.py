"""Running water: bubbles (Minnaert resonance), turbulent splash noise and container resonances.

An air bubble of radius r in water rings at the Minnaert frequency f = sqrt(3·γ·p0/ρ) / (2π·r) ≈ 3.29/r Hz
(γ = 1.4, p0 = 101.3 kPa, ρ = 998 kg/m³; r = 1 mm -> 3.3 kHz).  Following van den Doel (2005, "Physically
based models for liquid sounds", ACM TAP) each bubble is a damped sinusoid with decay rate
d = 0.043·f + 0.0014·f^1.5 (1/s) whose pitch rises as it nears the surface, f(t) = f0·(1 + σ·t) with
σ = ξ·d, ξ ≈ 0.1; amplitude grows with radius (∝ r^α, α 0.8–1.5); radii follow a power law p(r) ∝ r^-β
(β 1.5–3) between 0.4 and 4 mm (below 0.41 mm the pitch is above 8 kHz).  A tap into a sink adds turbulent
splash noise (band 300 Hz – 6 kHz, peak 0.8–2.5 kHz), a shower is dominated by broadband droplet impacts, and
filling a glass/kettle/bucket adds the rising quarter-wave resonance of the shrinking air column,
f = c/(4·L) with L falling from 20–30 cm to 3–8 cm.  All of it fluctuates (±1.5–4 dB at 0.3–4 Hz).
"""

from __future__ import annotations

import numpy as np

from ..dsp import colored_noise, db_to_amp, scatter_add, shaped_noise, smooth_random, stft_filter
from .shared import Rendered, continuous

MINNAERT_CONST = float(np.sqrt(3 * 1.4 * 101325.0 / 998.0) / (2 * np.pi))  # f·r, Hz·m
SPEED_OF_SOUND = 343.0


def bubbles(
    rng: np.random.Generator, n: int, sr: float, rate_hz: float, beta: float, r_range: tuple[float, float]
) -> np.ndarray:
    """Poisson stream of Minnaert bubbles (unnormalised)."""
    dur = n / sr
    count = rng.poisson(rate_hz * dur)
    out = np.zeros(n)
    if count == 0:
        return out
    lo, hi = r_range
    u = rng.random(count)
    if abs(beta - 1) < 1e-6:
        radii = lo * (hi / lo) ** u
    else:  # inverse CDF of p(r) ∝ r^-beta on [lo, hi]
        a = 1 - beta
        radii = (lo**a + u * (hi**a - lo**a)) ** (1 / a)
    f0 = MINNAERT_CONST / radii
    d = 0.043 * f0 + 0.0014 * f0**1.5
    sigma = 0.1 * d
    amp = (radii / lo) ** rng.uniform(0.8, 1.5) * np.exp(rng.normal(0, 0.3, count))
    times = rng.uniform(0, dur, count)
    order = np.argsort(d)[::-1]  # shortest-ringing first, so each chunk's block length fits its bubbles
    for s in range(0, count, 500):  # chunks keep the (bubbles x samples) block small
        sl = order[s : s + 500]
        length = int(np.ceil(4 / d[sl].min() * sr)) + 1
        starts = np.ceil(times[sl] * sr).astype(np.int64)
        tt = (starts[:, None] + np.arange(length)[None, :]) / sr - times[sl, None]
        phase = 2 * np.pi * f0[sl, None] * (tt + 0.5 * sigma[sl, None] * tt * tt)
        blocks = amp[sl, None] * np.exp(-d[sl, None] * tt) * np.sin(phase)
        scatter_add(out, starts, blocks)
    return out


def water_running(rng: np.random.Generator, n: int, sr: float) -> Rendered:
    kind = str(rng.choice(["tap_sink", "shower", "filling"], p=[0.5, 0.3, 0.2]))
    beta = float(rng.uniform(1.5, 3.0))
    peak = float(rng.uniform(800, 2500))
    width = float(rng.uniform(0.8, 1.6))  # octaves

    def splash_mag(f: np.ndarray) -> np.ndarray:
        lo = 1 / np.sqrt(1 + (300 / np.maximum(f, 1)) ** 4)
        hi = 1 / np.sqrt(1 + (f / 6000) ** 4)
        bump = np.exp(-0.5 * (np.log2(np.maximum(f, 1) / peak) / width) ** 2)
        return np.asarray(lo * hi * (0.3 + bump))

    if kind == "shower":
        rate = float(rng.uniform(50, 300))
        bub = bubbles(rng, n, sr, rate, beta, (0.4e-3, 3e-3))
        tilt = float(rng.uniform(0.0, 0.8))
        broad = colored_noise(rng, n, sr, tilt, f_min=200.0)
        mix = broad + db_to_amp(rng.uniform(-15, -5)) * bub / max(float(np.std(bub)), 1e-9)
    else:
        rate = float(rng.uniform(100, 800))
        bub = bubbles(rng, n, sr, rate, beta, (0.5e-3, 4e-3))
        splash = shaped_noise(rng, n, sr, splash_mag)
        mix = splash + db_to_amp(rng.uniform(-8, 3)) * bub / max(float(np.std(bub)), 1e-9)
    meta = {"kind": kind, "bubble_rate_hz": rate, "radius_power_beta": beta, "splash_peak_hz": peak}
    if kind == "filling":
        l_start, l_end = float(rng.uniform(0.2, 0.3)), float(rng.uniform(0.03, 0.08))
        nfft, hop = 512, 128
        frames = int(np.ceil(n / hop)) + 1
        length = np.linspace(l_start, l_end, frames) if rng.random() < 0.7 else np.full(frames, l_start)
        fc = SPEED_OF_SOUND / (4 * length)
        f = np.fft.rfftfreq(nfft, 1 / sr)[None, :]
        q = float(rng.uniform(4, 12))
        boost = db_to_amp(rng.uniform(6, 15)) - 1
        resp = 1 + boost / np.sqrt(1 + q * q * (f / fc[:, None] - fc[:, None] / np.maximum(f, 1)) ** 2)
        mix = stft_filter(mix, resp, nfft, hop)
        meta.update(air_column_start_m=l_start, air_column_end_m=float(length[-1]), resonance_q=q)
    depth_db = float(rng.uniform(1.5, 4.0))
    mod_rate = float(rng.uniform(0.3, 4.0))
    mix = mix * db_to_amp(1.0) ** (depth_db * smooth_random(rng, n, sr, mod_rate))
    meta.update(fluctuation_db=depth_db, fluctuation_rate_hz=mod_rate)
    return continuous(mix, sr, meta)
