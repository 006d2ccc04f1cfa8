"""benchmarks/node_traffic.py: the messages it builds are what the protocol takes, and its totals add up."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import node_traffic
from gpu_backend.protocol import NodeMessage
from node_factory.reference import model_format


def t3_alarm(seconds: float = 14.0, rate: int = 16000) -> np.ndarray:
    """A 3.1 kHz smoke alarm sounding the T3 code (0.5 s on / 0.5 s off three times, 1.5 s off) over faint noise."""
    t = np.arange(int(seconds * rate)) / rate
    phase = t % 4.0
    on = (phase < 0.5) | ((phase >= 1.0) & (phase < 1.5)) | ((phase >= 2.0) & (phase < 2.5))
    noise = np.random.default_rng(0).normal(0, 100, len(t))
    return np.clip(8000 * np.sin(2 * np.pi * 3100 * t) * on + noise, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def model() -> object:
    return model_format.load(node_traffic.MODEL)[0]


def test_the_node_messages_are_valid_protocol_payloads(model: object) -> None:
    messages, dropped = node_traffic.node_messages(model, "Hall Way 1.16", t3_alarm())  # type: ignore[arg-type]
    assert dropped >= 0 and messages
    parsed = [NodeMessage.model_validate(m) for m in messages]  # the GPU tier's schema
    assert [m.seq for m in parsed] == list(range(len(parsed)))
    assert all(m.node_id == "hall-way-1-16" for m in parsed)  # a package name made a node id
    assert [m.uptime_ms for m in parsed] == sorted(m.uptime_ms for m in parsed)
    alarm = [m for m in messages if m.get("alarm_code") == "T3"]
    assert alarm and alarm[0]["class"] == "smoke_alarm" and alarm[0]["alarm_active"] is True
    assert alarm[0]["event_span_ms"] % 512 == 0 and alarm[0]["confidence"] == 1.0


def test_totals_are_per_hour_over_every_stream() -> None:
    stream = {"hours": 0.5, "detections": 3, "detections_by_class": {"knock": 3}, "escalations": 4,
              "escalations_dropped_by_the_node": 1, "alarm_events": 0, "hub": {"diagnose": 2, "local": 3}}  # fmt: skip
    total = node_traffic.total({"a": stream, "b": {**stream, "hub": {"diagnose": 1}}})
    assert total["hours"] == 1.0 and total["escalations_per_hour"] == 8.0
    assert total["hub_per_hour"] == {"diagnose": 3.0, "local": 3.0}
    assert total["detections_by_class_per_hour"] == {"knock": 6.0}
