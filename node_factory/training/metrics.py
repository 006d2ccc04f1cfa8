"""Macro-F1 (numpy; no scikit-learn needed for one metric) and the cascade curve built on it."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..reference.network import IntegerModel, decide, forward


def macro_f1(y_true: NDArray[np.int64], y_pred: NDArray[np.int64], classes: int) -> float:
    scores = []
    for c in range(classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def cascade_curve(
    model: IntegerModel, x: NDArray[np.int8], y: NDArray[np.int64], teacher_pred: NDArray[np.int64]
) -> list[tuple[float, float]]:
    """(escalation rate, macro-F1) when the least confident fraction goes to the teacher."""
    pred, margin, _ = decide(model, forward(model, x))
    order = np.argsort(margin, kind="stable")
    points = []
    for rate in np.linspace(0, 1, 21):
        escalated = np.zeros(len(y), dtype=bool)
        escalated[order[: round(rate * len(y))]] = True
        points.append((float(rate), macro_f1(y, np.where(escalated, teacher_pred, pred), len(model.classes))))
    return points
