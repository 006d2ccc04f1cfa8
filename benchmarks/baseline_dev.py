"""Development loop for the per-machine baseline's false anomalies, on the TRAINING generator only (issue #15).

Never on node_factory.heldout: the held-out machines score the method once it is fixed
(benchmarks/vibration_baseline.py). Each dev machine is `synth_vibration.draw_machine` (fixed resonances,
damping, healthy harmonics, noise, gain) rendered window by window with `synth_vibration.render(...,
machine, rpm, load)`; its speed moves between set-points within +-`spread` of nominal (dwell 2-20 min, 20 s
ramps) and its load wanders slowly (1 dB standard deviation, about 5 minutes' correlation). The node
learns a baseline from the first `baseline_s`, then scores `hours` of healthy running and a segment per
fault class. Printed: anomaly AUC per machine, false anomalies per day (all healthy windows, and
those whose speed lies inside the range the baseline saw), fault segments flagged, thresholds.

Weak faults and speed changes inside windows (`--severity 0.05 1 --ramp-s 2 30`) are where the score loses:
with the recipes' full-strength faults every machine's AUC is near 1 (docs/vibration-baseline.md).
`--learn-on GATE_Q4 REFIT CAP` (repeatable) also scores the same windows with learning on
(benchmarks/learn_on.py), and `--slow-min` adds a slowly growing fault per machine, its risk.

Usage: python -m benchmarks.baseline_dev [--machines 8] [--hours 2] [--family vibration] [--spread 0.15]
       [--severity LOW HIGH] [--ramp-s SHORTEST LONGEST] [--slow-min SHORTEST LONGEST]
       [--learn-on GATE_Q4 REFIT CAP ...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.learn_on import LearningOn, LearnOnPolicy
from node_factory.corpus import synth_vibration as sv
from node_factory.corpus.families import FAMILIES, Family
from node_factory.evaluation.vibration import auc
from node_factory.reference.baseline import AnomalyDetector, BaselineLearner, digest8, signature
from node_factory.reference.features import frame_features

DEV_SEED = 9_000_000  # none of synth_vibration's split seeds (5, 6, 7 million) nor orders_dev's (8 million)
FAULTS = sv.VIBRATION_CLASSES[1:]


@dataclass(frozen=True)
class Window:
    label: str
    rpm: float  # the window's mean speed
    sig: NDArray[np.int32]
    rpm_lo: float | None = None  # its lowest and highest speed (the mean if not given)
    rpm_hi: float | None = None
    severity: float = 1.0  # of a fault window's fault components

    @property
    def span(self) -> tuple[float, float]:
        return (self.rpm if self.rpm_lo is None else self.rpm_lo, self.rpm if self.rpm_hi is None else self.rpm_hi)


def speeds(rng: np.random.Generator, nominal: float, spread: float, window_s: float) -> Iterator[float]:
    """Shaft speed per window: set-points within +-spread of nominal, dwell 2-20 min, 20 s linear ramps."""
    rpm = nominal * (1 + rng.uniform(-spread, spread))
    while True:
        for _ in range(round(rng.uniform(120, 1200) / window_s)):
            yield rpm
        target = nominal * (1 + rng.uniform(-spread, spread))
        steps = max(1, round(20 / window_s))
        for k in range(1, steps + 1):
            yield rpm + (target - rpm) * k / steps
        rpm = target


def machine_windows(
    family: Family,
    index: int,
    baseline_s: float,
    hours: float,
    fault_s: float,
    spread: float,
    severity: tuple[float, float] = (1.0, 1.0),
    ramp_s: tuple[float, float] = (20.0, 20.0),
    slow_min: tuple[float, float] | None = None,
) -> list[Window]:
    """The machine's windows: healthy running, then one segment per fault class at a severity drawn
    log-uniformly from `severity`. Speed ramps last `ramp_s` (drawn uniformly) and the speed changes inside a
    window as it does between them (the window's `rpm` is its mean, `rpm_lo`/`rpm_hi` its extremes).

    With `slow_min`, a slowly growing fault follows (label "slow:<class>", the class FAULTS[index % 6]): its
    severity ramps linearly from 0 to 1 over a duration drawn uniformly from `slow_min` minutes, then holds
    at 1 for 2 minutes. It is drawn after everything else, so the other windows are unchanged."""
    cfg = family.features
    rng = np.random.default_rng(DEV_SEED + index)
    machine = sv.draw_machine(rng, cfg.sample_rate)
    window_s = cfg.window_samples / cfg.sample_rate
    labels = ["healthy"] * round((baseline_s + hours * 3600) / window_s)
    for label in FAULTS:
        labels += [label] * round(fault_s / window_s)
    fixed = severity == (1.0, 1.0) and ramp_s == (20.0, 20.0)  # the loop's original machines, draw for draw
    strength = {} if fixed else {label: float(np.exp(rng.uniform(*np.log(severity)))) for label in FAULTS}
    bounds = (
        speeds(rng, machine.rpm_nominal, spread, window_s) if fixed else ramped(rng, machine, spread, ramp_s, window_s)
    )
    n, sr = cfg.window_samples, cfg.sample_rate
    out: list[Window] = []
    load_db, keep = 0.0, np.exp(-window_s / 300)
    boundary = 0.0 if fixed else next(bounds)

    def add(label: str, severity_: float, shown: str) -> None:
        """The next window: its speed, load drift, rendering and signature, in the loop's draw order."""
        nonlocal load_db, boundary
        # fixed: one speed per window (drawn before the window, as the loop always did); else start -> end
        rpm_start, rpm_end = (next(bounds), None) if fixed else (boundary, next(bounds))
        load_db = keep * load_db + np.sqrt(1 - keep**2) * rng.normal(0, 1.0)
        audio = sv.render(label, rng, n, sr, machine, rpm_start, 10 ** (load_db / 20), rpm_end, severity_)
        boundary = rpm_start if rpm_end is None else rpm_end
        lo, hi = min(rpm_start, boundary), max(rpm_start, boundary)
        sig = signature(frame_features(audio.reshape(cfg.frames, cfg.frame), cfg))
        out.append(Window(shown, (lo + hi) / 2, sig, lo, hi, severity_))

    for label in labels:
        add(label, strength.get(label, 1.0), label)
    if slow_min is None or fixed:
        return out
    grow = round(rng.uniform(*slow_min) * 60 / window_s)
    label = FAULTS[index % len(FAULTS)]
    for k in range(grow + round(120 / window_s)):
        add(label, min(1.0, (k + 1) / grow), "slow:" + label)
    return out


def ramped(
    rng: np.random.Generator, machine: sv.Machine, spread: float, ramp_s: tuple[float, float], window_s: float
) -> Iterator[float]:
    """Shaft speed at the window boundaries: set-points within +-spread of nominal, dwell 2-20 min, linear
    ramps of `ramp_s` seconds (drawn uniformly) that start anywhere, so the speed changes inside windows."""
    nominal = machine.rpm_nominal
    rpm, t0, k = nominal * (1 + rng.uniform(-spread, spread)), 0.0, 0
    while True:
        dwell, ramp = rng.uniform(120, 1200), rng.uniform(*ramp_s)
        target = nominal * (1 + rng.uniform(-spread, spread))
        t1 = t0 + dwell + ramp
        while k * window_s < t1:
            t = k * window_s
            yield rpm if t < t0 + dwell else rpm + (target - rpm) * (t - t0 - dwell) / ramp
            k += 1
        rpm, t0 = target, t1


def cached_windows(cache: str | None, family: Family, index: int, *args: Any) -> list[Window]:
    """`machine_windows(family, index, *args)`, kept in `cache` (a folder) so that variants of the scoring
    run on the very same windows without rendering them again."""
    if cache is None:
        return machine_windows(family, index, *args)
    key = hashlib.sha256(repr((family.features.digest(), index, args)).encode()).hexdigest()[:16]
    path = Path(cache) / f"{family.name}-{index}-{key}.npz"
    if not path.exists():
        ws = machine_windows(family, index, *args)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            labels=np.array([w.label for w in ws]),
            sigs=np.stack([w.sig for w in ws]),
            spans=np.array([(w.rpm, *w.span, w.severity) for w in ws]),
        )
    data = np.load(path)
    return [
        Window(str(label), float(rpm), sig, float(lo), float(hi), float(sev))
        for label, sig, (rpm, lo, hi, sev) in zip(data["labels"], data["sigs"], data["spans"], strict=True)
    ]


def evaluate(
    family: Family, windows: list[Window], baseline_s: float, learn: LearnOnPolicy | None = None
) -> dict[str, Any]:
    cfg = family.features
    window_s = cfg.window_samples / cfg.sample_rate
    n_base = round(baseline_s / window_s)
    learner = BaselineLearner(cfg.bands, n_base, digest8(cfg.digest()))
    for w in windows[:n_base]:
        learner.push(w.sig)
    detector = AnomalyDetector(learner.result())
    online = None if learn is None else LearningOn.after(learn, learner, detector)
    return measure(detector, windows, n_base, window_s, lambda w: w.sig, online)


def measure(
    detector: AnomalyDetector,
    windows: list[Window],
    n_base: int,
    window_s: float,
    vector: Callable[[Window], Any],
    online: LearningOn | None = None,
) -> dict[str, Any]:
    """Score every window after the first `n_base` (the baseline's) with `detector`, each as `vector(window)`:
    AUC, false anomalies (all healthy windows, and those inside the baseline's speed range), faults flagged."""
    lo, hi = min(w.span[0] for w in windows[:n_base]), max(w.span[1] for w in windows[:n_base])
    slow = [w for w in windows[n_base:] if w.label.startswith("slow:")]
    healthy, flagged = [], set()
    faulty: dict[str, list[int]] = {label: [] for label in FAULTS}
    false_all = false_in = in_range = 0
    slow_result: dict[str, Any] = {}
    for i, w in enumerate(windows[n_base:]):
        if w.label.startswith("slow:"):
            break
        if slow and w.label != "healthy" and windows[n_base + i - 1].label == "healthy":
            slow_result = slow_fault(copy.deepcopy(detector), copy.deepcopy(online), slow)
        score, started = detector.push(vector(w))
        if online is not None:
            online.push(w.sig, score)
        if w.label == "healthy":
            healthy.append(score)
            inside = lo <= w.span[0] and w.span[1] <= hi  # the whole window inside the baseline's speeds
            in_range += inside
            false_all += started
            false_in += started and inside
        else:
            faulty[w.label].append(score)
            if detector.active:
                flagged.add(w.label)
    h = np.array(healthy)
    return {
        "auc": auc(h, np.concatenate([np.array(v) for v in faulty.values()])),
        "auc_per_class": {label: auc(h, np.array(v)) for label, v in faulty.items() if v},
        "hours": len(healthy) * window_s / 3600,
        "hours_in": in_range * window_s / 3600,
        "false": false_all,
        "false_in": false_in,
        "flagged": len(flagged),
        "missed": sorted(set(FAULTS) - flagged),
        "threshold": detector.baseline.threshold,
        "joined": 0 if online is None else online.joined,
        **slow_result,
    }


def slow_fault(detector: AnomalyDetector, online: LearningOn | None, windows: list[Window]) -> dict[str, Any]:
    """A slowly growing fault from the state healthy running left: flagged or not, and at what severity."""
    was_active = detector.active
    for w in windows:
        score, started = detector.push(w.sig)
        if online is not None:
            online.push(w.sig, score)
        if started:
            return {"slow": w.label[5:], "slow_flagged": True, "slow_at": w.severity, "slow_was_active": was_active}
    return {"slow": windows[0].label[5:], "slow_flagged": was_active, "slow_at": None, "slow_was_active": was_active}


def summary(name: str, family: str, rows: list[dict[str, Any]]) -> None:
    hours, hours_in = sum(r["hours"] for r in rows), sum(r["hours_in"] for r in rows)
    print(
        f"{family} {name}: AUC {np.mean([r['auc'] for r in rows]):.3f} (min {min(r['auc'] for r in rows):.3f}), "
        f"false anomalies {sum(r['false'] for r in rows)} in {hours:.1f} h "
        f"({sum(r['false'] for r in rows) / hours * 24:.2f} / day), inside the baseline's speed range "
        f"{sum(r['false_in'] for r in rows)} in {hours_in:.1f} h, faults flagged {sum(r['flagged'] for r in rows)} "
        f"of {len(rows) * len(FAULTS)}"
    )
    print("  AUC per fault class (mean over machines): " + ", ".join(
        f"{label} {np.nanmean([r['auc_per_class'][label] for r in rows]):.3f}" for label in FAULTS
    ))  # fmt: skip
    slow = [r for r in rows if "slow" in r]
    if slow:
        print(
            f"  slow faults flagged {sum(r['slow_flagged'] for r in slow)} of {len(slow)}: "
            + ", ".join(
                f"{r['slow']} " + ("no" if not r["slow_flagged"] else "active before" if r["slow_at"] is None
                                   else f"at severity {r['slow_at']:.2f}")
                for r in slow
            )
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["vibration", "vibration_adc"], default="vibration")
    parser.add_argument("--machines", type=int, default=8)
    parser.add_argument("--first-machine", type=int, default=0)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--baseline-s", type=float, default=600.0)
    parser.add_argument("--fault-s", type=float, default=120.0)
    parser.add_argument("--spread", type=float, default=0.15)
    parser.add_argument(
        "--severity",
        type=float,
        nargs=2,
        default=(1.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="fault components scaled by a factor drawn log-uniformly per fault (1 1: the recipes)",
    )
    parser.add_argument(
        "--ramp-s",
        type=float,
        nargs=2,
        default=(20.0, 20.0),
        metavar=("SHORTEST", "LONGEST"),
        help="speed ramps' duration; other than 20 20 the speed also changes inside windows",
    )
    parser.add_argument(
        "--slow-min",
        type=float,
        nargs=2,
        default=None,
        metavar=("SHORTEST", "LONGEST"),
        help="add a fault per machine whose severity grows from 0 to 1 over this many minutes",
    )
    parser.add_argument(
        "--learn-on",
        type=int,
        nargs=3,
        action="append",
        default=[],
        metavar=("GATE_Q4", "REFIT", "CAP"),
        help="also score with learning on (gate in sixteenths of the threshold); repeatable",
    )
    parser.add_argument(
        "--learn-on-mean",
        type=int,
        nargs=3,
        action="append",
        default=[],
        metavar=("GATE_Q4", "REFIT", "CAP"),
        help="as --learn-on, but refit only the mean (the covariance stays the baseline's); repeatable",
    )
    parser.add_argument("--cache", default=None, help="folder keeping the rendered windows between runs")
    args = parser.parse_args()
    family = FAMILIES[args.family]
    policies: list[tuple[str, LearnOnPolicy | None]] = [("learning off", None)]
    policies += [
        (f"learning on (gate {g}/16, refit {r}, cap {c})", LearnOnPolicy(g, r, c)) for g, r, c in args.learn_on
    ]
    policies += [
        (f"learning on, mean only (gate {g}/16, refit {r}, cap {c})", LearnOnPolicy(g, r, c, mean_only=True))
        for g, r, c in args.learn_on_mean
    ]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in policies}
    for m in range(args.first_machine, args.first_machine + args.machines):
        windows = cached_windows(
            args.cache, family, m, args.baseline_s, args.hours, args.fault_s, args.spread, tuple(args.severity),
            tuple(args.ramp_s), None if args.slow_min is None else tuple(args.slow_min),
        )  # fmt: skip
        for name, policy in policies:
            r = evaluate(family, windows, args.baseline_s, policy)
            rows[name].append(r)
            print(
                f"machine {m}, {name}: AUC {r['auc']:.3f}, false anomalies {r['false']} ({r['false_in']} inside the "
                f"baseline's speed range, {r['hours_in']:.2f} of {r['hours']:.2f} h), faults flagged {r['flagged']} "
                f"of {len(FAULTS)}, threshold {r['threshold']}, windows joined {r['joined']}"
                + (f" (missed: {', '.join(r['missed'])})" if r["missed"] else "")
                + (f", slow {r['slow']} flagged at {r['slow_at']}" if "slow" in r else ""),
                flush=True,
            )
    for name, _ in policies:
        summary(name, args.family, rows[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
