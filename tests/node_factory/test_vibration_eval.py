"""The held-out vibration protocol's pieces (node_factory.evaluation.vibration) on small inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node_factory.corpus.families import FAMILIES
from node_factory.evaluation.vibration import VibrationProtocol, anomaly, auc, students

MODELS = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


def test_auc_counts_ranks_and_ties() -> None:
    assert auc(np.array([1, 2, 3]), np.array([4, 5])) == 1.0
    assert auc(np.array([4, 5]), np.array([1, 2, 3])) == 0.0
    assert auc(np.array([1, 1]), np.array([1, 1])) == 0.5
    assert np.isnan(auc(np.array([]), np.array([1])))


def test_a_baseline_longer_than_the_healthy_running_is_refused() -> None:
    with pytest.raises(ValueError, match="leave nothing after"):
        anomaly(FAMILIES["vibration"], VibrationProtocol(healthy_hours=0.1), print)


def test_students_report_macro_f1_on_every_window_of_every_class() -> None:
    result = students(FAMILIES["vibration"], MODELS / "vibration_v1.bin", VibrationProtocol(clips_per_class=1))
    assert result["student_heldout_windows"] == 7  # one 2.56 s window per 4 s clip, seven classes
    assert 0.0 <= result["student_heldout_macro_f1"] <= 1.0
    assert all(" -> " in line for line in result["student_top_confusions"])
