"""The "not the shaft" prototype (benchmarks/orders_deviation_dev.py): a shaft verdict becomes the best bearing
candidate only when the lowest band stayed near the baseline, another band left it, and the candidate clears the
bar and the margin; looseness, bearing verdicts and shaft-band deviations stay as `identify` said."""

from __future__ import annotations

from benchmarks.orders_deviation_dev import Capture, not_the_shaft

QUIET = (0.5, 4.0) + (0.0,) * 14  # the lowest band near the baseline, the second far from it
EVIDENCE = {"bearing_outer": 9.0, "bearing_inner": 7.5, "bearing_ball": 6.0}


def capture(fault: str, z: tuple[float, ...] = QUIET, evidence: dict[str, float] = EVIDENCE) -> Capture:
    return Capture("bearing_outer", True, z, fault, evidence)


def test_a_shaft_verdict_with_the_shaft_band_quiet_names_the_bearing() -> None:
    assert not_the_shaft(capture("imbalance"), 2.0, 8.0) == "bearing_outer"
    assert not_the_shaft(capture("misalignment"), 2.0, 8.0) == "bearing_outer"


def test_what_stays_as_identify_said() -> None:
    assert not_the_shaft(capture("looseness"), 2.0, 8.0) == "looseness"
    assert not_the_shaft(capture("bearing_ball"), 2.0, 8.0) == "bearing_ball"
    assert not_the_shaft(capture("imbalance", z=(2.5, 4.0) + (0.0,) * 14), 2.0, 8.0) == "imbalance"  # the shaft moved
    assert not_the_shaft(capture("imbalance", z=(0.5, 2.9) + (0.0,) * 14), 2.0, 8.0) == "imbalance"  # nothing left
    assert not_the_shaft(capture("imbalance"), 2.0, 9.5) == "imbalance"  # under the bar
    close = {"bearing_outer": 9.0, "bearing_inner": 8.5, "bearing_ball": 6.0}  # under the 1 dB margin
    assert not_the_shaft(capture("imbalance", evidence=close), 2.0, 8.0) == "imbalance"
