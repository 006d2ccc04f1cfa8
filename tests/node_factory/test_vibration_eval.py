"""The held-out vibration protocol's pieces (node_factory.evaluation.vibration) on small inputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from node_factory.corpus.families import FAMILIES
from node_factory.evaluation import vibration as vibration_eval
from node_factory.evaluation.vibration import VibrationProtocol, _machine_anomaly, anomaly, auc, students
from node_factory.reference import ima_adpcm

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


@dataclass
class _Chunk:
    audio: np.ndarray
    start_s: float
    rpm_min: float
    rpm_max: float


class HeldoutRunDouble:
    """Test double of a held-out machine run (`node_factory.heldout.vibration`): the windows, speeds and labels
    a test chooses, so which windows lie inside the baseline's speed range is known."""

    machine_id = "double-0"
    machine = SimpleNamespace(bearing=SimpleNamespace(designation="6205"), rpm_nominal=1000.0)

    def __init__(self, plan: list[tuple[str, float]]) -> None:
        self.speed_info = {"rpm_low": 1000.0, "rpm_high": 1500.0}
        self.cfg = FAMILIES["vibration"].features
        self.window_s = self.cfg.window_samples / self.cfg.sample_rate
        self.plan = plan  # (label, rpm) per window
        self.impact = 1000  # a weak fault: it scores below healthy running at a speed the baseline never saw

    def chunks(self) -> Iterator[_Chunk]:
        rate, n = self.cfg.sample_rate, self.cfg.window_samples
        for i, (label, rpm) in enumerate(self.plan):
            rng = np.random.default_rng(i)
            t = np.arange(n) / rate
            x = 3000 * np.sin(2 * np.pi * rpm / 60 * t) + rng.normal(0, 300, n)
            if label != "healthy":  # impacts 100 times a second
                x[:: rate // 100] += self.impact
            yield _Chunk(np.clip(x, -32768, 32767).astype(np.int16), i * self.window_s, rpm, rpm)

    def label_at(self, t: float) -> str:
        return self.plan[min(int(t / self.window_s), len(self.plan) - 1)][0]


def test_the_auc_inside_the_baselines_speed_range_leaves_out_speeds_it_never_saw() -> None:
    # a baseline of 8 windows at 1000 rpm; healthy running at 1000 and 1500 rpm, then a fault at both speeds
    plan = [("healthy", 1000.0)] * 8 + [("healthy", 1000.0)] * 6 + [("healthy", 1500.0)] * 6
    plan += [("bearing_outer", 1000.0)] * 3 + [("bearing_outer", 1500.0)] * 3
    run = HeldoutRunDouble(plan)
    result = _machine_anomaly(run, FAMILIES["vibration"], 8 * run.window_s)
    assert result["baseline_rpm"] == [1000, 1000]
    assert result["fault_windows_in_range"] == "3 of 6"
    assert result["healthy_hours_in_range"] == pytest.approx(6 * run.window_s / 3600)
    # the 1500 rpm healthy windows score like faults: they pull the AUC over every window down, not this one
    assert result["auc_in_range"] == 1.0 and result["auc"] < 1.0


@pytest.mark.parametrize("encoding", ["s16le", "ima_adpcm"])
def test_fault_identification_reads_the_capture_as_the_node_sends_it(
    monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """With `capture_encoding: ima_adpcm` the analysis gets the clip through the node's encoder: the whole blocks,
    decoded (node_factory.reference.ima_adpcm); with s16le the clip itself."""
    seen: list[np.ndarray] = []
    real = vibration_eval.identify

    def spy(samples: np.ndarray, *args: Any) -> Any:  # records what the real analysis is given
        seen.append(samples)
        return real(samples, *args)

    monkeypatch.setattr(vibration_eval, "identify", spy)
    protocol = VibrationProtocol(clips_per_class=1, clip_seconds=1.0, capture_encoding=encoding)
    result = vibration_eval.fault_identification(FAMILIES["vibration"], protocol, lambda _text: None)
    assert 0.0 <= result["fault_id_accuracy_heldout"] <= 1.0 and len(seen) == 6
    blocks = 3200 // ima_adpcm.SAMPLES_PER_BLOCK  # a 1 s clip holds 6 whole blocks
    assert {len(s) for s in seen} == {3200 if encoding == "s16le" else blocks * ima_adpcm.SAMPLES_PER_BLOCK}
