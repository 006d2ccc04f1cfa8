"""What the GPU tier's LLM is told about an escalation (gpu_backend.diagnosis.describe_escalation)."""

from __future__ import annotations

import json
from pathlib import Path

from gpu_backend.diagnosis import describe_escalation
from gpu_backend.protocol import DiagnoseRequest, NodeMessage

VALID = Path(__file__).parents[1] / "fixtures" / "protocol" / "valid"


def request(name: str) -> DiagnoseRequest:
    message = NodeMessage.model_validate(json.loads((VALID / name).read_text()))
    return DiagnoseRequest(v=1, escalation=message)


def test_an_anomaly_escalation_says_so_with_its_score() -> None:
    text = describe_escalation(request("escalation_anomaly_esphome_strings.json"))
    assert "reason anomaly" in text
    assert "scores 9120 (threshold 1536, 5.9x): the node reports an anomaly." in text


def test_an_escalation_without_a_baseline_has_no_anomaly_line() -> None:
    text = describe_escalation(request("escalation_esphome_strings.json"))
    assert "baseline" not in text and text.count("\n") == 0
