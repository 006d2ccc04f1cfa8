"""The demodulation hook of `identify` and the alternatives tried on it (benchmarks/orders_envelope_dev.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.orders_envelope_dev import VARIANTS, prewhiten
from node_factory.reference.bearings import bearing
from node_factory.reference.orders import Envelope, Float, Spectrum, identify

SR = 3200


def _outer_race(rpm: float) -> np.ndarray:
    geometry = bearing("6205-2RS JEM")
    n, k = SR * 4, np.arange(64)
    rng = np.random.default_rng(3)
    x = 300 * np.sin(2 * np.pi * rpm / 60 * np.arange(n) / SR) + rng.normal(0, 60, n)
    ring = np.exp(-k / 10) * np.sin(2 * np.pi * 900 * k / SR) * 3000
    for start in np.arange(0, n - 64, SR / (geometry.orders()["bpfo"] * rpm / 60)).astype(int):
        x[start : start + 64] += ring
    return np.clip(x, -32768, 32767).astype(np.int16)


def test_identify_uses_the_demodulation_it_is_given() -> None:
    """Clear outer-race impacts are named by the default (the kurtogram's bands); a demodulation that hands back
    a flat envelope spectrum leaves no bearing evidence, so the verdict falls to the shaft; handed both, identify
    takes the evidence from the envelope that holds it, whichever comes first."""
    x, rpm, geometry = _outer_race(1500.0), 1500.0, bearing("6205-2RS JEM")
    flat_band = (0.0, SR / 2)

    def flat(_x: Float, _sample_rate: float, _width: float) -> list[Envelope]:
        return [(Spectrum(np.ones(4096), 0.25), flat_band)]

    def flat_then_kurtogram(x: Float, sample_rate: float, width: float) -> list[Envelope]:
        return flat(x, sample_rate, width) + VARIANTS["kurtogram_first"](x, sample_rate, width)

    assert identify(x, SR, rpm, geometry).fault == "bearing_outer"
    assert identify(x, SR, rpm, geometry, VARIANTS["kurtogram"]) == identify(x, SR, rpm, geometry)
    assert identify(x, SR, rpm, geometry, flat).fault == "imbalance"
    both = identify(x, SR, rpm, geometry, flat_then_kurtogram)
    assert both.fault == "bearing_outer" and both.band_hz != flat_band
    assert both == identify(x, SR, rpm, geometry, VARIANTS["kurtogram_first"])
    with pytest.raises(ValueError, match="no envelope"):
        identify(x, SR, rpm, geometry, lambda *_: [])


def test_prewhitening_keeps_the_phase_and_flattens_the_amplitude() -> None:
    rng = np.random.default_rng(0)
    x = 1000 * np.sin(2 * np.pi * 50 * np.arange(4096) / SR) + rng.normal(0, 10, 4096)
    white = prewhiten(x)
    spectrum, original = np.fft.rfft(white), np.fft.rfft(x - x.mean())
    assert np.allclose(np.abs(spectrum[1:-1]), 1.0)
    assert np.allclose(np.angle(spectrum[1:-1]), np.angle(original[1:-1]), atol=1e-6)


def test_prewhitening_erases_strictly_periodic_impacts_that_the_band_choices_keep() -> None:
    """Jitter-free impacts at BPFO are, in the spectrum, nothing but lines at multiples of BPFO; whitening gives
    them the noise's amplitude, and what made them impacts is gone (one reason pre-whitening lost on the dev
    sets, docs/vibration-baseline.md). The three band choices still name the fault."""
    x, rpm, geometry = _outer_race(1500.0), 1500.0, bearing("6205-2RS JEM")
    faults = {name: identify(x, SR, rpm, geometry, demodulation).fault for name, demodulation in VARIANTS.items()}
    assert faults == {
        "kurtogram": "bearing_outer",
        "kurtogram_first": "bearing_outer",
        "cpw": "imbalance",
        "cpw_kurtogram": "imbalance",
        "average": "bearing_outer",
        "protrugram": "bearing_outer",
    }
