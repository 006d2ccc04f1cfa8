"""The baseline development loop (benchmarks/baseline_dev.py): its speed profile and its counting."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from benchmarks.baseline_dev import Window, cached_windows, evaluate, machine_windows, ramped, speeds
from benchmarks.learn_on import LearningOn, LearnOnPolicy, halve
from node_factory.corpus import synth_vibration as sv
from node_factory.corpus.families import FAMILIES
from node_factory.reference.baseline import AnomalyDetector, BaselineLearner, _Moments

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


def _learnt(rng: np.random.Generator) -> tuple[BaselineLearner, AnomalyDetector]:
    learner = BaselineLearner(16, 40, b"\0" * 8)
    for _ in range(40):
        learner.push(rng.integers(-600, 600, 16).astype(np.int32))
    return learner, AnomalyDetector(learner.result())


def test_learning_on_joins_only_windows_below_the_gate_and_refits_from_the_moments() -> None:
    rng = np.random.default_rng(5)
    learner, detector = _learnt(rng)
    online = LearningOn.after(LearnOnPolicy(gate_q4=12, refit_windows=4, cap_windows=1 << 16), learner, detector)
    threshold, first = detector.baseline.threshold, detector.baseline.model
    far = np.full(16, 5000, np.int32)
    score, _ = detector.push(far)
    online.push(far, score)
    assert score * 16 >= threshold * 12 and online.joined == 0 and online.moments.n == 40
    shifted = [rng.integers(-600, 600, 16).astype(np.int32) + 150 for _ in range(4)]
    scores = []
    for sig in shifted:
        score, _ = detector.push(sig)
        scores.append(score)
        online.push(sig, score)
    assert all(s * 16 < threshold * 12 for s in scores) and online.joined == 4 and online.refits == 1
    assert detector.baseline.threshold == threshold and detector.baseline.windows == 44
    assert detector.baseline.model != first and detector.baseline.model == online.moments.model()


def test_learning_on_learns_nothing_while_an_anomaly_is_active() -> None:
    learner, detector = _learnt(np.random.default_rng(6))
    online = LearningOn.after(LearnOnPolicy(gate_q4=16, refit_windows=1, cap_windows=1 << 16), learner, detector)
    far = np.full(16, 5000, np.int32)
    for _ in range(3):
        online.push(far, detector.push(far)[0])
    assert detector.active
    quiet = np.array(detector.baseline.model.mean, np.int32)
    score, _ = detector.push(quiet)  # a healthy-looking window, but the anomaly has not ended
    online.push(quiet, score)
    assert score * 16 < detector.baseline.threshold * 16 and online.joined == 0


def test_halving_the_moments_keeps_mean_and_covariance() -> None:
    rng = np.random.default_rng(7)
    moments = _Moments(16)
    for _ in range(64):
        moments.add(rng.integers(-600, 600, 16).astype(np.int32) * 2)  # even sums: halving is exact
    before = moments.model()
    halve(moments)
    assert moments.n == 32 and moments.model() == before


def test_learning_on_halves_its_moments_at_the_cap() -> None:
    learner, detector = _learnt(np.random.default_rng(8))
    online = LearningOn.after(LearnOnPolicy(gate_q4=16, refit_windows=1000, cap_windows=42), learner, detector)
    quiet = np.array(detector.baseline.model.mean, np.int32)
    for _ in range(2):
        online.push(quiet, detector.push(quiet)[0])
    assert online.joined == 2 and online.moments.n == 21  # 40 + 2 reached the cap: halved


def test_a_slow_fault_grows_from_nothing_and_leaves_the_other_windows_alone() -> None:
    plain = machine_windows(FAMILY, 1, 10, 0.0, 3, 0.15, (0.05, 1.0), (2.0, 30.0))
    slow = machine_windows(FAMILY, 1, 10, 0.0, 3, 0.15, (0.05, 1.0), (2.0, 30.0), (0.2, 0.2))
    assert all(np.array_equal(a.sig, b.sig) and a.label == b.label for a, b in zip(plain, slow, strict=False))
    grown = slow[len(plain) :]
    assert {w.label for w in grown} == {"slow:" + sv.VIBRATION_CLASSES[1:][1]}
    severities = [w.severity for w in grown]
    assert severities[0] < 0.5 and severities == sorted(severities) and severities[-1] == 1.0
    assert len(grown) == round(12 / 2.56) + round(120 / 2.56)


def test_cached_windows_are_the_rendered_ones(tmp_path: Path) -> None:
    args = (10, 0.0, 3, 0.15, (0.05, 1.0), (2.0, 30.0), None)
    first = cached_windows(str(tmp_path), FAMILY, 2, *args)
    again = cached_windows(str(tmp_path), FAMILY, 2, *args)
    assert len(list(tmp_path.iterdir())) == 1
    for a, b in zip(first, again, strict=True):
        assert (a.label, a.span, a.severity) == (b.label, b.span, b.severity) and np.array_equal(a.sig, b.sig)


def test_learning_on_the_mean_only_keeps_the_baselines_covariance() -> None:
    rng = np.random.default_rng(9)
    learner, detector = _learnt(rng)
    policy = LearnOnPolicy(gate_q4=16, refit_windows=4, cap_windows=1 << 16, mean_only=True)
    online = LearningOn.after(policy, learner, detector)
    first = detector.baseline.model
    for _ in range(4):
        sig = rng.integers(-600, 600, 16).astype(np.int32) + 150
        online.push(sig, detector.push(sig)[0])
    now = detector.baseline.model
    assert online.refits == 1 and now.mean == online.moments.model().mean and now.mean != first.mean
    assert (now.scale, now.weight, now.lower) == (first.scale, first.weight, first.lower)
