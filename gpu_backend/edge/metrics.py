"""Macro-F1 (numpy; no scikit-learn needed for one metric)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def macro_f1(y_true: NDArray[np.int64], y_pred: NDArray[np.int64], classes: int) -> float:
    scores = []
    for c in range(classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))
