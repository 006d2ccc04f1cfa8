"""The speed-aware score prototype (benchmarks/baseline_speed_dev.py): its float score agrees with the node's
integer score, conditioning on speed forgives what the speed explains, and the edge prior leaves windows inside
the baseline's speeds alone."""

from __future__ import annotations

import numpy as np

from benchmarks.baseline_dev import Window
from benchmarks.baseline_speed_dev import FloatScore, to_edge, vector
from node_factory.reference.baseline import _Moments


def correlated_signatures(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 60, (n, 1))  # a load-like movement of every band together
    return (rng.normal(0, 30, (n, 16)) + common + rng.normal(0, 400, 16)).round()


def test_the_float_score_is_the_nodes_integer_score_to_within_a_few_percent() -> None:
    sigs = correlated_signatures(300, 1)
    moments = _Moments(16)
    for sig in sigs.astype(np.int32):
        moments.add(sig)
    integer, floating = moments.model(), FloatScore(sigs, speed_first=False)
    probes = correlated_signatures(50, 2) + np.random.default_rng(3).normal(0, 40, (50, 16))
    for p in probes:
        assert abs(floating(p) - integer.score(p.round().astype(np.int32))) <= 0.03 * floating(p) + 2


def test_a_speed_change_the_bands_follow_costs_nothing_once_conditioned_on_the_speed() -> None:
    rng = np.random.default_rng(4)
    log_rpm = np.log(rng.uniform(1400, 1600, 400))
    slope = np.linspace(200, 800, 16)  # every band rises with the speed, each at its own rate
    sigs = np.outer(log_rpm - log_rpm.mean(), slope) + rng.normal(0, 20, (400, 16))
    x = np.column_stack([log_rpm, sigs])
    conditional, plain = FloatScore(x, speed_first=True), FloatScore(sigs, speed_first=False)
    faster = np.log(2000.0)  # well beyond the speeds learnt, on the same line
    follows = np.concatenate([[faster], slope * (faster - log_rpm.mean())])
    assert conditional(follows) < 16 * 16 * 2 < plain(follows[1:])
    deviates = follows + np.concatenate([[0], np.eye(16)[3] * 200])  # one band 10 sd off the line
    assert conditional(deviates) > 16 * 16 * 4


def test_the_edge_prior_moves_only_windows_outside_the_baselines_speeds() -> None:
    sig = np.arange(16, dtype=np.int32)
    windows = [Window("healthy", rpm, sig) for rpm in (1000.0, 1100.0, 1050.0, 1210.0, 900.0)]
    slopes = np.full(16, 100.0)
    moved = to_edge(windows, 2, slopes)
    assert np.array_equal(vector(moved[2], False), sig)  # 1050 rpm: inside 1000-1100
    assert np.allclose(vector(moved[3], False), sig - 100 * np.log(1210 / 1100))
    assert np.allclose(vector(moved[4], False), sig + 100 * np.log(1000 / 900))
