"""Alarm events on the node: the component's event detector (binmoe_events.cpp) against the Python reference
(node_factory.reference.events) decision for decision, and the router's reports of events (binmoe_router.cpp)
against the host-node reference (tests/esphome/reference.py), compiled on the host (the `harness` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import outcomes, run
from reference import Report, route, route_codes

from gpu_backend.protocol import NodeMessage
from node_factory.reference.events import EventDetector, EventRule

NONE, DETECTION, ESCALATION, DROPPED = range(4)
LOW_MARGIN, ESCALATE_CLASS, FORCED = range(3)
HOP_MS = 512  # the harness's node: 8192 samples at 16 kHz


def detector_lines(rules: list[EventRule], classes: list[int]) -> list[str]:
    """What the reference says for each pushed window, in the harness's det_push format."""
    detector = EventDetector(tuple(rules))
    lines = []
    for c in classes:
        fired = detector.push(c)
        states = "".join(f" {detector.count(r.class_idx)} {int(detector.active(r.class_idx))}" for r in rules)
        lines.append(f"{-1 if fired is None else fired}{states}")
    return lines


def compare(harness: Path, rules: list[EventRule], classes: list[int]) -> list[str]:
    script = [f"det_rule {r.class_idx} {r.need} {r.span}" for r in rules] + [f"det_push {c}" for c in classes]
    got = run(harness, script)
    assert got[: len(rules)] == ["1"] * len(rules)
    expected = detector_lines(rules, classes)
    for i, (line, ref) in enumerate(zip(got[len(rules) :], expected, strict=True)):
        assert line == ref, f"window {i} (class {classes[i]}): node {line!r}, reference {ref!r}"
    return expected


def bursts(rng: np.random.Generator, n: int, classes: int) -> list[int]:
    """Runs of one class with gaps: events start, go on and end (uniform noise would rarely fire big rules)."""
    out: list[int] = []
    while len(out) < n:
        c = int(rng.integers(classes))
        purity = 1.0 if rng.random() < 0.3 else rng.uniform(0.2, 1.0)  # pure runs: rules with need == span 32
        out += [c if rng.random() < purity else int(rng.integers(classes)) for _ in range(int(rng.integers(1, 80)))]
    return out[:n]


RULE_SETS = {
    "defaults": [EventRule(1, 2, 8), EventRule(2, 2, 12)],
    "span-32": [EventRule(3, 5, 32)],
    "need-1": [EventRule(0, 1, 1), EventRule(4, 1, 6)],
    "need-equals-span": [EventRule(2, 4, 4), EventRule(1, 32, 32), EventRule(5, 1, 32)],
    "several": [EventRule(5, 3, 7), EventRule(0, 2, 32), EventRule(3, 1, 2), EventRule(1, 6, 9)],
}


@pytest.mark.parametrize("name", RULE_SETS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_detector_matches_the_reference_on_random_streams(harness: Path, name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rules = RULE_SETS[name]
    lines = compare(harness, rules, bursts(rng, 6000, 6) + [int(rng.integers(6)) for _ in range(1000)])
    fired = [int(line.split()[0]) for line in lines]
    # the streams exercise what is compared: every rule fires, more than once
    assert all(fired.count(r.class_idx) >= 2 for r in rules), {r.class_idx: fired.count(r.class_idx) for r in rules}


def test_detector_on_scripted_alarms(harness: Path) -> None:
    smoke, co, other = 1, 2, 0
    # T3 at a 512 ms hop: the class in about 5 of every 8 windows (two windows in the 1.5 s gap without it)
    t3 = [smoke, smoke, other, smoke, smoke, smoke, other, other] * 4
    stream = [other] * 10 + t3 + [other] * 8 + [smoke] + [other] * 7 + t3[:2] + [other] * 3
    lines = compare(harness, [EventRule(smoke, 2, 8), EventRule(co, 2, 12)], stream)
    starts = [i for i, line in enumerate(lines) if line.split()[0] == str(smoke)]
    # one event for the whole alarm at its second window; 8 windows without the class end it, so one window
    # later is not an event, and the next two-window burst is a new one
    assert starts == [11, 10 + 32 + 8 + 8 + 1]
    # one window of the class alone, however often, never makes an event of need 2
    lone = compare(harness, [EventRule(smoke, 2, 8)], ([smoke] + [other] * 7) * 20)
    assert {line.split()[0] for line in lone} == {"-1"}


@pytest.mark.parametrize(("class_idx", "need", "span"), [(1, 0, 8), (1, 9, 8), (1, 2, 33), (-1, 2, 8), (16, 1, 1)])
def test_detector_refuses_what_the_reference_refuses(harness: Path, class_idx: int, need: int, span: int) -> None:
    assert run(harness, [f"det_rule {class_idx} {need} {span}"]) == ["0"]
    if class_idx < 16:  # the component's limit of classes (MAX_CLASSES); the reference has none
        with pytest.raises(ValueError):
            EventDetector((EventRule(class_idx, need, span),))


def test_one_rule_per_class(harness: Path) -> None:
    assert run(harness, ["det_rule 1 2 8", "det_rule 1 3 8", "det_rule 2 3 8"]) == ["1", "0", "1"]
    with pytest.raises(ValueError, match="one rule per class"):
        EventDetector((EventRule(1, 2, 8), EventRule(1, 3, 8)))


def assert_matches_reference(got: list[tuple[int, ...]], expected: dict[int, Report], stream: list[Any]) -> None:
    """The harness's `win`/`cwin` outcomes window by window against the reference's reports: nothing where it
    reports nothing, a drop where it drops an escalation over the node's limit, else the kind, the event's fields
    and, for an event recognised by its code, the code's class and code (the scripts set `codes 1 2`: class 1 is
    T3, class 2 T4)."""
    for i, out in enumerate(got):
        ref = expected.get(i)
        if ref is None:
            assert out[0] == NONE, f"window {i} {stream[i]}: {out}"
            continue
        kind = {"detection": DETECTION, "escalation": ESCALATION, "dropped": DROPPED}[ref.kind]
        events = () if ref.event_span is None else (ref.event_windows, ref.event_span)
        code = () if ref.code_class is None else (ref.code_class, 1 if ref.code_class == 1 else 2)
        assert out == (kind, LOW_MARGIN, *events, *code), f"window {i} {stream[i]}: {out}, reference {ref}"


def windows_script(stream: list[tuple[int, bool]], first_ms: int = 0) -> list[str]:
    return [f"win {first_ms + i * HOP_MS} {c} {10 if esc else 9000} {int(esc)}" for i, (c, esc) in enumerate(stream)]


@pytest.mark.parametrize("interval_ms", [0, 3072, 10000])  # 3072: 6 windows exactly
@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("confirm", [False, True])  # class 3 detected only on its second window in a row
def test_router_reports_match_the_host_node_reference(
    harness: Path, interval_ms: int, seed: int, confirm: bool
) -> None:
    """Random windows (classes, low margins) through the router with the default rules and an idle class: every
    window's outcome and event fields equal what reference.route says the node must send."""
    rng = np.random.default_rng(seed)
    rules = (EventRule(1, 2, 8), EventRule(2, 2, 12))
    stream = [(c, bool(rng.random() < 0.3)) for c in bursts(rng, 2500, 4)]
    first_ms = 2**32 - 600_000  # across the sample clock's wrap
    script = [f"cfg {interval_ms} 600 1 4", "rule 0 0 0", *(["confirm 3"] if confirm else []), "event 1 2 8",
              "event 2 2 12"]  # fmt: skip
    got = outcomes(run(harness, script + windows_script(stream, first_ms))[2:])
    held = frozenset({3} if confirm else ())
    expected = {
        r.window: r for r in route(stream, rules, {1, 2, 3}, interval_ms, HOP_MS, first_ms % 2**32, confirmed=held)
    }
    assert len(expected) > 100 and sum(r.event_start for r in expected.values()) > 20
    assert_matches_reference(got, expected, stream)


def test_a_window_of_an_alarm_class_alone_is_not_reported(harness: Path) -> None:
    # one smoke window, confident or not, reports nothing (the next one is a span later); the classes without a
    # rule are reported as before
    stream = [(1, False)] + [(0, False)] * 8 + [(1, True), (3, False), (3, True)]
    got = outcomes(run(harness, ["cfg 0 6 1 4", "rule 0 0 0", "event 1 2 8", *windows_script(stream)])[1:])
    assert got == [(NONE, LOW_MARGIN)] * 10 + [(DETECTION, LOW_MARGIN), (ESCALATION, LOW_MARGIN)]


def test_an_event_is_a_detection_or_an_escalation_by_its_window(harness: Path) -> None:
    confident = [(1, True), (0, False), (1, False)]
    unsure = [(1, False), (0, False), (1, True)]
    for stream, kind in ((confident, DETECTION), (unsure, ESCALATION)):
        got = outcomes(run(harness, ["cfg 10000 0 1 4", "rule 0 0 0", "event 1 2 8", *windows_script(stream)])[1:])
        # the event's window decides the kind; no escalation budget (0 per minute) holds an alarm back
        assert got == [(NONE, LOW_MARGIN), (NONE, LOW_MARGIN), (kind, LOW_MARGIN, 2, 8)]


def test_an_alarm_is_one_event_repeated_per_detection_interval(harness: Path) -> None:
    """A T3 alarm sounding for about 25 s (hop 512 ms): one event at its second window with the class, then a
    report every detection interval (10 s) while it sounds; a span of windows without the class ends it, and
    the next alarm is a new event at once, within the interval or not."""
    t3 = [1, 1, 0, 1, 1, 1, 0, 0]
    stream = [(c, False) for c in [0] * 4 + t3 * 6 + [0] * 8 + t3]
    got = outcomes(run(harness, ["cfg 10000 6 1 4", "rule 0 0 0", "event 1 2 8", *windows_script(stream)])[1:])
    sent = [(i, o) for i, o in enumerate(got) if o[0] != NONE]
    assert sent[0] == (5, (DETECTION, LOW_MARGIN, 2, 8))  # 0.5 s after the alarm's first window
    times = [i * HOP_MS for i, _ in sent]
    assert [t - times[0] for t in times[:3]] == [0, 10240, 20480]
    assert all(len(o) == 4 and o[3] == 8 and 2 <= o[2] <= 8 for _i, o in sent)
    second = 4 + 6 * 8 + 8
    assert [i for i, _ in sent[3:]] == [second + 1]
    assert times[3] - times[2] < 10000  # a new alarm, reported within the last one's interval


def test_forced_and_always_escalate_with_events(harness: Path) -> None:
    script = ["cfg 0 0 1 4", "rule 2 1 1", "event 1 2 8", "event 2 2 8"]
    windows = ["force", "win 0 1 9000 0", "force", "win 512 1 9000 0", "win 1024 2 9000 0", "win 1536 2 9000 0"]
    got = outcomes(run(harness, [*script, *windows])[2:])
    # forced windows escalate (with the event fields when the event starts with them); an always-escalate
    # alarm class escalates its event, beyond a zero escalation budget
    assert got == [(ESCALATION, FORCED), (ESCALATION, FORCED, 2, 8), (NONE, ESCALATE_CLASS),
                   (ESCALATION, ESCALATE_CLASS, 2, 8)]  # fmt: skip


def test_a_new_stream_forgets_the_windows_before_it(harness: Path) -> None:
    script = ["cfg 0 6 1 4", "event 1 2 8", "win 0 1 9000 0", "restart", "win 512 1 9000 0", "win 1024 1 9000 0"]
    assert outcomes(run(harness, script)[1:]) == [(NONE, LOW_MARGIN), (NONE, LOW_MARGIN), (DETECTION, LOW_MARGIN, 2, 8)]


def test_rules_for_other_classes_leave_a_class_without_one_alone(harness: Path) -> None:
    """Streams of classes without a rule, with rules for other classes: the same outcomes as without rules."""
    rng = np.random.default_rng(6)
    stream = [(int(rng.choice([0, 3])), bool(rng.random() < 0.3)) for _ in range(400)]
    script = ["cfg 10000 6 1 4", "rule 0 0 0", *windows_script(stream)]
    plain = run(harness, script)
    with_rules = run(harness, [*script[:2], "event 1 2 8", "event 2 1 1", *script[2:]])
    assert with_rules[2:] == plain
    assert {line for line in plain} == {"0 0", "1 0", "2 0", "3 0"}  # all outcomes, none with event fields


def test_event_messages_carry_the_event_fields(harness: Path) -> None:
    lines = run(harness, ["cfg 0 6 1 4", "event 1 3 8", "win 0 1 9000 0", "win 512 1 9000 0", "win 1024 1 10 1",
                          "msg", "win 1536 1 9000 0", "msg", "win 2048 3 9000 0", "msg"])  # fmt: skip
    escalation, repeat, plain = (json.loads(line) for line in lines[4:9:2])
    e = NodeMessage.model_validate(escalation)
    assert (e.kind, e.reason, e.event_windows, e.event_span_ms) == ("escalation", "low_margin", 3, 8 * HOP_MS)
    assert list(escalation)[-5:] == ["event_windows", "event_span_ms", "features", "feature_shape", "alarm_active"]
    d = NodeMessage.model_validate(repeat)
    assert (d.kind, d.event_windows, d.event_span_ms) == ("detection", 4, 4096)
    assert list(repeat)[-3:] == ["event_windows", "event_span_ms", "alarm_active"] and "reason" not in repeat
    assert "event_windows" not in plain and "event_span_ms" not in plain


@pytest.mark.parametrize("limit", [600, 6])  # escalations per minute: never reached; the node's default
@pytest.mark.parametrize("interval_ms", [0, 10000])
@pytest.mark.parametrize("seed", [6, 7])
@pytest.mark.parametrize("confirm", [False, True])  # class 3 detected only on its second window in a row
def test_router_with_code_events_matches_the_reference(
    harness: Path, interval_ms: int, seed: int, limit: int, confirm: bool
) -> None:
    """Code events (set_code_classes): random windows with the classes whose code completed in them now and then;
    every window's outcome, event fields and reported class equal reference.route_codes, with its escalation
    limit (the benchmarks route the default node's 6 a minute through it)."""
    rng = np.random.default_rng(seed)
    rules = (EventRule(1, 1, 8), EventRule(2, 1, 12))
    tops = bursts(rng, 3000, 4)
    codes = [int(rng.choice([1, 2])) if rng.random() < 0.08 else -1 for _ in tops]
    for start in rng.integers(0, len(codes) - 40, 10):  # alarms: a code every 2 windows for a while
        codes[start : start + 40 : 2] = [int(rng.choice([1, 2]))] * 20
    stream = [(c, bool(rng.random() < 0.3), code) for c, code in zip(tops, codes, strict=True)]
    script = [f"cfg {interval_ms} {limit} 1 4", "rule 0 0 0", *(["confirm 3"] if confirm else []), "event 1 1 8",
              "event 2 1 12", "codes 1 2"]  # fmt: skip
    script += [
        f"cwin {i * HOP_MS} {c} {10 if esc else 9000} {int(esc)} {code}" for i, (c, esc, code) in enumerate(stream)
    ]
    got = outcomes(run(harness, script)[2:])
    held = frozenset({3} if confirm else ())
    expected = {r.window: r for r in route_codes(stream, rules, {1, 2, 3}, interval_ms, HOP_MS, limit, held)}
    assert sum(r.event_start for r in expected.values()) > 20
    assert any(r.code_class is not None and r.code_class != stream[r.window][0] for r in expected.values())
    dropped = sum(out[0] == DROPPED for out in got)
    assert (dropped > 30) if limit == 6 else (dropped == 0)  # 40-349 of these streams' low margins go over 6
    assert_matches_reference(got, expected, stream)


def test_a_code_event_message_names_the_code_and_its_class(harness: Path) -> None:
    script = ["cfg 10000 6 0 4", "rule 0 0 0", "event 1 1 8", "event 2 1 12", "codes 1 2",
              "cwin 0 3 9000 0 2", "msg", "cwin 512 1 9000 0 -1"]  # fmt: skip
    lines = run(harness, script)
    event = json.loads(lines[3])
    assert (event["class"], event["class_idx"], event["confidence"], event["alarm_code"]) == (
        "co_alarm",
        "2",
        "1.0000",
        "T4",
    )
    assert (event["event_windows"], event["event_span_ms"]) == ("1", "6144")
    assert event["scores"] == "[0,-1,-2,9000]"  # the window's own model outputs stay
    NodeMessage.model_validate(event)  # the GPU tier's schema takes it
    # a smoke window without its code: not reported at all
    assert lines[4] == "0 0"
