"""benchmarks/hub_replay.py: the integration's router replaying a node's messages for benchmarks/node_traffic.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.hub_replay import replay

BASE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/protocol/valid/escalation_mqtt.json").read_text()
)


def line(seconds: float, kind: str = "detection", **changes: Any) -> str:
    data = {**BASE, "kind": kind, "uptime_ms": round(seconds * 1000), "confidence": 0.9, **changes}
    if kind == "detection":
        data.pop("reason", None)
    return json.dumps(data)


def test_each_stream_is_a_fresh_hub_and_its_decisions_are_counted() -> None:
    knock = {"class": "knock", "class_idx": 3}
    lines = [
        json.dumps({"stream": "living room"}),
        line(0, seq=0, **knock),  # handled on the node
        line(5, seq=1, **knock),  # the same class within 30 s: dropped
        line(40, seq=2, confidence=0.4, **{"class": "doorbell", "class_idx": 4}),  # unsure: the hub asks
        line(41, "escalation", seq=3, **knock),  # the node asks
        line(42, seq=4, event_windows=1, event_span_ms=4096, alarm_code="T3"),  # the smoke alarm's event
        '{"v": 1, "kind": "detection"}',  # refused by the hub
        json.dumps({"stream": "kitchen"}),
        line(0, seq=0, **knock),  # a new hub: not a repeat of the living room's knock
    ]
    result = replay(lines)
    assert result["living room"] == {
        "critical": 1,
        "diagnose": 2,
        "diagnose: doorbell": 1,
        "diagnose: knock": 1,
        "diagnose_by_hub": 1,
        "diagnose_by_node": 1,
        "drop": 1,
        "drop: duplicate within the dedupe window": 1,
        "invalid": 1,
        "local": 2,
        "local: knock": 1,
        "local: smoke_alarm": 1,
    }
    assert result["kitchen"] == {"critical": 0, "local": 1, "local: knock": 1}
    with_seqs = replay(lines, seqs=True)
    assert with_seqs["living room"]["diagnosed_seqs"] == [2, 3] and with_seqs["kitchen"]["diagnosed_seqs"] == []
    assert {k: v for k, v in with_seqs["living room"].items() if k != "diagnosed_seqs"} == result["living room"]
