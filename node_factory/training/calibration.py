"""Escalation thresholds: per-class margin thresholds for a target escalation rate, and the table of them for
the rates the ESPHome component offers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from ..reference.network import IntegerModel, decide, forward
from .metrics import macro_f1

# calibrate to target - headroom on validation, so unseen data stays <= target: a rate measured on ~1000
# validation windows is off by ~1.2 points (one standard error at 20 %); with 1 point the vibration model's
# test split escalated 20.1 %
CALIBRATION_HEADROOM = 0.02
# the escalation rates the manifest's `margin_thresholds_by_rate` table offers (the component's
# `target_escalation_rate` picks one at compile time)
TABLE_RATES = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)


def rate_key(rate: float) -> str:
    """The table's key for an escalation rate: two decimals ("0.05", "0.20")."""
    return f"{rate:.2f}"


MIN_GAIN = 0.002  # macro-F1 a calibration move must add on validation data


def calibrate(
    model: IntegerModel,
    x_val: NDArray[np.int8],
    target_rate: float,
    y_val: NDArray[np.int64] | None = None,
    teacher_val: NDArray[np.int64] | None = None,
) -> None:
    """Per-class margin thresholds on validation data, escalation rate <= `target_rate`.

    Start from one global threshold (the target quantile of the margins). With labels and the teacher's
    answers, then move each class's threshold in turn over candidates from that class's own margin
    distribution (coordinate ascent, a few passes), keeping a move when the cascade's macro-F1 (node
    answers, teacher answers the escalated) rises by more than MIN_GAIN (smaller gains are noise that does
    not carry over to new data) and the rate stays within the target. A window escalates when its margin <
    the threshold of its predicted class.
    """
    pred, margin, _ = decide(model, forward(model, x_val))
    classes = len(model.classes)
    ordered = np.sort(margin)
    global_thr = int(ordered[int(np.floor(target_rate * len(ordered)))]) if target_rate > 0 else 0
    thresholds = np.full(classes, global_thr, dtype=np.int64)

    def rate(thr: NDArray[np.int64]) -> float:
        return float(np.mean(margin < thr[pred]))

    if y_val is not None and teacher_val is not None:

        def score(thr: NDArray[np.int64]) -> float:
            return macro_f1(y_val, np.where(margin < thr[pred], teacher_val, pred), classes)

        candidates = []
        for c in range(classes):
            own = margin[pred == c]
            quantiles = np.quantile(own, np.linspace(0, 0.9, 37), method="lower") if len(own) else np.zeros(1)
            candidates.append(np.unique(np.concatenate([[0], quantiles, quantiles + 1]).astype(np.int64)))
        best = score(thresholds)
        for _pass in range(4):
            changed = False
            for c in range(classes):
                for value in candidates[c]:
                    trial = thresholds.copy()
                    trial[c] = value
                    r = rate(trial)
                    if r > target_rate:
                        continue
                    s = score(trial)
                    if s > best + MIN_GAIN:
                        best, thresholds, changed = s, trial, True
            if not changed:
                break
    model.margin_thresholds = np.clip(thresholds, 0, 2**31 - 1).astype(np.int32)


def thresholds_by_rate(
    model: IntegerModel,
    x_val: NDArray[np.int8],
    y_val: NDArray[np.int64],
    teacher_val: NDArray[np.int64],
    headroom: float,
) -> dict[str, list[int]]:
    """Per-class thresholds for every rate in TABLE_RATES: `calibrate` on a copy of the model, the same
    validation data and headroom as the main calibration (so the entry of the main target equals the
    model's own thresholds). The model itself is not changed."""
    table = {}
    for rate in TABLE_RATES:
        trial = replace(model, margin_thresholds=model.margin_thresholds.copy(), meta=dict(model.meta))
        calibrate(trial, x_val, max(rate - headroom, 0.0), y_val, teacher_val)
        table[rate_key(rate)] = [int(v) for v in trial.margin_thresholds]
    return table
