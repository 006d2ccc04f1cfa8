"""The node's routing rules and protocol messages (binmoe_router.cpp, binmoe_message.cpp: the code the component
runs), compiled on the host with g++ (the `harness` fixture, conftest.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import outcomes, run

from gpu_backend.protocol import NodeMessage

NONE, DETECTION, ESCALATION, DROPPED = range(4)
LOW_MARGIN, ESCALATE_CLASS, FORCED = range(3)


def test_detection_interval_per_class(harness: Path) -> None:
    # smoke alarm every 512 ms for 25 s, interval 10 s: reported at 0, 10240 and 20480 ms only
    script = ["cfg 10000 6 1 4"] + [f"win {t} 1 9000 0" for t in range(0, 25000, 512)]
    got = outcomes(run(harness, script))
    reported = [t for t, (o, _r) in zip(range(0, 25000, 512), got, strict=True) if o == DETECTION]
    assert reported == [0, 10240, 20480]
    # another class is not held back by the first one's interval
    got = outcomes(run(harness, ["cfg 10000 6 1 4", "win 0 1 9000 0", "win 512 2 9000 0", "win 1024 1 9000 0"]))
    assert [o for o, _ in got] == [DETECTION, DETECTION, NONE]


def test_a_confirmed_class_is_detected_on_its_second_window_in_a_row(harness: Path) -> None:
    # confirm_windows: 2 (the doorbell's default): one window of class 2 alone is not reported, two in a row are;
    # its low margins still escalate; another class, and a new stream, start the count again
    script = ["cfg 0 6 1 4", "confirm 2", "win 0 2 9000 0", "win 512 2 9000 0", "win 1024 1 9000 0",
              "win 1536 2 9000 0", "win 2048 2 10 1", "win 2560 2 9000 0", "restart", "win 3072 2 9000 0"]  # fmt: skip
    got = outcomes(run(harness, script))
    assert got == [(NONE, LOW_MARGIN), (DETECTION, LOW_MARGIN), (DETECTION, LOW_MARGIN), (NONE, LOW_MARGIN),
                   (ESCALATION, LOW_MARGIN), (DETECTION, LOW_MARGIN), (NONE, LOW_MARGIN)]  # fmt: skip


def test_idle_classes_are_not_reported_but_still_escalate(harness: Path) -> None:
    got = outcomes(run(harness, ["cfg 0 6 1 4", "rule 0 0 0", "win 0 0 9000 0", "win 512 0 10 1"]))
    assert got == [(NONE, LOW_MARGIN), (ESCALATION, LOW_MARGIN)]


def test_escalation_limit_is_a_token_bucket_on_stream_time(harness: Path) -> None:
    times = list(range(0, 180_000, 512))  # three minutes of low-margin windows
    got = outcomes(run(harness, ["cfg 0 6 1 4"] + [f"win {t} 3 10 1" for t in times]))
    sent = [t for t, (o, _r) in zip(times, got, strict=True) if o == ESCALATION]
    assert all(o in (ESCALATION, DROPPED) for o, _ in got)
    assert sent[:6] == times[:6]  # a full bucket at start
    assert 6 + 17 <= len(sent) <= 6 + 18  # then one per 10 s
    for start in range(0, 180_000 - 60_000, 5_000):  # never more than bucket + refill in any minute
        assert sum(start <= t < start + 60_000 for t in sent) <= 6 + 6
    zero = outcomes(run(harness, ["cfg 0 0 1 4", "win 0 3 10 1"]))
    assert zero == [(DROPPED, LOW_MARGIN)]


def test_rules_hold_across_the_sample_clock_wrapping(harness: Path) -> None:
    # the node's stream clock is 32-bit milliseconds: it wraps after 49.7 days, mid-interval here
    start = 2**32 - 15_000
    times = list(range(start, start + 25_000, 512))
    got = outcomes(run(harness, ["cfg 10000 6 1 4"] + [f"win {t} 1 9000 0" for t in times]))
    reported = [t - start for t, (o, _r) in zip(times, got, strict=True) if o == DETECTION]
    assert reported == [0, 10240, 20480]
    times = list(range(start, start + 120_000, 512))
    got = outcomes(run(harness, ["cfg 0 6 1 4"] + [f"win {t} 3 10 1" for t in times]))
    sent = [t for t, (o, _r) in zip(times, got, strict=True) if o == ESCALATION]
    assert 6 + 11 <= len(sent) <= 6 + 12  # a full bucket, then one per 10 s: the wrap neither refills nor stalls it


def test_forced_and_always_escalate(harness: Path) -> None:
    got = outcomes(run(harness, ["cfg 0 0 1 4", "rule 2 1 1", "force", "win 0 1 9000 0", "win 512 1 9000 0",
                                 "win 1024 2 9000 0"]))  # fmt: skip
    # forced bypasses the (zero) limit; an always-escalate class is still rate limited
    assert got == [(ESCALATION, FORCED), (DETECTION, LOW_MARGIN), (DROPPED, ESCALATE_CLASS)]


def test_escalation_rate_over_the_last_128_windows(harness: Path) -> None:
    pattern = [i % 4 == 0 for i in range(300)]
    script = ["cfg 0 600 1 4"] + [f"win {i * 512} 1 10 {int(e)}" for i, e in enumerate(pattern)] + ["rate"]
    assert float(run(harness, script)[-1]) == pytest.approx(np.mean(pattern[-128:]))
    assert float(run(harness, ["cfg 0 6 1 4", "rate"])[-1]) == 0.0


def test_messages_follow_the_protocol(harness: Path) -> None:
    lines = run(harness, ["cfg 0 6 1 4", "win 0 1 9000 0", "msg", "win 512 2 10 1", "msg"])
    detection, escalation = json.loads(lines[1]), json.loads(lines[3])
    d = NodeMessage.model_validate(detection)
    assert (d.kind, d.class_, d.class_idx, d.margin, d.seq, d.scores) == ("detection", "smoke_alarm", 1, 9000, 0,
                                                                            [0, 9000, -2, -3])  # fmt: skip
    assert "features" not in detection and "reason" not in detection
    e = NodeMessage.model_validate(escalation)
    assert (e.kind, e.reason, e.seq, e.feature_shape, e.level_db, e.confidence) == ("escalation", "low_margin", 1,
                                                                                    "6x4", -23.2, 0.75)  # fmt: skip
    feats = np.frombuffer(base64.b64decode(e.features or ""), dtype=np.int8)
    assert feats.tolist() == [i * 11 - 128 for i in range(24)]
    without = json.loads(run(harness, ["cfg 0 6 0 4", "win 0 2 10 1", "msg"])[1])
    assert "features" not in without and without["reason"] == "low_margin"


def test_messages_say_whether_an_alarm_is_going_on(harness: Path) -> None:
    """`alarm_active` (docs/protocol.md): on every message of a node with alarm-event rules, true from the window
    that starts an event until the alarm is over (the rule's span without its class), queued ones included; a
    node without such rules leaves it out."""
    script = ["cfg 0 6 1 4", "event 1 2 4", "outbox 4", "win 0 2 10 1", "msg", "win 512 1 9000 0", "win 1024 1 9000 0",
              "msg", "win 1536 2 10 1", "msg", "win 2048 2 10 1", "win 2560 2 10 1", "msg", "win 3072 2 10 1", "msg",
              "win 3584 2 10 1", "queue 4000", "flush 5000"]  # fmt: skip
    lines = run(harness, script)
    messages = [json.loads(line) for line in lines if line.startswith("{")]
    said = [(m["kind"], m["alarm_active"]) for m in messages]
    assert said == [("escalation", "false"), ("detection", "true"), ("escalation", "true"), ("escalation", "true"),
                    ("escalation", "false"), ("escalation", "false")]  # fmt: skip
    assert [NodeMessage.model_validate(m).alarm_active for m in messages] == [False, True, True, True, False, False]
    without = json.loads(run(harness, ["cfg 0 6 1 4", "win 0 2 10 1", "msg"])[1])
    assert "alarm_active" not in without


def test_queued_messages_keep_their_seq_and_order_and_say_how_late(harness: Path) -> None:
    """Store and forward (binmoe_message.cpp's Outbox and build_queued): a window kept while no hub listens is
    sent later as the message it would have been, with its own seq and uptime, `queued_ms`, and no features."""
    direct = json.loads(run(harness, ["cfg 0 6 1 4", "win 0 1 9000 0", "msg", "win 512 2 10 1", "msg"])[3])
    lines = run(harness, ["cfg 0 6 1 4", "outbox 4", "win 0 1 9000 0", "queue 1000", "win 512 2 10 1",
                          "queue 1512", "flush 42000", "flush 42001"])  # fmt: skip
    assert lines[1] == "1 0" and lines[3] == "2 0"
    first, second = (json.loads(line) for line in lines[4:6])
    assert (first["seq"], first["uptime_ms"], first["queued_ms"]) == ("0", "1000", "41000")
    assert (second["seq"], second["uptime_ms"], second["queued_ms"]) == ("1", "1512", "40489")
    assert second["kind"] == "escalation" and "features" not in second and "feature_shape" not in second
    # apart from those, the queued escalation is the message the node would have sent then
    assert {k: v for k, v in second.items() if k not in ("uptime_ms", "queued_ms")} == {
        k: v for k, v in direct.items() if k not in ("uptime_ms", "features", "feature_shape")
    }
    for message in (first, second):
        assert NodeMessage.model_validate(message).queued_ms is not None
    assert "queued_ms" not in direct


def test_a_full_outbox_drops_its_oldest_message(harness: Path) -> None:
    script = ["cfg 0 6 1 4", "outbox 2"]
    for t in range(4):
        script += [f"win {t * 512} 1 9000 0", f"queue {t * 512}"]
    lines = run(harness, [*script, "flush 9000", "flush 9000"])
    assert lines[1:8:2] == ["1 0", "2 0", "2 1", "2 2"]  # after each `win` line: outbox size, dropped
    assert [json.loads(line)["seq"] for line in lines[8:]] == ["2", "3"]  # seq 0 and 1 are the hub's lost ones


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 63, 64, 200])
def test_base64_matches_python(harness: Path, size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    (line,) = run(harness, [f"b64 {data.hex()}"])
    assert line == base64.b64encode(data).decode()
