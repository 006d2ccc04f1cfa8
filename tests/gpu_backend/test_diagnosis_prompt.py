"""What the diagnosis expert is told about an anomaly escalation: its facts (gpu_backend.knowledge.evidence) and
the one line of observations the reasoning and the LLM's prompt carry."""

from __future__ import annotations

import json
from pathlib import Path

from gpu_backend.knowledge.evidence import describe_facts, gather_facts
from gpu_backend.protocol import DiagnoseRequest, NodeMessage

VALID = Path(__file__).parents[1] / "fixtures" / "protocol" / "valid"


def request(name: str) -> DiagnoseRequest:
    message = NodeMessage.model_validate(json.loads((VALID / name).read_text()))
    return DiagnoseRequest(v=1, escalation=message)


def test_an_anomaly_escalation_says_so_with_its_score() -> None:
    facts = gather_facts(request("escalation_anomaly_esphome_strings.json"), None, None)
    assert facts["reason"] == "anomaly"
    assert (facts["anomaly_score"], facts["anomaly_threshold"], facts["anomaly_ratio"]) == (9120, 1536, 5.94)
    text = describe_facts(facts)
    assert "scores 9120 (threshold 1536, 5.9x), an anomaly" in text


def test_an_escalation_without_a_baseline_has_no_anomaly_facts() -> None:
    facts = gather_facts(request("escalation_esphome_strings.json"), None, None)
    assert not any(name.startswith("anomaly") for name in facts)
    assert "baseline" not in describe_facts(facts)
