"""The routing policy, decision by decision (pure logic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from custom_components.binmoe.protocol import NodeMessage, parse_message
from custom_components.binmoe.router import MISSING_REMEMBERED, Action, Router, RouterPolicy

BASE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/protocol/valid/escalation_mqtt.json").read_text()
)


def msg(**changes: Any) -> NodeMessage:
    data = {**BASE, **changes}
    if data["kind"] == "detection":
        data.pop("reason", None)
    return parse_message(data)


def test_escalation_is_diagnosed_and_critical() -> None:
    decision = Router(RouterPolicy()).decide(msg(), now=0)
    assert decision.action is Action.DIAGNOSE
    assert decision.critical  # smoke_alarm is critical by default


def test_confident_detection_is_local() -> None:
    decision = Router(RouterPolicy()).decide(msg(kind="detection", confidence=0.9, **{"class": "knock"}), 0)
    assert (decision.action, decision.handled_by, decision.critical) == (Action.LOCAL, "node", False)


def test_low_confidence_detection_is_escalated_by_the_hub() -> None:
    decision = Router(RouterPolicy(min_confidence=0.8)).decide(msg(kind="detection", confidence=0.7), 0)
    assert (decision.action, decision.handled_by) == (Action.DIAGNOSE, "hub")


def test_class_policies() -> None:
    policy = RouterPolicy(
        local_classes=frozenset({"knock"}),
        escalate_classes=frozenset({"doorbell"}),
        ignore_classes=frozenset({"speech_tv", "smoke_alarm"}),
    )
    router = Router(policy)
    assert router.decide(msg(seq=1, **{"class": "knock"}), 0).action is Action.LOCAL
    doorbell = msg(seq=2, kind="detection", confidence=0.99, **{"class": "doorbell"})
    assert router.decide(doorbell, 0).action is Action.DIAGNOSE
    assert router.decide(msg(seq=3, **{"class": "speech_tv"}), 0).action is Action.IGNORE
    # critical classes are never ignored or kept local
    assert router.decide(msg(seq=4, **{"class": "smoke_alarm"}), 0).action is Action.DIAGNOSE


def test_anomaly_escalations_pass_class_policies_and_dedupe() -> None:
    """An escalation with reason `anomaly` (the node's per-machine baseline) is about the machine: it is
    diagnosed even for an ignored or local class and within the dedupe window, but counts for the rate limit."""
    policy = RouterPolicy(local_classes=frozenset({"knock"}), ignore_classes=frozenset({"doorbell"}),
                          dedupe_window_s=30, rate_limit_per_minute=3)  # fmt: skip
    router = Router(policy)
    anomaly = {"reason": "anomaly", "anomaly_score": 9000, "anomaly_threshold": 1500}
    for seq, label in enumerate(["knock", "doorbell", "knock"]):
        decision = router.decide(msg(seq=seq, **anomaly, **{"class": label}), seq)
        assert decision.action is Action.DIAGNOSE, label
    assert router.decide(msg(seq=3, **anomaly, **{"class": "knock"}), 3).action is Action.DROP  # rate limit
    assert router.decide(msg(seq=4, **{"class": "doorbell"}), 70).action is Action.IGNORE  # others: as before


def test_dedupe_window() -> None:
    router = Router(RouterPolicy(dedupe_window_s=30))
    first = msg(kind="detection", confidence=0.9, **{"class": "knock"})
    assert router.decide(first, 0).action is Action.LOCAL
    assert router.decide(msg(kind="detection", confidence=0.9, seq=8, **{"class": "knock"}), 10).action is Action.DROP
    assert router.decide(msg(kind="detection", confidence=0.9, seq=9, **{"class": "knock"}), 41).action is Action.LOCAL


def test_rate_limit_per_node() -> None:
    router = Router(RouterPolicy(rate_limit_per_minute=2, dedupe_window_s=0))
    actions = [router.decide(msg(seq=i, **{"class": "knock"}), i).action for i in range(4)]
    assert actions == [Action.DIAGNOSE, Action.DIAGNOSE, Action.DROP, Action.DROP]
    assert router.decide(msg(seq=5, node_id="other", **{"class": "knock"}), 4).action is Action.DIAGNOSE
    assert router.decide(msg(seq=6, **{"class": "knock"}), 61).action is Action.DIAGNOSE


def test_sequence_gaps_count_lost_messages() -> None:
    router = Router(RouterPolicy(dedupe_window_s=0, rate_limit_per_minute=100))
    for seq in (1, 2, 5, 6):
        router.decide(msg(seq=seq), 0)
    assert router.lost_messages == 2
    router.decide(msg(seq=0, boot="11111111"), 0)  # a reboot restarts the sequence: no loss
    router.decide(msg(seq=1, boot="11111111"), 0)
    assert router.lost_messages == 2


def test_policy_from_options() -> None:
    policy = RouterPolicy.from_options(
        {"local_classes": ["knock"], "min_confidence": 0.5, "rate_limit_per_minute": 3.0, "critical_classes": []}
    )
    assert policy.local_classes == {"knock"}
    assert policy.rate_limit_per_minute == 3
    assert not policy.critical_classes


def test_a_late_seq_counted_as_lost_is_recovered_and_routed() -> None:
    """A node's outbox delivers what it made while no hub heard it after newer messages (docs/protocol.md §1)."""
    router = Router(RouterPolicy(dedupe_window_s=0, rate_limit_per_minute=100))
    for seq in (1, 2, 5):
        router.decide(msg(seq=seq), 0)
    assert router.lost_messages == 2
    late = router.decide(msg(seq=3, queued_ms=41_000), 1)
    assert (late.action, late.recovered) == (Action.DIAGNOSE, True)
    assert (router.lost_messages, router.recovered_messages, router.duplicates) == (1, 1, 0)
    assert not router.decide(msg(seq=6), 2).recovered  # in order: not recovered


def test_a_seq_received_twice_is_a_duplicate_without_alert_or_diagnosis() -> None:
    router = Router(RouterPolicy(dedupe_window_s=0, rate_limit_per_minute=100))
    for seq in (1, 2, 4):
        router.decide(msg(seq=seq), 0)
    for seq in (2, 4, 1):  # QoS 1 redelivery or a replay: smoke_alarm, yet no critical alert again
        decision = router.decide(msg(seq=seq), 1)
        assert (decision.action, decision.critical, decision.recovered) == (Action.DUPLICATE, False, False)
    assert router.decide(msg(seq=3), 1).recovered
    assert router.decide(msg(seq=3), 1).action is Action.DUPLICATE  # once recovered, seen
    assert (router.lost_messages, router.recovered_messages, router.duplicates) == (0, 1, 4)
    # the same seq from another boot (the node restarted) or another node is new
    assert router.decide(msg(seq=2, boot="11111111"), 2).action is Action.DIAGNOSE
    assert router.decide(msg(seq=2, node_id="other"), 2).action is Action.DIAGNOSE


def test_only_the_latest_missing_seqs_are_remembered() -> None:
    """A gap longer than MISSING_REMEMBERED counts in full as lost; only its latest seqs can be recovered."""
    router = Router(RouterPolicy(dedupe_window_s=0, rate_limit_per_minute=10_000))
    router.decide(msg(seq=0), 0)
    router.decide(msg(seq=MISSING_REMEMBERED + 11), 0)  # 1 .. 266 missing
    assert router.lost_messages == MISSING_REMEMBERED + 10
    assert router.decide(msg(seq=5), 0).action is Action.DUPLICATE  # forgotten: taken for a duplicate
    assert router.decide(msg(seq=11), 0).recovered  # the oldest remembered
    router.decide(msg(seq=2 * MISSING_REMEMBERED + 20), 0)  # another gap pushes the older ones out
    assert router.decide(msg(seq=12), 0).action is Action.DUPLICATE
    assert router.decide(msg(seq=2 * MISSING_REMEMBERED + 19), 0).recovered
