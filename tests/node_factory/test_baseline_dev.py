"""The baseline development loop (benchmarks/baseline_dev.py): its speed profile and its counting."""

from __future__ import annotations

import itertools

import numpy as np

from benchmarks.baseline_dev import Window, evaluate, machine_windows, ramped, speeds
from node_factory.corpus import synth_vibration as sv
from node_factory.corpus.families import FAMILIES

FAMILY = FAMILIES["vibration"]
N_BASE = round(600 / (FAMILY.features.window_samples / FAMILY.features.sample_rate))  # 234 windows


def test_speeds_stay_within_the_spread_and_ramp_between_set_points() -> None:
    rpm = list(itertools.islice(speeds(np.random.default_rng(3), 1200.0, 0.1, 2.56), 5000))
    assert min(rpm) >= 1080 - 1e-9 and max(rpm) <= 1320 + 1e-9
    steps = np.abs(np.diff(rpm))
    assert np.sum(steps > 0) > 8  # several set-point changes in 3.5 h
    assert steps.max() <= 240 / 8 + 1e-9  # 20 s ramps of 8 windows: no jump


def test_false_anomalies_count_inside_and_outside_the_baselines_speed_range() -> None:
    rng = np.random.default_rng(0)

    def windows(label: str, rpm: float, count: int, shift: int = 0) -> list[Window]:
        return [Window(label, rpm, rng.integers(-600, 600, 16).astype(np.int32) + shift) for _ in range(count)]

    run = windows("healthy", 1000, N_BASE) + windows("healthy", 1000, 100)
    run += windows("healthy", 1500, 20, shift=4000)  # a speed the baseline never saw: one false anomaly
    run += windows("healthy", 1000, 20) + windows("imbalance", 1000, 10, shift=4000)
    r = evaluate(FAMILY, run, 600)
    assert (r["false"], r["false_in"], r["flagged"]) == (1, 0, 1)
    assert r["auc"] > 0.9 and abs(r["hours_in"] - 120 * 2.56 / 3600) < 1e-9


def test_ramped_speeds_change_inside_windows_and_weak_faults_are_drawn() -> None:
    machine = sv.draw_machine(np.random.default_rng(1), 3200)
    bounds = list(itertools.islice(ramped(np.random.default_rng(2), machine, 0.1, (2.0, 30.0), 2.56), 6000))
    nominal = machine.rpm_nominal
    assert min(bounds) >= 0.9 * nominal - 1e-9 and max(bounds) <= 1.1 * nominal + 1e-9
    steps = np.abs(np.diff(bounds))
    assert np.sum(steps > 0) > 8 and np.sum((steps > 0) & (steps < np.max(steps))) > 0
    windows = machine_windows(FAMILY, 0, 30, 0.0, 5, 0.15, (0.05, 1.0), (2.0, 30.0))
    faults = [w for w in windows if w.label != "healthy"]
    assert {w.label for w in faults} == set(sv.VIBRATION_CLASSES[1:])
    assert all(0.05 <= w.severity <= 1.0 for w in faults) and len({w.severity for w in faults}) == 6
