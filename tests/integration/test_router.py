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


def test_an_alarm_event_covers_the_nodes_escalations_around_it() -> None:
    """The windows a node escalates from 10 s before it reports an alarm to 15 s after its latest report (its
    stream time, same boot) are the alarm: not diagnosed. Asked-for (`forced`) ones and other nodes' are."""
    router = Router(RouterPolicy(dedupe_window_s=0))
    beep = {"class": "appliance_beep", "class_idx": 3}
    assert router.decide(msg(seq=1, uptime_ms=100_000, **beep), 0).action is Action.DIAGNOSE  # before: routed
    alarm = router.decide(msg(kind="detection", seq=2, uptime_ms=101_600, confidence=1.0, margin=4,
                              event_windows=1, event_span_ms=4096, alarm_code="T3"), 1)  # fmt: skip
    assert (alarm.action, alarm.critical) == (Action.LOCAL, True)
    assert alarm.alarm is not None and alarm.alarm.summary() == {"class": "smoke_alarm", "seq": 2, "alarm_code": "T3"}
    after = router.decide(msg(seq=3, uptime_ms=110_000, **beep), 2)
    assert (after.action, after.critical, after.alarm) == (Action.PART_OF_ALARM, False, alarm.alarm)
    late = router.decide(msg(seq=4, uptime_ms=92_000, queued_ms=9000, **beep), 3)  # from the outbox, 9.6 s before
    assert late.action is Action.PART_OF_ALARM
    critical_window = router.decide(msg(seq=5, uptime_ms=111_000), 4)  # a smoke window without the event fields
    assert (critical_window.action, critical_window.critical) == (Action.PART_OF_ALARM, True)
    forced = router.decide(msg(seq=6, uptime_ms=112_000, reason="forced", **beep), 5)
    assert forced.action is Action.DIAGNOSE
    other_node = router.decide(msg(seq=1, node_id="garage-sound", uptime_ms=110_000, **beep), 6)
    assert other_node.action is Action.DIAGNOSE
    detection = router.decide(msg(kind="detection", seq=7, uptime_ms=113_000, confidence=0.9, **beep), 7)
    assert detection.action is Action.LOCAL  # detections are the node's own business, as always
    assert router.decide(msg(seq=8, uptime_ms=116_601, **beep), 8).action is Action.DIAGNOSE  # 15 s after: over
    assert router.decide(msg(seq=9, uptime_ms=91_599, queued_ms=25_000, **beep), 9).action is Action.DIAGNOSE
    rebooted = router.decide(msg(seq=0, boot="00000001", uptime_ms=105_000, **beep), 10)
    assert rebooted.action is Action.DIAGNOSE  # another boot: its stream time is another clock


def test_a_detection_the_hub_would_escalate_is_part_of_the_alarm_too() -> None:
    """An unsure detection (under `min_confidence`) or one of a class the user escalates is sent for a diagnosis
    by the hub: around an alarm it is the alarm's, like the node's escalations. Sure ones stay the node's business,
    and critical, ignored and local classes are never taken."""
    router = Router(RouterPolicy(dedupe_window_s=0, escalate_classes=frozenset({"knock"}),
                                 ignore_classes=frozenset({"speech_tv"})))  # fmt: skip
    router.decide(msg(kind="detection", seq=1, uptime_ms=101_600, confidence=1.0, margin=4, event_windows=1,
                      event_span_ms=4096, alarm_code="T3"), 0)  # fmt: skip
    beep = {"kind": "detection", "class": "appliance_beep", "class_idx": 3}
    assert router.decide(msg(seq=2, uptime_ms=103_000, confidence=0.4, **beep), 1).action is Action.PART_OF_ALARM
    assert router.decide(msg(seq=3, uptime_ms=104_000, confidence=0.9, **beep), 2).action is Action.LOCAL
    knock = {"kind": "detection", "class": "knock", "class_idx": 5, "confidence": 0.9}
    assert router.decide(msg(seq=4, uptime_ms=105_000, **knock), 3).action is Action.PART_OF_ALARM
    speech = {"kind": "detection", "class": "speech_tv", "class_idx": 7, "confidence": 0.3}
    assert router.decide(msg(seq=5, uptime_ms=106_000, **speech), 4).action is Action.IGNORE
    co = {"kind": "detection", "class": "co_alarm", "class_idx": 2, "confidence": 0.3}
    assert router.decide(msg(seq=6, uptime_ms=107_000, **co), 5).action is Action.DIAGNOSE  # critical: diagnosed
    after = router.decide(msg(seq=7, uptime_ms=117_000, confidence=0.4, **beep), 6)
    assert (after.action, after.handled_by) == (Action.DIAGNOSE, "hub")  # 15 s after the report: diagnosed again


def test_a_node_that_says_whether_its_alarm_is_on_is_believed_from_the_first_report() -> None:
    """`alarm_active` (nodes with alarm events): after the alarm stops, the node's escalations are diagnosed again
    at once, not 15 s after its latest report; while it says the alarm goes on they are the alarm's, even past
    the time rule. Before the first report the node could not know yet: the time rule holds there."""
    router = Router(RouterPolicy(dedupe_window_s=0))
    beep = {"class": "appliance_beep", "class_idx": 3}
    before = router.decide(msg(seq=1, uptime_ms=95_000, alarm_active=False, **beep), 0)
    assert before.action is Action.DIAGNOSE  # routed before the report; the hub takes it back then (test_hub.py)
    alarm = router.decide(msg(kind="detection", seq=2, uptime_ms=100_000, confidence=1.0, margin=4,
                              event_windows=1, event_span_ms=4096, alarm_code="T3", alarm_active=True), 1)  # fmt: skip
    assert alarm.alarm is not None
    assert alarm.alarm.takes(True, "low_margin", BASE["node_id"], BASE["boot"], 95_000, False)  # before
    assert not alarm.alarm.takes(False, None, BASE["node_id"], BASE["boot"], 95_000, False)  # handled locally
    assert not alarm.alarm.takes(True, "forced", BASE["node_id"], BASE["boot"], 95_000, False)  # the user asked
    during = router.decide(msg(seq=3, uptime_ms=104_000, alarm_active=True, **beep), 2)
    assert during.action is Action.PART_OF_ALARM
    stopped = router.decide(msg(seq=4, uptime_ms=106_000, alarm_active=False, **beep), 3)
    assert stopped.action is Action.DIAGNOSE  # inside the time rule's 15 s, but the node says the alarm is over
    again = router.decide(msg(kind="detection", seq=40, uptime_ms=112_000, confidence=1.0, margin=4,
                              event_windows=1, event_span_ms=4096, alarm_code="T3", alarm_active=True), 3)  # fmt: skip
    assert again.alarm is not None and (again.alarm.seq, again.alarm.last_ms) == (2, 112_000)
    # the node heard the code again: what it escalated in the 10 s before is the alarm (the hub takes it back)
    assert again.alarm.takes(True, "low_margin", BASE["node_id"], BASE["boot"], 106_000, False)
    assert not again.alarm.takes(True, "low_margin", BASE["node_id"], BASE["boot"], 101_000, False)
    long_after = router.decide(msg(seq=50, uptime_ms=140_000, alarm_active=True, **beep), 4)
    assert long_after.action is Action.PART_OF_ALARM  # its repeats were lost; the node says it still sounds
    forced = router.decide(msg(seq=60, uptime_ms=141_000, alarm_active=True, reason="forced", **beep), 5)
    assert forced.action is Action.DIAGNOSE
    rebooted = router.decide(msg(seq=0, boot="00000001", uptime_ms=120_000, alarm_active=True, **beep), 6)
    assert rebooted.action is Action.DIAGNOSE  # another boot: not this alarm (its own report never came)


def test_an_alarm_that_goes_on_extends_its_span_and_a_later_one_starts_anew() -> None:
    router = Router(RouterPolicy(dedupe_window_s=0))
    event = {"kind": "detection", "confidence": 1.0, "margin": 4, "event_windows": 2, "event_span_ms": 4096}
    first = router.decide(msg(seq=1, uptime_ms=100_000, **event), 0).alarm
    repeat = router.decide(msg(seq=2, uptime_ms=110_000, **event), 1).alarm  # the node's detection interval
    assert first is not None and repeat is not None
    assert (repeat.seq, repeat.first_ms, repeat.last_ms) == (1, 100_000, 110_000)
    assert router.decide(msg(seq=3, uptime_ms=124_000, **{"class": "knock"}), 2).action is Action.PART_OF_ALARM
    later = router.decide(msg(seq=4, uptime_ms=200_000, **event), 3).alarm
    assert later is not None and (later.seq, later.first_ms) == (4, 200_000) and later.alarm_code is None
    assert later.summary() == {"class": "smoke_alarm", "seq": 4}
    # an escalation of a critical class with the event fields is itself an alarm event: routed, never swallowed
    escalated_event = router.decide(msg(seq=5, uptime_ms=201_000, event_windows=1, event_span_ms=4096), 4)
    assert escalated_event.action is Action.DIAGNOSE and escalated_event.alarm is not None
    # a class the user made non-critical reports no alarm
    plain = Router(RouterPolicy(critical_classes=frozenset({"co_alarm"}))).decide(msg(**event), 0)
    assert plain.alarm is None


def test_the_benchmarks_copy_of_the_alarm_rule_agrees_with_the_router() -> None:
    """benchmarks/alarm_rule.covered (what benchmarks.alarm_fragments counts with, outside Home Assistant) against
    the real Router and AlarmEpisode.takes on random streams: alarm reports and escalations in stream order, each
    report taking back what was diagnosed before it (as hub._withdraw_fragments does), with and without
    `alarm_active`."""
    import random

    from benchmarks.alarm_rule import covered, hub_rule

    before, after = hub_rule()
    rng = random.Random(20261207)
    beep = {"class": "appliance_beep", "class_idx": 3}
    report = {"confidence": 1.0, "margin": 4, "event_windows": 1, "event_span_ms": 4096, "alarm_code": "T3"}
    for _ in range(600):
        with_active = rng.random() < 0.5
        reports = sorted({rng.randrange(10, 100) * 500 for _ in range(rng.randrange(1, 6))})
        sent = sorted({rng.randrange(0, 240) * 500 for _ in range(rng.randrange(1, 40))} - set(reports))
        active = {t: rng.random() < 0.5 for t in sent}  # any combination: both must read it the same way
        router = Router(RouterPolicy(dedupe_window_s=0, rate_limit_per_minute=1000))
        taken: set[int] = set()
        diagnosed: list[int] = []
        for seq, t in enumerate(sorted([*reports, *sent])):
            extra = {"alarm_active": active.get(t, True)} if with_active else {}
            if t in reports:
                decision = router.decide(
                    msg(
                        kind="detection", seq=seq, uptime_ms=100_000 + t, **{"class": "smoke_alarm"}, **report, **extra
                    ),
                    t / 1000,
                )
                assert decision.alarm is not None
                alarm = decision.alarm
                taken |= {
                    s
                    for s in diagnosed
                    if alarm.takes(
                        True,
                        "low_margin",
                        BASE["node_id"],
                        BASE["boot"],
                        100_000 + s,
                        active.get(s) if with_active else None,
                    )
                }
            else:
                decision = router.decide(msg(seq=seq, uptime_ms=100_000 + t, **beep, **extra), t / 1000)
                if decision.action is Action.PART_OF_ALARM:
                    taken.add(t)
                else:
                    assert decision.action is Action.DIAGNOSE
                    diagnosed.append(t)
        seconds = [r / 1000 for r in reports]
        expected = {t for t in sent if covered(t / 1000, seconds, before, after, active[t] if with_active else None)}
        assert taken == expected, (with_active, reports, sent, active)
