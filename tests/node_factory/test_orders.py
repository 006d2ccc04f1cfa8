"""Fault identification in shaft orders (node_factory.reference.orders, .bearings)."""

from __future__ import annotations

import numpy as np
import pytest

from node_factory.reference.bearings import bearing
from node_factory.reference.orders import BearingGeometry, identify, single_bin_powers

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


def test_single_bin_power_finds_a_tone_and_not_its_neighbour() -> None:
    t = np.arange(SR * 4)
    x = (8000 * np.sin(2 * np.pi * 50 * t / SR)).astype(np.int64)
    on, off = single_bin_powers(x, [50.0, 53.0], SR)
    assert on > 1000 * max(off, 1)


def _impacts(rate_hz: float, rpm: float, rng: np.random.Generator) -> np.ndarray:
    """Impacts at rate_hz ringing a 900 Hz resonance, a 1x tone and sensor noise, as int16."""
    n = SR * 4
    x = 300 * np.sin(2 * np.pi * rpm / 60 * np.arange(n) / SR) + rng.normal(0, 60, n)
    ring = np.exp(-np.arange(64) / 10) * np.sin(2 * np.pi * 900 * np.arange(64) / SR) * 3000
    for start in np.arange(0, n - 64, SR / rate_hz).astype(int):
        x[start : start + 64] += ring
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


def test_speed_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        identify(np.zeros(SR, np.int16), SR, 0.0, bearing("ER-16K"))
