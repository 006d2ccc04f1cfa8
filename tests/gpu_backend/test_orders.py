"""The GPU tier's fault identification in shaft orders (gpu_backend/orders.py) and what the diagnosis makes of
it: the escalation's capture, shaft speed and bearing through node_factory.reference.orders.identify, the
energies as facts, the fault named by the orders for an anomaly, through the real gateway too."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from gpu_backend.diagnosis import Diagnoser
from gpu_backend.gateway import GatewaySettings, create_app
from gpu_backend.knowledge import load_knowledge_base
from gpu_backend.knowledge.evidence import describe_facts, gather_facts
from gpu_backend.orders import Q3_DB, analyse
from gpu_backend.protocol import DiagnoseRequest, NodeMessage
from node_factory.reference import ima_adpcm
from node_factory.reference.bearings import bearing
from node_factory.reference.orders import identify

SR, RPM = 3200, 1500.0
GEOMETRY = bearing("6205-2RS JEM")


def impacts(order: float, rng: np.random.Generator) -> np.ndarray:
    """Impacts at `order` x the shaft rate ringing a 900 Hz resonance, a 1x tone and sensor noise (4 s, int16)."""
    n, fr = SR * 4, RPM / 60
    x = 300 * np.sin(2 * np.pi * fr * np.arange(n) / SR) + rng.normal(0, 60, n)
    ring = np.exp(-np.arange(64) / 10) * np.sin(2 * np.pi * 900 * np.arange(64) / SR) * 3000
    for start in np.arange(0, n - 64, SR / (order * fr)).astype(int):
        x[start : start + 64] += ring
    return np.clip(x, -32768, 32767).astype("<i2")


def shaft_tones(amplitudes: dict[int, float], rng: np.random.Generator) -> np.ndarray:
    """Tones at harmonics of the shaft rate (order -> amplitude) and sensor noise (4 s, int16)."""
    t = np.arange(SR * 4) / SR
    x = rng.normal(0, 30, t.size) + sum(a * np.sin(2 * np.pi * h * RPM / 60 * t + h) for h, a in amplitudes.items())
    return np.clip(x, -32768, 32767).astype("<i2")


def escalation(samples: np.ndarray, reason: str = "anomaly", node_class: str = "healthy", **extra: Any) -> dict:
    """A vibration node's escalation with a capture, in the ESPHome string form."""
    return {
        "v": "1", "kind": "escalation", "node_id": "workshop-vibration", "task": "vibration", "boot": "1c0ffee1",
        "seq": "3", "uptime_ms": "600000", "class": node_class, "class_idx": "0", "scores": "[4, 1, 0, 0, 0, 0, 0]",
        "margin": "3", "confidence": "0.55", "model": "vibration-v1", "model_hash": "00c0ffee", "level_db": "-20.0",
        "reason": reason, "anomaly_score": "5000" if reason == "anomaly" else "100", "anomaly_threshold": "900",
        "shaft_rpm": f"{RPM:.1f}", "bearing": "[9,7.94,39.0398,0.0]",
        "capture": base64.b64encode(samples.tobytes()).decode(), "capture_rate": str(SR), **extra,
    }  # fmt: skip


def request(message: dict) -> DiagnoseRequest:
    return DiagnoseRequest.model_validate({"v": 1, "escalation": message, "context": {"area": "Workshop"}})


@pytest.mark.parametrize(
    ("order", "fault"), [("bpfo", "bearing_outer"), ("bpfi", "bearing_inner")], ids=["outer", "inner"]
)
def test_the_analysis_is_the_reference_on_the_capture(order: str, fault: str) -> None:
    samples = impacts(GEOMETRY.orders()[order], np.random.default_rng(3))
    analysis = analyse(NodeMessage.model_validate(escalation(samples)))
    assert analysis is not None and analysis.fault == fault and analysis.shaft_rpm == RPM
    report = identify(samples, SR, RPM, GEOMETRY)
    assert analysis.energies_db["bpfo"] == round(report.bearing["bpfo"] * Q3_DB, 1)
    assert analysis.energies_db["bsf"] == round(report.bearing["bsf2"] * Q3_DB, 1)
    assert analysis.energies_db["1x"] == round(report.shaft["1x"] * Q3_DB, 1)
    assert analysis.energies_db[order] == max(analysis.energies_db[k] for k in ("bpfo", "bpfi", "bsf"))


def test_an_ima_adpcm_capture_is_decoded_before_the_analysis() -> None:
    """A capture of IMA ADPCM blocks (a node keeps four times the seconds in its memory) is analysed as the samples
    the reference decoder makes of it, and names the same fault as the int16 capture it was encoded from."""
    samples = impacts(GEOMETRY.orders()["bpfi"], np.random.default_rng(3))
    blocks = ima_adpcm.encode(samples)
    text = base64.b64encode(blocks).decode()
    analysis = analyse(NodeMessage.model_validate(escalation(samples, capture=text, capture_encoding="ima_adpcm")))
    assert analysis is not None and analysis.fault == "bearing_inner"
    report = identify(ima_adpcm.decode(blocks), SR, RPM, GEOMETRY)
    assert analysis.energies_db["bpfi"] == round(report.bearing["bpfi"] * Q3_DB, 1)
    # the same bytes read as int16 samples would be noise: the encoding is what tells them apart
    assert analyse(NodeMessage.model_validate(escalation(samples, capture=text))).energies_db != analysis.energies_db
    damaged = bytearray(blocks)
    damaged[2] = 200  # a step index no encoder writes
    bad = escalation(samples, capture=base64.b64encode(bytes(damaged)).decode(), capture_encoding="ima_adpcm")
    with pytest.raises(ValueError, match="step index 200 is out of range"):
        analyse(NodeMessage.model_validate(bad))


def test_an_escalation_without_a_capture_or_from_a_sound_node_has_no_analysis() -> None:
    message = escalation(np.zeros(SR, "<i2"))
    assert analyse(NodeMessage.model_validate({**message, "task": "sound"})) is None
    for key in ("capture", "capture_rate"):
        del message[key]
    assert analyse(NodeMessage.model_validate(message)) is None


def _diagnose(message: dict) -> Any:
    req = request(message)
    orders = analyse(req.escalation) if req.escalation else None
    return asyncio.run(Diagnoser(load_knowledge_base()).diagnose(req, orders=orders))


def test_an_anomaly_is_named_by_its_shaft_orders() -> None:
    """The node's classifier said healthy; the baseline flagged an anomaly; BPFO stands out in the envelope."""
    response = _diagnose(escalation(impacts(GEOMETRY.orders()["bpfo"], np.random.default_rng(4))))
    assert response.class_ == "bearing_outer"
    assert response.sources.class_ == "orders"
    assert response.cause_id == "bearing_outer.at_bpfo"
    assert response.severity == "warning"
    assert response.orders is not None and response.orders.fault == "bearing_outer"
    assert any("Fault identification in shaft orders" in ref for ref in response.references)
    assert "BPFO" in response.reasoning and "1500 rpm" in response.reasoning
    assert response.confidence == pytest.approx(0.8 * 0.6)  # the cause's confidence x the orders' fixed prior


@pytest.mark.parametrize(
    ("tones", "fault", "cause"),
    [({1: 2000.0}, "imbalance", "imbalance.at_1x"), ({1: 1000.0, 2: 1500.0}, "misalignment", "misalignment.at_2x")],
    ids=["1x", "2x"],
)
def test_shaft_order_patterns_name_imbalance_and_misalignment(tones: dict[int, float], fault: str, cause: str) -> None:
    response = _diagnose(escalation(shaft_tones(tones, np.random.default_rng(5))))
    assert (response.class_, response.cause_id, response.sources.class_) == (fault, cause, "orders")


def test_without_an_anomaly_the_orders_are_evidence_not_the_class() -> None:
    """A forced escalation of a machine its baseline finds normal: the rules always name some fault, so the
    node's class stands and the energies are facts (for the reasoning and the knowledge base's conditions)."""
    message = escalation(impacts(GEOMETRY.orders()["bpfo"], np.random.default_rng(4)), reason="forced")
    response = _diagnose(message)
    assert (response.class_, response.sources.class_) == ("healthy", "node")
    req = request(message)
    facts = gather_facts(req, "healthy", None, analyse(req.escalation) if req.escalation else None)
    assert facts["order_fault"] == "bearing_outer" and facts["shaft_rpm"] == RPM
    assert {f"order_{k}_db" for k in ("1x", "2x", "3x", "bpfo", "bpfi", "bsf", "ftf")} <= set(facts)
    assert "in shaft orders at 1500 rpm" in describe_facts(facts)


def test_a_shaft_fault_at_a_speed_the_baseline_never_saw_may_be_the_speed() -> None:
    """Imbalance's pattern at 1500 rpm, with a baseline learnt at 1000-1200 rpm: the orders still name the class,
    and the knowledge base's cause says it may be the new speed and to relearn, not to plan balancing."""
    message = escalation(shaft_tones({1: 2000.0}, np.random.default_rng(5)), baseline_rpm="[1000.0,1200.0]")
    response = _diagnose(message)
    assert (response.class_, response.sources.class_) == ("imbalance", "orders")
    assert (response.cause_id, response.severity) == ("imbalance.at_new_speed", "info")
    assert "at a speed its baseline never saw: it may be the speed, not a fault" in response.summary
    assert "binmoe.learn_baseline" in response.recommended_action
    assert "runs at 1500 rpm, outside the 1000-1200 rpm its baseline learnt" in response.reasoning
    assert any("Speeds the baseline never saw" in ref for ref in response.references)
    assert response.confidence == pytest.approx(0.5 * 0.6)  # the cause's confidence x the orders' fixed prior


@pytest.mark.parametrize(
    ("baseline_rpm", "cause"),
    [("[1480.0,1520.0]", "imbalance.at_1x"), ("[1000.0,1471.0]", "imbalance.at_1x"),
     ("[1000.0,1470.0]", "imbalance.at_new_speed"), ("[1531.0,1600.0]", "imbalance.at_new_speed")],
    ids=["inside", "within-2%-above", "just-over-2%-above", "just-over-2%-below"],
)  # fmt: skip
def test_within_two_percent_of_the_baselines_speeds_the_fault_is_plain(baseline_rpm: str, cause: str) -> None:
    message = escalation(shaft_tones({1: 2000.0}, np.random.default_rng(5)), baseline_rpm=baseline_rpm)
    assert _diagnose(message).cause_id == cause


def test_misalignment_at_a_new_speed_gets_the_caveat_and_a_bearing_fault_does_not() -> None:
    """A bearing's lines follow the speed: evidence at any speed. The new speed is in its reasoning."""
    misaligned = escalation(shaft_tones({1: 1000.0, 2: 1500.0}, np.random.default_rng(5)), baseline_rpm="[900,1000]")
    assert _diagnose(misaligned).cause_id == "misalignment.at_new_speed"
    message = escalation(impacts(GEOMETRY.orders()["bpfo"], np.random.default_rng(4)), baseline_rpm="[900,1000]")
    response = _diagnose(message)
    assert (response.class_, response.cause_id) == ("bearing_outer", "bearing_outer.at_bpfo")
    assert "runs at 1500 rpm, outside the 900-1000 rpm its baseline learnt" in response.reasoning


def test_the_baselines_speeds_are_facts() -> None:
    message = escalation(shaft_tones({1: 2000.0}, np.random.default_rng(5)), reason="forced", baseline_rpm="[900,1000]")
    facts = gather_facts(request(message), "healthy", None, None)
    assert facts["speed_outside_baseline"] is True and facts["baseline_rpm_low"] == 900.0
    inside = gather_facts(request({**message, "baseline_rpm": "[1400,1500]"}), "healthy", None, None)
    assert inside["speed_outside_baseline"] is False
    assert "inside the 1400-1500 rpm its baseline learnt" in describe_facts(inside)


@dataclass
class UnusedEngine:
    """The engine the gateway would phrase with; never contacted here (the LLM budget is 0)."""

    base_url: str = "http://127.0.0.1:9"
    is_ready: bool = True
    restarts: int = 0


def test_the_gateway_analyses_the_capture_and_rejects_a_bad_one() -> None:
    app = create_app(GatewaySettings("fake", "test", diagnose_llm_budget_s=0), UnusedEngine())
    message = escalation(impacts(GEOMETRY.orders()["bpfi"], np.random.default_rng(6)))
    with TestClient(app) as client:
        body = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": message}).json()
        assert body["class"] == "bearing_inner" and body["sources"]["class"] == "orders"
        assert body["orders"]["fault"] == "bearing_inner"
        assert set(body["orders"]["energies_db"]) == {"1x", "2x", "3x", "bpfo", "bpfi", "bsf", "ftf"}
        bad = {**message, "bearing": "[9, 40, 39, 0]"}  # a ball larger than the pitch circle
        response = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": bad})
        assert response.status_code == 422 and "not a bearing geometry" in response.text
        blocks = bytearray(ima_adpcm.encode(impacts(GEOMETRY.orders()["bpfi"], np.random.default_rng(6))))
        adpcm = {**message, "capture": base64.b64encode(bytes(blocks)).decode(), "capture_encoding": "ima_adpcm"}
        body = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": adpcm}).json()
        assert body["orders"]["fault"] == "bearing_inner"
        blocks[2 + 256] = 99  # the second block's step index: no encoder writes it
        adpcm["capture"] = base64.b64encode(bytes(blocks)).decode()
        response = client.post("/v1/binmoe/diagnose", json={"v": 1, "escalation": adpcm})
        assert response.status_code == 422 and "block 1: step index 99 is out of range" in response.text
