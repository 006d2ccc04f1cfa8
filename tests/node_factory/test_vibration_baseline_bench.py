"""The held-out vibration benchmark's script (benchmarks/vibration_baseline.py): which protocol it runs and where
it writes. The evaluation itself is replaced by a named test double (`_evaluate_double`); the protocol's pieces
are tested on real data in test_vibration_eval.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import benchmarks.vibration_baseline as bench
from node_factory.evaluation.vibration import VibrationProtocol

_RESULT: dict[str, Any] = {
    "anomaly_auc_heldout": 0.9,
    "anomaly_auc_heldout_min": 0.8,
    "anomaly_auc_heldout_pooled": 0.85,
    "anomaly_auc_heldout_in_baseline_speed_range": 0.95,
    "machines_with_faults_in_baseline_speed_range": 1,
    "machines": [{}],
    "false_anomalies_per_day_in_baseline_speed_range": 0.0,
    "false_anomalies_in_baseline_speed_range": 0,
    "healthy_hours_in_baseline_speed_range": 1.0,
    "false_anomalies_per_day": 0.0,
    "false_anomalies": 0,
    "healthy_hours": 2.0,
    "fault_segments_flagged": 5,
    "fault_segments": 6,
    "fault_id_accuracy_heldout": 0.8,
    "student_heldout_macro_f1": 0.3,
    "student_top_confusions": ["ball -> imbalance: 2"],
    "fault_id_per_class": {"ball": 0.5},
    "escalated_fault_captures": 4,
    "escalated_fault_id_accuracy_suggested_capture": 0.75,
    "escalated_fault_id_accuracy_suggested_at_once_capture": 0.625,
    "escalated_fault_id_accuracy_default_capture": 0.5,
    "escalated_new_speed_caveats": {"faults": {"imbalance": 1, "bearing_ball": 0}, "false_anomalies": 1},
    "escalated_outside_baseline_speeds": {"faults": {"imbalance": 1, "bearing_ball": 2}, "false_anomalies": 1},
    "escalated_fault_id_per_class_suggested_capture": {"bearing_ball": "3 of 4"},
    "escalated_false_anomaly_captures": 1,
    "escalated_false_anomaly_verdicts_suggested_capture": {"imbalance": 1},
    "escalated_false_anomaly_verdicts_suggested_at_once_capture": {"misalignment": 1},
    "escalated_false_anomaly_verdicts_default_capture": {},
}


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[list[VibrationProtocol], dict[str, Any]]:
    seen: list[VibrationProtocol] = []
    written: dict[str, Any] = {}

    def _evaluate_double(family: Any, blob: Path, protocol: VibrationProtocol, progress: Any) -> dict[str, Any]:
        seen.append(protocol)
        return dict(_RESULT)

    monkeypatch.setattr(bench, "evaluate", _evaluate_double)
    monkeypatch.setattr(bench.benchmarks_md, "write_json", lambda name, data: written.setdefault("json", name))
    monkeypatch.setattr(
        bench.benchmarks_md,
        "write_section",
        lambda name, title, command, body: written.update(section=name, title=title, command=command, body=body),
    )
    monkeypatch.setattr(sys, "argv", ["vibration_baseline", "--family", "vibration", *argv])
    assert bench.main() == 0
    return seen, written


def test_the_issues_ten_minute_protocol_keeps_its_section(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, written = _run(monkeypatch, [])
    assert seen[0].baseline_s == 600.0
    assert written["json"] == "vibration_baseline_vibration"
    assert written["section"] == "vibration_baseline_vibration"
    assert "--baseline-minutes" not in written["command"]
    assert "10-min baseline" in written["body"]


def test_another_baseline_length_writes_its_own_section(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, written = _run(monkeypatch, ["--baseline-minutes", "60"])
    assert seen[0].baseline_s == 3600.0
    assert written["json"] == "vibration_baseline_vibration_baseline_60min"
    assert written["section"] == "vibration_baseline_vibration_baseline_60min"
    assert written["command"].endswith("--baseline-minutes 60")
    assert written["title"].endswith("60-minute baseline")
    assert "60-min baseline" in written["body"] and "first 60 minutes are the" in written["body"]


def test_the_escalations_fault_identification_is_in_the_table_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _seen, written = _run(monkeypatch, [])
    row = next(line for line in written["body"].splitlines() if line.startswith("| vibration-v1 |"))
    assert "| 0.750 / 0.625 / 0.500 (4) |" in row
    text = " ".join(written["body"].split())
    assert "suggested 8 s as IMA ADPCM" in text
    assert "bearing_ball 3 of 4" in text
    assert "suggested capture: 1 imbalance; suggested_at_once capture: 1 misalignment; default capture: none" in text
    assert "`capture_delay` (as long as the capture) after the one that raised the anomaly" in text
    assert "may be the new speed (a speed the baseline never saw) to 1 of the 1 false anomalies" in text
    assert "and to 1 of the 4 faults (imbalance 1)." in text
    assert "is outside for 1 of the false anomalies and 3 of the faults (imbalance 1, bearing_ball 2)" in text


def test_the_node_runs_at_its_hop_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, written = _run(monkeypatch, [])
    assert seen[0].hop_frames is None and seen[0].persistence is None
    text = " ".join(written["body"].split())
    assert "every half window, as the node classifies them at its default hop" in text
    assert "an anomaly after 5 windows in a row over the threshold (the signal of three whole windows" in text
    assert "ending after 11 in a row" in text


def test_another_hop_or_hysteresis_writes_its_own_section(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, written = _run(monkeypatch, ["--hop-frames", "32", "--persistence", "3", "6"])
    assert (seen[0].hop_frames, seen[0].persistence) == (32, (3, 6))
    assert written["json"] == "vibration_baseline_vibration_hop_32_frames_persistence_3_6"
    assert written["section"] == written["json"]
    assert written["command"].endswith("--hop-frames 32 --persistence 3 6")
    assert written["title"].endswith(", windows every 32 frames, hysteresis 3 / 6 windows")
    text = " ".join(written["body"].split())
    assert "every 32 of a window's 32 frames" in text
    assert "an anomaly after 3 windows in a row over the threshold," in text
