"""Does knowing the shaft speed help the baseline's score? A float prototype on the TRAINING generator only
(issue #15; tried 2026-12-04, not adopted: docs/vibration-baseline.md, "Speed as known").

The node's score (format 2) is the Mahalanobis distance of a window's signature under the baseline's ridged
correlation. A node with a `shaft_speed` knows each window's speed, so two uses of it are prototyped here in
floating point, against the same score in floating point (which reproduces the integer figures of
`benchmarks/baseline_dev.py` to within a false anomaly):

- **conditional**: the log speed joins the signature as one more variable and the score is the distance of
  the bands *given* the speed (the joint distance less the speed's own term): a speed change the baseline saw
  the bands follow costs nothing. It needs a baseline that saw several speeds.
- **edge prior**: a window outside the baseline's speed range has its signature moved back to the range's
  edge with per-band slopes (signature units per unit of log speed) fitted on *other* dev machines' healthy
  running (`--prior-machines`), so a single-speed baseline can extrapolate; inside the range nothing changes.

Same dev machines, thresholds and hysteresis as `benchmarks/baseline_dev.py` (its `--cache` windows are
reused). Never run on node_factory.heldout.

Usage: python -m benchmarks.baseline_speed_dev [--family vibration] [--first-machine 0] [--machines 8]
       [--hours 1.5] [--prior-machines 8 20] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.baseline_dev import Window, cached_windows, measure, summary
from node_factory.corpus.families import FAMILIES, Family
from node_factory.reference.baseline import (
    ENTER_WINDOWS,
    EXIT_WINDOWS,
    RIDGE_SHIFT,
    VAR_FLOOR,
    AnomalyDetector,
    null_floor,
)

RIDGE = 1 / (1 << RIDGE_SHIFT)
SPEED_SD_FLOOR = 0.005  # of log speed: a baseline at one set-point (0.5 % of the speed)
SEVERITY, RAMP_S = (0.05, 1.0), (2.0, 30.0)  # baseline_dev's harder dev set


class FloatScore:
    """The format-2 score in floating point; `speed_first`: column 0 is the log speed, scored as given."""

    def __init__(self, x: NDArray[np.float64], speed_first: bool) -> None:
        self.speed_first = speed_first
        self.mean = x.mean(axis=0)
        cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
        floors = np.full(len(cov), float(VAR_FLOOR))
        if speed_first:
            floors[0] = SPEED_SD_FLOOR**2
        self.sd = np.sqrt(np.maximum(np.diag(cov), floors))
        corr = cov / np.outer(self.sd, self.sd)
        np.fill_diagonal(corr, 1.0)
        self.precision = np.linalg.inv(corr + RIDGE * np.eye(len(corr)))

    def __call__(self, v: NDArray[np.float64]) -> float:
        z = (v - self.mean) / self.sd
        distance = float(z @ self.precision @ z)
        if self.speed_first:  # the speed's own term: with it first, the joint distance is its term + the rest
            distance -= z[0] ** 2 / (1 + RIDGE)
        return 16 * distance  # Q4, as the node's


@dataclass(frozen=True)
class FloatBaseline:
    """What the reference's AnomalyDetector reads of a Baseline, with the float score: the node's hysteresis
    (ENTER_WINDOWS above the threshold start an anomaly, EXIT_WINDOWS below 3/4 of it end it) is reused as is."""

    score: FloatScore
    threshold: float
    enter_windows: int = ENTER_WINDOWS
    exit_windows: int = EXIT_WINDOWS


def vector(w: Window, with_speed: bool) -> NDArray[np.float64]:
    sig = w.sig.astype(np.float64)
    return np.concatenate([[np.log(w.rpm)], sig]) if with_speed else sig


def evaluate(windows: list[Window], n_base: int, with_speed: bool, window_s: float) -> dict[str, Any]:
    """baseline_dev.evaluate's measurements, with the float score (two halves, 1.5 x the second half's
    highest score but at least the null floor, the node's hysteresis)."""
    base = np.array([vector(w, with_speed) for w in windows[:n_base]])
    half = n_base // 2
    first = FloatScore(base[:half], with_speed)
    threshold = max(null_floor(len(windows[0].sig)), 1.5 * max(first(v) for v in base[half:]))
    detector = AnomalyDetector(FloatBaseline(FloatScore(base, with_speed), threshold))  # type: ignore[arg-type]
    return measure(detector, windows, n_base, window_s, lambda w: vector(w, with_speed))


def prior_slopes(family: Family, machines: range, cache: str | None, hours: float) -> NDArray[np.float64]:
    """Per band, the pooled within-machine slope of healthy signatures against log speed."""
    num, den = np.zeros(family.features.bands), 0.0
    for m in machines:
        ws = cached_windows(cache, family, m, 600.0, hours, 120.0, 0.15, SEVERITY, RAMP_S, None)
        healthy = [w for w in ws if w.label == "healthy"]
        s = np.log([w.rpm for w in healthy])
        x = np.array([w.sig for w in healthy], dtype=np.float64)
        s, x = s - s.mean(), x - x.mean(axis=0)
        num, den = num + s @ x, den + s @ s
    return num / den


def to_edge(windows: list[Window], n_base: int, slopes: NDArray[np.float64]) -> list[Window]:
    """Each window's signature moved back to the baseline's speed range along the prior slopes."""
    lo, hi = np.log(min(w.rpm for w in windows[:n_base])), np.log(max(w.rpm for w in windows[:n_base]))
    out = []
    for w in windows:
        s = np.log(w.rpm)
        moved = w.sig.astype(np.float64) - slopes * (s - np.clip(s, lo, hi))
        out.append(replace(w, sig=moved))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["vibration", "vibration_adc"], default="vibration")
    parser.add_argument("--first-machine", type=int, default=0)
    parser.add_argument("--machines", type=int, default=8)
    parser.add_argument("--hours", type=float, default=1.5)
    parser.add_argument("--prior-machines", type=int, nargs=2, default=(8, 20), metavar=("FIRST", "END"))
    parser.add_argument("--prior-hours", type=float, default=0.75)
    parser.add_argument("--cache", default=None, help="folder keeping the rendered windows between runs")
    args = parser.parse_args()
    family = FAMILIES[args.family]
    cfg = family.features
    window_s = cfg.window_samples / cfg.sample_rate
    n_base = round(600.0 / window_s)
    evaluation = range(args.first_machine, args.first_machine + args.machines)
    prior = range(*args.prior_machines)
    if set(prior) & set(evaluation):
        parser.error("the prior's machines must not be the machines it is evaluated on")
    slopes = prior_slopes(family, prior, args.cache, args.prior_hours)
    print(f"prior slopes per unit log speed (machines {prior.start}-{prior.stop - 1}): {np.round(slopes).astype(int)}")
    variants: dict[str, Callable[[list[Window]], dict[str, Any]]] = {
        "float score (format 2)": lambda ws: evaluate(ws, n_base, False, window_s),
        "conditional on speed": lambda ws: evaluate(ws, n_base, True, window_s),
        "edge prior": lambda ws: evaluate(to_edge(ws, n_base, slopes), n_base, False, window_s),
    }
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for m in evaluation:
        ws = cached_windows(args.cache, family, m, 600.0, args.hours, 120.0, 0.15, SEVERITY, RAMP_S, None)
        for name, run in variants.items():
            rows[name].append(run(ws))
        print(f"machine {m}: " + ", ".join(f"{name} AUC {rows[name][-1]['auc']:.3f}" for name in variants), flush=True)
    for name in variants:
        summary(name, args.family, rows[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
