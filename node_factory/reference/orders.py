"""Fault identification in shaft orders, for a capture whose shaft speed and bearing are known.

A classifier trained on absolute band energies cannot tell an outer-race fault from an inner-race one:
BPFO (about 3.6 x shaft speed) at one speed is BPFI (about 5.4 x) at another. Knowing the speed and the
bearing's geometry, the question becomes "is there energy at this machine's BPFO or at its BPFI?", which
has an answer. The analysis runs on the GPU tier (gpu_backend/orders.py; the node cannot afford it:
docs/vibration-baseline.md), in float numpy, following condition-monitoring practice:

1. demodulation bands from the data: the two bands (kurtogram-style tree of widths Nyquist/2 .. Nyquist/32,
   half overlapping) whose complex envelopes have the highest spectral kurtosis, i.e. where the impacts are
   most impulsive (usually the resonance they ring; with abrupt onsets, a band of the onsets' broadband click,
   which repeats at the same rate; two, as a machine rings more than one resonance and a burst of noise can
   win the first place); never narrower than the bearing frequencies they have to carry;
2. squared-envelope spectrum of each band, and the raw amplitude spectrum (Hann window, all);
3. a line's strength is its peak within a tolerance of +-`TOLERANCE_PCT` % of its frequency (speed reading
   and bearing slip scale with the order) over the median of the spectrum around it (the local floor), in dB;
4. rules: looseness if many shaft harmonics and half orders stand out; else a bearing fault if the best of
   BPFO / BPFI (with 1x sidebands) / BSF or 2 x BSF (with FTF sidebands), in the band where it is best,
   stands out and is clear of the others; else misalignment if 2x (or 3x) is large against 1x in velocity;
   else imbalance. It names a fault; whether there is one is the baseline's question.

Every threshold was set from textbook values and checked on the training generator only
(node_factory.corpus.synth_vibration, benchmarks/orders_dev.py); the held-out machines never saw them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Float = NDArray[np.float64]

TOLERANCE_PCT = 2.0  # tachometer reading and bearing slip (1-2 %), in % of the line's frequency
SHAFT_TOLERANCE_PCT = 1.0  # shaft orders do not slip: the tachometer reading and the speed's wander only
FLOOR_SPAN = 12  # the floor is the median over +-FLOOR_SPAN tolerances (at least +-24 bins) around a line
KURTOGRAM_LEVELS = 5  # band widths Nyquist/2 .. Nyquist/32
KURTOGRAM_BANDS = 2  # the most impulsive bands searched for bearing evidence
HARMONICS = (1, 2, 3)
Q3_PER_DB = 8 / (10 * math.log10(2))  # the report's unit: 1/8 octave of power (8 q3 = 3.01 dB)
# Strengths in dB over the local floor. A line in noise alone reads 4-10 dB (the largest of a few bins over
# a median; seen on the training generator's clips), so the thresholds sit above that.
LINE_DB = 12.0  # a shaft order "stands out"
LOOSENESS_MIN_LINES = 6  # of 0.5x-2.5x half orders and 4x-10x harmonics
# A bearing fault's evidence (mean strength of its lines) must reach BEARING_MIN_DB over the floor and be
# BEARING_MARGIN_DB clear of the next candidate's. Looking in two bands, and at the best prefix of a family's
# harmonics, gives noise more chances, so the bar is 12.5 dB (11 with one band and all three harmonics); the
# margin is 1 dB: an inner-race defect passing through the load zone spreads its lines over sidebands at +-1x,
# +-2x, and those lift the neighbouring candidates' lines (a 6205's BPFI - 2x lies 4.7 % from its BPFO).
# Both chosen on the training generator's dev sets and confirmed on fresh ones, with no more bearing calls on
# healthy clips (benchmarks/orders_dev.py; docs/vibration-baseline.md, "Two bands, harmonic prefixes").
BEARING_MIN_DB = 12.5
BEARING_MARGIN_DB = 1.0
# Imbalance: 2x, 3x below ~15 % of 1x (velocity); misalignment: 2x above ~50 % of 1x (textbook zones). The
# boundary sits at their geometric mean, about 27 % (-11 dB); 3x, which imbalance lacks too, likewise.
MISALIGNMENT_REL_DB = 20 * math.log10(math.sqrt(0.15 * 0.5))
ABSENT_DB = -120.0  # the velocity ratio reported for a harmonic that does not stand out
FAULT_IDS = ("imbalance", "misalignment", "looseness", "bearing_outer", "bearing_inner", "bearing_ball")
# The verdicts a new speed alone can produce: 1x grows with the square of the speed, and its harmonics with the
# machine's resonances; a bearing's lines follow the speed and are evidence at any speed. (The GPU tier's
# knowledge base has an `at_new_speed` cause in these classes: gpu_backend/data/knowledge/vibration.toml.)
SHAFT_FAULTS = frozenset(FAULT_IDS[:3])
# A speed this far outside the speeds a baseline learnt is one it never saw (2 %: an induction motor's slip
# across its load range moves it that much at one set-point).
BASELINE_SPEED_TOLERANCE = 0.02


def outside_speeds(rpm: float, low: float, high: float) -> bool:
    """Whether `rpm` is a speed a baseline that saw `low`..`high` rpm never saw."""
    return not low * (1 - BASELINE_SPEED_TOLERANCE) <= rpm <= high * (1 + BASELINE_SPEED_TOLERANCE)


@dataclass(frozen=True)
class BearingGeometry:
    """Rolling elements n of diameter d on pitch diameter D (mm), contact angle (degrees)."""

    n: int
    ball_mm: float
    pitch_mm: float
    contact_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.n < 3 or not 0 < self.ball_mm < self.pitch_mm or not 0 <= self.contact_deg < 90:
            raise ValueError(f"not a bearing geometry: {self}")

    @property
    def _ratio(self) -> float:
        return self.ball_mm / self.pitch_mm * math.cos(math.radians(self.contact_deg))

    def orders(self) -> dict[str, float]:
        """Fault frequencies in multiples of the shaft speed (inner ring rotating)."""
        r = self._ratio
        return {
            "bpfo": self.n / 2 * (1 - r),
            "bpfi": self.n / 2 * (1 + r),
            "bsf": self.pitch_mm / (2 * self.ball_mm) * (1 - r * r),
            "ftf": 0.5 * (1 - r),
        }


@dataclass(frozen=True)
class Spectrum:
    """An amplitude spectrum with its bin width (Hz)."""

    amplitude: Float
    df: float

    @classmethod
    def of(cls, x: Float, sample_rate: float) -> Spectrum:
        window = np.hanning(len(x))
        return cls(np.abs(np.fft.rfft((x - x.mean()) * window)), sample_rate / len(x))

    def strength_db(self, freq_hz: float, tolerance_pct: float = TOLERANCE_PCT) -> float:
        """Peak within the tolerance around freq_hz over the local median floor, in dB (-inf off the spectrum)."""
        tol = max(freq_hz * tolerance_pct / 100, 1.5 * self.df)
        lo, hi = math.floor((freq_hz - tol) / self.df), math.ceil((freq_hz + tol) / self.df)
        if lo < 1 or hi >= len(self.amplitude):
            return -math.inf
        span = max(FLOOR_SPAN * tol, 24 * self.df)
        f_lo, f_hi = max(1, round((freq_hz - span) / self.df)), round((freq_hz + span) / self.df)
        floor = float(np.median(self.amplitude[f_lo : f_hi + 1]))
        peak = float(self.amplitude[lo : hi + 1].max())
        return 20 * math.log10(max(peak, 1e-12) / max(floor, 1e-12))

    def peak_amplitude(self, freq_hz: float, tolerance_pct: float = TOLERANCE_PCT) -> float:
        tol = max(freq_hz * tolerance_pct / 100, 1.5 * self.df)
        lo, hi = max(1, math.floor((freq_hz - tol) / self.df)), math.ceil((freq_hz + tol) / self.df)
        return float(self.amplitude[lo : hi + 1].max()) if hi < len(self.amplitude) else 0.0


def complex_envelope(
    spectrum: NDArray[np.complex128], df: float, band: tuple[float, float], pad: int = 1
) -> NDArray[np.complex128]:
    """The analytic signal of the band, shifted to 0 Hz and decimated to the band's width (x `pad`): the
    inverse FFT of the positive-frequency bins in the band alone (what a fast kurtogram computes)."""
    bins = spectrum[int(band[0] / df) : int(band[1] / df)]
    return np.fft.ifft(bins, n=pad * len(bins))


def kurtogram_bands(x: Float, sample_rate: float, min_width_hz: float, count: int) -> list[tuple[float, float]]:
    """(low, high) Hz of the `count` bands, each at least min_width_hz wide, whose complex envelopes are the
    most impulsive, most impulsive first (spectral kurtosis E|c|^4 / E(|c|^2)^2 - 2: 0 for Gaussian noise, -1
    for a tone, large for impacts). Bands: widths Nyquist/2 .. Nyquist/2^KURTOGRAM_LEVELS, each level's bands
    overlapping by half; ties keep the tree's order (wider first, then lower)."""
    spectrum = np.fft.rfft(x - x.mean())
    df = sample_rate / len(x)
    scored = [(spectral_kurtosis(spectrum, df, band), band) for band in kurtogram_tree(sample_rate, min_width_hz)]
    ranked = sorted(scored, key=lambda scored_band: -scored_band[0])  # stable: ties keep the tree's order
    return [band for _k, band in ranked[:count]]


def kurtogram_tree(sample_rate: float, min_width_hz: float) -> list[tuple[float, float]]:
    """The kurtogram's bands in the tree's order: widths Nyquist/2 .. Nyquist/2^KURTOGRAM_LEVELS (never narrower
    than min_width_hz, except the first level), each level's bands overlapping by half."""
    nyquist = sample_rate / 2
    bands = []
    for level in range(1, KURTOGRAM_LEVELS + 1):
        width = nyquist / 2**level
        if width < min_width_hz and level > 1:
            break
        bands += [(float(start), float(start + width)) for start in np.arange(0.0, nyquist - width + 1e-9, width / 2)]
    return bands


def spectral_kurtosis(spectrum: NDArray[np.complex128], df: float, band: tuple[float, float]) -> float:
    """E|c|^4 / E(|c|^2)^2 - 2 of the band's complex envelope c (`spectrum`: the signal's rfft, bins df Hz)."""
    power = np.abs(complex_envelope(spectrum, df, band)) ** 2
    return float(np.mean(power**2) / max(float(np.mean(power)) ** 2, 1e-30)) - 2


def kurtogram_band(x: Float, sample_rate: float, min_width_hz: float) -> tuple[float, float]:
    """The most impulsive band (kurtogram_bands' first)."""
    return kurtogram_bands(x, sample_rate, min_width_hz, 1)[0]


def envelope_spectrum(x: Float, sample_rate: float, band: tuple[float, float]) -> Spectrum:
    """Spectrum of the squared envelope of x band-passed to `band` (frequencies up to the band's width)."""
    spectrum = np.fft.rfft(x - x.mean())
    df = sample_rate / len(x)
    squared = np.abs(complex_envelope(spectrum, df, band, pad=2)) ** 2  # |c|^2 spans twice c's band: pad 2
    return Spectrum.of(squared, len(squared) / (len(x) / sample_rate))


Envelope = tuple[Spectrum, tuple[float, float]]  # a squared-envelope spectrum and its band (Hz)


def kurtogram_envelope(x: Float, sample_rate: float, min_width_hz: float) -> Envelope:
    """The kurtogram's (most impulsive) band and its squared-envelope spectrum."""
    band = kurtogram_band(x, sample_rate, min_width_hz)
    return envelope_spectrum(x, sample_rate, band), band


def kurtogram_envelopes(x: Float, sample_rate: float, min_width_hz: float) -> list[Envelope]:
    """The demodulation `identify` uses: the KURTOGRAM_BANDS most impulsive bands and their envelopes."""
    bands = kurtogram_bands(x, sample_rate, min_width_hz, KURTOGRAM_BANDS)
    return [(envelope_spectrum(x, sample_rate, band), band) for band in bands]


# (signal, sample rate, narrowest band) -> candidate envelopes, searched for bearing evidence. A parameter of
# `identify` so that benchmarks/orders_envelope_dev.py can try other demodulations under the same rules; only
# the kurtogram's two bands ship.
Demodulation = Callable[[Float, float, float], list[Envelope]]


@dataclass(frozen=True)
class OrderReport:
    """Strengths (q3 over the local floor: 8 q3 = 3 dB) at the orders that identify faults, and the verdict."""

    shaft: dict[str, int]  # raw spectrum: 0.5x .. 6x
    bearing: dict[str, int]  # envelope: bpfo / bpfi / bsf2 (2 x BSF), summed over harmonics 1-3
    velocity_rel_q3: dict[str, int]  # 2x and 3x velocity power re 1x (q3)
    fault: str
    ftf_q3: int = 0  # envelope at the cage frequency, summed over harmonics 1-3; reported, not used by the rules
    band_hz: tuple[float, float] = (0.0, 0.0)  # the demodulation band the envelope strengths come from


def _q3(db: float) -> int:
    return round(db * Q3_PER_DB)


def _lines(fundamental: float, sideband: float) -> list[float]:
    """Harmonics 1-3 of a bearing frequency and, when given, their +-sideband lines."""
    shifts = (0.0, -sideband, sideband) if sideband else (0.0,)
    return [h * fundamental + s for h in HARMONICS for s in shifts]


def _near(f: float, others: list[float]) -> bool:
    return any(abs(f - o) <= 2 * max(f, o) * TOLERANCE_PCT / 100 for o in others)


def bearing_scores(env: Spectrum, fr: float, orders: dict[str, float], max_hz: float) -> dict[str, float]:
    """Evidence for each race in the squared-envelope spectrum: outer race at BPFO (stationary, no sidebands),
    inner race at BPFI and its 1x sidebands (the defect turns with the shaft), ball at BSF or 2 x BSF (a ball
    defect strikes one race or both per spin) and its FTF sidebands (the ball travels with the cage).

    A score is the mean strength (each at least 0) of a candidate's lines below max_hz (the envelope's
    bandwidth) that no other candidate's harmonic shares (a shared line is evidence for neither), over
    harmonics 1, 1-2 or 1-3, whichever is highest: the harmonics fall off with the impacts' shape and the
    band, and a fault clear in its first harmonic is not diluted by higher ones lost in noise."""
    candidates = {
        "bearing_outer": [_lines(orders["bpfo"] * fr, 0.0)],
        "bearing_inner": [_lines(orders["bpfi"] * fr, fr)],
        "bearing_ball": [_lines(k * orders["bsf"] * fr, orders["ftf"] * fr) for k in (1, 2)],
    }
    harmonics = {
        name: [h * k * orders[key] * fr for h in HARMONICS for k in ((1, 2) if key == "bsf" else (1,))]
        for name, key in (("bearing_outer", "bpfo"), ("bearing_inner", "bpfi"), ("bearing_ball", "bsf"))
    }
    scores = {}
    for name, variants in candidates.items():
        others = [f for other, fs in harmonics.items() if other != name for f in fs]
        best = 0.0
        for lines, top in itertools.product(variants, HARMONICS):
            prefix = lines[: top * len(lines) // len(HARMONICS)]  # _lines lists harmonic by harmonic
            kept = [f for f in prefix if f * (1 + FLOOR_SPAN * TOLERANCE_PCT / 100) < max_hz and not _near(f, others)]
            if kept:
                best = max(best, float(np.mean([max(0.0, env.strength_db(f)) for f in kept])))
        scores[name] = best
    return scores


def shaft_fault(raw: Spectrum, fr: float) -> tuple[str, dict[str, float]]:
    """Looseness, misalignment or imbalance from the raw spectrum; also the 2x/3x velocity re 1x in dB."""
    lines = (0.5, 1.5, 2.5, 4, 5, 6, 7, 8, 9, 10)
    strong = sum(raw.strength_db(o * fr, SHAFT_TOLERANCE_PCT) >= LINE_DB for o in lines)
    a1 = raw.peak_amplitude(fr, SHAFT_TOLERANCE_PCT)
    rel = {}
    for order in (2, 3):
        # a harmonic that does not stand out of the floor counts as absent, whatever the floor's level
        present = raw.strength_db(order * fr, SHAFT_TOLERANCE_PCT) >= LINE_DB
        a = raw.peak_amplitude(order * fr, SHAFT_TOLERANCE_PCT) if present else 0.0
        # acceleration -> velocity; an absent harmonic (or a silent capture) reads as far below 1x
        rel[f"{order}x"] = 20 * math.log10(a / order / a1) if a > 0 and a1 > 0 else ABSENT_DB
    if strong >= LOOSENESS_MIN_LINES:
        return "looseness", rel
    if max(rel.values()) >= MISALIGNMENT_REL_DB:
        return "misalignment", rel
    return "imbalance", rel


def bearing_evidence(
    x: Float, sample_rate: float, fr: float, orders: dict[str, float], demodulation: Demodulation = kurtogram_envelopes
) -> tuple[Envelope, dict[str, float]]:
    """The demodulated band where a bearing candidate's evidence is strongest (ties: the more impulsive band), and
    every candidate's evidence there."""
    # the band must carry BPFI's first harmonic, its upper 1x sideband and their floor as envelope frequencies
    envelopes = demodulation(x, sample_rate, 1.3 * (orders["bpfi"] + 1) * fr)
    if not envelopes:
        raise ValueError("the demodulation gave no envelope")
    evidence = [bearing_scores(env, fr, orders, band[1] - band[0]) for env, band in envelopes]
    chosen = max(range(len(envelopes)), key=lambda i: (max(evidence[i].values()), -i))
    return envelopes[chosen], evidence[chosen]


def identify(
    samples: NDArray[np.int16],
    sample_rate: int,
    rpm: float,
    bearing: BearingGeometry,
    demodulation: Demodulation = kurtogram_envelopes,
) -> OrderReport:
    """The fault an anomalous stretch of vibration most likely shows, given shaft speed and bearing."""
    if not 60 <= rpm <= 60_000:
        raise ValueError(f"shaft speed {rpm} rpm is out of range (60-60000)")
    fr = rpm / 60
    x = samples.astype(np.float64)
    orders = bearing.orders()
    (env, band), scores = bearing_evidence(x, sample_rate, fr, orders, demodulation)
    raw = Spectrum.of(x, sample_rate)
    shaft = {
        f"{o:g}x": _q3(max(0.0, raw.strength_db(o * fr, SHAFT_TOLERANCE_PCT)))
        for o in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)
    }
    reported = {
        name: _q3(sum(max(0.0, env.strength_db(h * k * orders[key] * fr)) for h in HARMONICS))
        for name, key, k in (("bpfo", "bpfo", 1), ("bpfi", "bpfi", 1), ("bsf2", "bsf", 2), ("ftf", "ftf", 1))
    }
    ranked = sorted(scores, key=lambda k: scores[k], reverse=True)
    shaft_verdict, rel = shaft_fault(raw, fr)
    # looseness first: its half orders land near bearing frequencies (5.5x is 1.5 % from a 6205's BPFI)
    if shaft_verdict == "looseness":
        fault = shaft_verdict
    elif scores[ranked[0]] >= BEARING_MIN_DB and scores[ranked[0]] - scores[ranked[1]] >= BEARING_MARGIN_DB:
        fault = ranked[0]
    else:
        fault = shaft_verdict
    ftf = reported.pop("ftf")
    velocity = {k: _q3(v) for k, v in rel.items()}
    return OrderReport(shaft, reported, velocity, fault, ftf, band)
