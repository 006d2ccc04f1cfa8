"""Fault identification in shaft orders (node_factory.reference.orders, .bearings), on synthetic signals built
here (impacts ringing a resonance, shaft tones), not on either generator."""

from __future__ import annotations

import numpy as np
import pytest

from node_factory.reference.bearings import bearing
from node_factory.reference.orders import (
    BEARING_MIN_DB,
    BearingGeometry,
    Spectrum,
    bearing_scores,
    identify,
    kurtogram_band,
    kurtogram_bands,
)

SR = 3200


def test_cwru_drive_end_orders_match_the_published_values() -> None:
    orders = bearing("6205-2rs jem").orders()
    assert orders["bpfo"] == pytest.approx(3.5848, abs=1e-3)
    assert orders["bpfi"] == pytest.approx(5.4152, abs=1e-3)
    assert orders["ftf"] == pytest.approx(0.39828, abs=1e-3)
    assert orders["bsf"] == pytest.approx(2.357, abs=2e-3)


def test_unknown_designation_and_impossible_geometry_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown bearing designation '6204'"):
        bearing("6204")
    with pytest.raises(ValueError, match="not a bearing geometry"):
        BearingGeometry(9, 40.0, 39.0)


def test_a_line_stands_out_of_its_floor_and_its_neighbour_does_not() -> None:
    t = np.arange(SR * 4)
    x = 8000 * np.sin(2 * np.pi * 50 * t / SR) + np.random.default_rng(1).normal(0, 100, t.size)
    spectrum = Spectrum.of(x, SR)
    assert spectrum.strength_db(50.0) > 40
    assert spectrum.strength_db(57.0) < 12  # 14 % away: noise only
    assert spectrum.strength_db(1599.0) == -np.inf  # its floor would lie beyond Nyquist


def _impacts(
    rate_hz: float, rpm: float, rng: np.random.Generator, am_hz: float = 0.0, resonance: float = 900.0
) -> np.ndarray:
    """Impacts at rate_hz ringing a resonance, amplitude-modulated at am_hz if given, a 1x tone and sensor
    noise, as int16."""
    n = SR * 4
    x = 300 * np.sin(2 * np.pi * rpm / 60 * np.arange(n) / SR) + rng.normal(0, 60, n)
    ring = np.exp(-np.arange(64) / 10) * np.sin(2 * np.pi * resonance * np.arange(64) / SR) * 3000
    for start in np.arange(0, n - 64, SR / rate_hz).astype(int):
        x[start : start + 64] += ring * (1 + 0.8 * np.sin(2 * np.pi * am_hz * start / SR))
    return np.clip(x, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize(("order", "expected"), [("bpfo", "bearing_outer"), ("bpfi", "bearing_inner")])
def test_outer_and_inner_race_impacts_are_told_apart_by_their_orders(order: str, expected: str) -> None:
    geometry = bearing("6205-2RS JEM")
    rpm = 1500.0
    x = _impacts(geometry.orders()[order] * rpm / 60, rpm, np.random.default_rng(3))
    report = identify(x, SR, rpm, geometry)
    assert report.fault == expected
    # the same signal read as a machine at another speed no longer shows that race's frequency
    assert identify(x, SR, rpm * 0.85, geometry).fault != expected


def test_a_ball_fault_is_told_from_the_races_by_2_bsf_and_its_cage_sidebands() -> None:
    geometry = bearing("6205-2RS JEM")
    rpm = 1800.0
    orders = geometry.orders()
    x = _impacts(2 * orders["bsf"] * rpm / 60, rpm, np.random.default_rng(5), am_hz=orders["ftf"] * rpm / 60)
    report = identify(x, SR, rpm, geometry)
    assert report.fault == "bearing_ball"
    assert report.bearing["bsf2"] > max(report.bearing["bpfo"], report.bearing["bpfi"])


@pytest.mark.parametrize("rpm", [1200.0, 1800.0, 2400.0])
def test_inner_race_impacts_gated_by_the_load_zone_are_still_named_inner_race(rpm: float) -> None:
    """The defect turns with the shaft and strikes hard only inside the load zone (here +-90 degrees,
    (cos theta)^1.5, nothing outside): BPFI's lines spread over +-1x, +-2x sidebands. Named by BPFI and its
    sidebands; read at another speed, not."""
    geometry = bearing("6205-2RS JEM")
    n, k, fr = SR * 4, np.arange(64), rpm / 60
    rng = np.random.default_rng(int(rpm))
    x = 300 * np.sin(2 * np.pi * fr * np.arange(n) / SR) + rng.normal(0, 60, n)
    ring = np.exp(-k / 10) * np.sin(2 * np.pi * 900 * k / SR) * 400
    for start in np.arange(0, n - 64, SR / (geometry.orders()["bpfi"] * fr)).astype(int):
        x[start : start + 64] += ring * max(0.0, np.cos(2 * np.pi * fr * start / SR)) ** 1.5
    samples = np.clip(x, -32768, 32767).astype(np.int16)
    assert identify(samples, SR, rpm, geometry).fault == "bearing_inner"
    assert identify(samples, SR, rpm * 0.85, geometry).fault != "bearing_inner"


@pytest.mark.parametrize("resonance", [300.0, 1000.0, 1400.0])
def test_the_demodulation_band_is_where_the_impacts_ring(resonance: float) -> None:
    """Rings of a resonance at 21 Hz under a strong 1x and a strong tone elsewhere (a gear mesh, say): the
    kurtogram picks a band around the resonance, not the tones' (a tone's envelope is flat: kurtosis -1)."""
    n, k = SR * 4, np.arange(64)
    t = np.arange(n) / SR
    x = np.random.default_rng(7).normal(0, 60, n) + 3000 * np.sin(2 * np.pi * 50 * t)
    x += 3000 * np.sin(2 * np.pi * (1700 - resonance) * t)
    ring = np.hanning(64) * np.sin(2 * np.pi * resonance * k / SR) * 3000  # a smooth onset: no broadband click
    for start in np.arange(0, n - 64, SR / 21.0).astype(int):
        x[start : start + 64] += ring
    low, high = kurtogram_band(x, SR, min_width_hz=150.0)
    assert low <= resonance <= high and not low <= 1700 - resonance <= high and high - low <= 400


def test_the_bands_are_ranked_by_impulsiveness() -> None:
    """kurtogram_bands lists distinct bands, the most impulsive first (kurtogram_band's), each wide enough."""
    geometry = bearing("6205-2RS JEM")
    x = _impacts(geometry.orders()["bpfo"] * 25.0, 1500.0, np.random.default_rng(3)).astype(float)
    bands = kurtogram_bands(x, SR, 150.0, 4)
    assert len(bands) == len(set(bands)) == 4
    assert bands[0] == kurtogram_band(x, SR, 150.0)
    assert bands[0][0] <= 900.0 <= bands[0][1]  # the impacts' ring
    assert all(high - low >= 150.0 for low, high in bands)
    assert kurtogram_bands(x, SR, 150.0, 1) == bands[:1]


def test_a_fault_clear_in_its_first_harmonic_is_not_diluted_by_noise_at_the_others() -> None:
    """An envelope spectrum of noise with BPFI and its 1x sidebands 20 dB over the floor and nothing at 2x, 3x
    BPFI: the mean over all three harmonics' lines is about 10 dB, under the bar (what it was before the
    prefixes); the best prefix (the first harmonic and its sidebands) carries the fault."""
    geometry = bearing("6205-2RS JEM")
    fr, orders, df = 25.0, geometry.orders(), 0.25
    amplitude = np.abs(np.random.default_rng(4).normal(1.0, 0.3, 4096))
    for shift in (-fr, 0.0, fr):
        amplitude[round((orders["bpfi"] * fr + shift) / df)] = 10.0
    scores = bearing_scores(Spectrum(amplitude, df), fr, orders, max_hz=800.0)
    assert scores["bearing_inner"] >= 19.0
    assert max(scores["bearing_outer"], scores["bearing_ball"]) < BEARING_MIN_DB


@pytest.mark.xfail(
    strict=True, reason="known limitation: the band is chosen by kurtosis alone (docs/vibration-baseline.md)"
)
def test_weak_impacts_are_found_in_a_band_the_kurtogram_passes_over() -> None:
    """Weak outer-race impacts ringing 1,200 Hz in noise, and six random clicks ringing 400 Hz: the clicks
    make the most impulsive band (the kurtogram's), whose envelope holds no bearing line, so the fault goes
    unnamed. Choosing among bands by bearing evidence names it, but was not adopted: it also finds evidence
    in noise (the test below)."""
    geometry = bearing("6205-2RS JEM")
    rpm, n, k = 1500.0, SR * 4, np.arange(64)
    fr, orders = rpm / 60, geometry.orders()
    rng = np.random.default_rng(11)
    x = 300 * np.sin(2 * np.pi * fr * np.arange(n) / SR) + rng.normal(0, 200, n)
    ring = np.exp(-k / 10) * np.sin(2 * np.pi * 1200 * k / SR) * 600
    for start in np.arange(0, n - 64, SR / (orders["bpfo"] * fr)).astype(int):
        x[start : start + 64] += ring
    click = np.exp(-k / 10) * np.sin(2 * np.pi * 400 * k / SR) * 12000
    for start in rng.integers(0, n - 64, 6):
        x[start : start + 64] += click
    samples = np.clip(x, -32768, 32767).astype(np.int16)
    low, high = kurtogram_band(samples.astype(float), SR, min_width_hz=1.3 * (orders["bpfi"] + 1) * fr)
    assert low <= 400 <= high and not low <= 1200 <= high
    assert identify(samples, SR, rpm, geometry).fault == "bearing_outer"


@pytest.mark.parametrize("seed", range(8))
def test_searching_bands_for_evidence_does_not_find_a_bearing_fault_in_noise(seed: int) -> None:
    """A healthy-looking capture (1x and broadband noise) is no bearing fault. A guard for any change to the
    band choice: the best of ten bands' evidence (levels 1-2 and the kurtogram's band) reached 12.4 dB in
    noise on seed 7, over the 11 dB bar."""
    rng = np.random.default_rng(100 + seed)
    rpm = float(rng.uniform(900, 3600))
    x = 2000 * np.sin(2 * np.pi * rpm / 60 * np.arange(SR * 4) / SR) + rng.normal(0, 300, SR * 4)
    report = identify(x.astype(np.int16), SR, rpm, bearing("6205-2RS JEM"))
    assert report.fault == "imbalance"


def test_shaft_faults_are_named_from_the_raw_spectrum() -> None:
    geometry = bearing("6205-2RS JEM")
    t = np.arange(SR * 4) / SR
    fr = 25.0
    noise = np.random.default_rng(9).normal(0, 30, t.size)

    def tones(amplitudes: dict[float, float]) -> np.ndarray:
        x = noise + sum(a * np.sin(2 * np.pi * o * fr * t + o) for o, a in amplitudes.items())
        return np.clip(x, -32768, 32767).astype(np.int16)

    assert identify(tones({1: 3000.0, 2: 200.0}), SR, fr * 60, geometry).fault == "imbalance"
    assert identify(tones({1: 1500.0, 2: 2000.0, 3: 500.0}), SR, fr * 60, geometry).fault == "misalignment"
    loose = {o: 800.0 / o**0.5 for o in (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9, 10)}
    assert identify(tones(loose), SR, fr * 60, geometry).fault == "looseness"


def test_a_silent_capture_is_not_called_misalignment() -> None:
    report = identify(np.zeros(SR * 4, np.int16), SR, 1500.0, bearing("6205-2RS JEM"))
    assert report.fault == "imbalance" and set(report.bearing.values()) == {0}


def test_speed_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        identify(np.zeros(SR, np.int16), SR, 0.0, bearing("ER-16K"))
