"""Development loop for the per-machine baseline's false anomalies, on the TRAINING generator only (issue #15).

Never on node_factory.heldout: the held-out machines score the method once it is fixed
(benchmarks/vibration_baseline.py). Each dev machine is `synth_vibration.draw_machine` (fixed resonances,
damping, healthy harmonics, noise, gain) rendered window by window with `synth_vibration.render(...,
machine, rpm, load)`; its speed moves between set-points within +-`spread` of nominal (dwell 2-20 min, 20 s
ramps) and its load wanders slowly (1 dB standard deviation, about 5 minutes' correlation). The node
learns a baseline from the first `baseline_s`, then scores `hours` of healthy running and a segment per
fault class. Printed: anomaly AUC per machine, false anomalies per day (all healthy windows, and
those whose speed lies inside the range the baseline saw), fault segments flagged, thresholds.

Usage: python -m benchmarks.baseline_dev [--machines 8] [--hours 2] [--family vibration] [--spread 0.15]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    rpm: float
    sig: NDArray[np.int32]


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
    family: Family, index: int, baseline_s: float, hours: float, fault_s: float, spread: float
) -> list[Window]:
    cfg = family.features
    rng = np.random.default_rng(DEV_SEED + index)
    machine = sv.draw_machine(rng, cfg.sample_rate)
    window_s = cfg.window_samples / cfg.sample_rate
    labels = ["healthy"] * round((baseline_s + hours * 3600) / window_s)
    for label in FAULTS:
        labels += [label] * round(fault_s / window_s)
    out = []
    load_db, keep = 0.0, np.exp(-window_s / 300)
    for label, rpm in zip(labels, speeds(rng, machine.rpm_nominal, spread, window_s), strict=False):
        load_db = keep * load_db + np.sqrt(1 - keep**2) * rng.normal(0, 1.0)
        audio = sv.render(label, rng, cfg.window_samples, cfg.sample_rate, machine, rpm, 10 ** (load_db / 20))
        out.append(Window(label, rpm, signature(frame_features(audio.reshape(cfg.frames, cfg.frame), cfg))))
    return out


def evaluate(family: Family, windows: list[Window], baseline_s: float) -> dict[str, float]:
    cfg = family.features
    window_s = cfg.window_samples / cfg.sample_rate
    n_base = round(baseline_s / window_s)
    learner = BaselineLearner(cfg.bands, n_base, digest8(cfg.digest()))
    for w in windows[:n_base]:
        learner.push(w.sig)
    lo, hi = min(w.rpm for w in windows[:n_base]), max(w.rpm for w in windows[:n_base])
    detector = AnomalyDetector(learner.result())
    healthy, faulty, flagged = [], [], set()
    false_all = false_in = in_range = 0
    for w in windows[n_base:]:
        score, started = detector.push(w.sig)
        if w.label == "healthy":
            healthy.append(score)
            inside = lo <= w.rpm <= hi
            in_range += inside
            false_all += started
            false_in += started and inside
        else:
            faulty.append(score)
            if detector.active:
                flagged.add(w.label)
    return {
        "auc": auc(np.array(healthy), np.array(faulty)),
        "hours": len(healthy) * window_s / 3600,
        "hours_in": in_range * window_s / 3600,
        "false": false_all,
        "false_in": false_in,
        "flagged": len(flagged),
        "threshold": detector.baseline.threshold,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["vibration", "vibration_adc"], default="vibration")
    parser.add_argument("--machines", type=int, default=8)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--baseline-s", type=float, default=600.0)
    parser.add_argument("--fault-s", type=float, default=120.0)
    parser.add_argument("--spread", type=float, default=0.15)
    args = parser.parse_args()
    family = FAMILIES[args.family]
    rows = []
    for m in range(args.machines):
        windows = machine_windows(family, m, args.baseline_s, args.hours, args.fault_s, args.spread)
        r = evaluate(family, windows, args.baseline_s)
        rows.append(r)
        print(
            f"machine {m}: AUC {r['auc']:.3f}, false anomalies {r['false']} ({r['false_in']} inside the baseline's "
            f"speed range, {r['hours_in']:.2f} of {r['hours']:.2f} h), faults flagged {r['flagged']} of "
            f"{len(FAULTS)}, threshold {r['threshold']}"
        )
    hours, hours_in = sum(r["hours"] for r in rows), sum(r["hours_in"] for r in rows)
    print(
        f"{args.family}: AUC {np.mean([r['auc'] for r in rows]):.3f} (min {min(r['auc'] for r in rows):.3f}), "
        f"false anomalies / day {sum(r['false'] for r in rows) / hours * 24:.2f} over {hours:.1f} h, "
        f"inside the baseline's speed range {sum(r['false_in'] for r in rows) / max(hours_in, 1e-9) * 24:.2f} "
        f"over {hours_in:.1f} h, faults flagged {sum(r['flagged'] for r in rows)} of {len(rows) * len(FAULTS)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
