"""The grounded expert's rules over the evidence: class choice, causes, severities, history, questions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gpu_backend.fixture_moe import BEARING_ESCALATION, SMOKE_ESCALATION
from gpu_backend.knowledge import Decision, KnowledgeBase, decide, load_knowledge_base
from gpu_backend.knowledge.evidence import derive_history, describe_facts
from gpu_backend.protocol import DiagnoseRequest, NodeMessage, TeacherOpinion


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def _escalation(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    esc = copy.deepcopy(base)
    esc.update(changes)
    return esc


def _decide(
    kb: KnowledgeBase,
    escalation: dict[str, Any] | None = None,
    teacher: tuple[str, float] | None = None,
    question: str | None = None,
    **context: Any,
) -> Decision:
    body: dict[str, Any] = {"v": 1}
    if escalation is not None:
        body["escalation"] = escalation
    if question is not None:
        body["question"] = question
    if context:
        body["context"] = context
    request = DiagnoseRequest.model_validate(body)
    opinion = None
    if teacher is not None and escalation is not None:
        opinion = TeacherOpinion.model_validate(
            {"class": teacher[0], "confidence": teacher[1], "agrees_with_node": teacher[0] == escalation["class"]}
        )
    return decide(kb, request, opinion)


CHIRPS = {"repeats_last_hour": 12, "median_interval_s": 45.0, "sustained_s": 0.0}
LATE_SMOKE = _escalation(SMOKE_ESCALATION, uptime_ms=3_600_000)  # an hour after boot, room for history


def test_smoke_alarm_without_more_evidence_is_critical(kb: KnowledgeBase) -> None:
    d = _decide(kb, SMOKE_ESCALATION, area="Hallway")
    assert (d.class_name, d.class_source, d.cause.id, d.cause.severity) == ("smoke_alarm", "node", "smoke", "critical")
    assert d.known.actions[d.cause.action].startswith("Check for smoke or fire now")
    assert d.summary(d.cause) == (
        "The smoke alarm in the Hallway is sounding: check for smoke or fire and get everyone out if you find any."
    )
    assert d.confidence(d.cause) == round(0.8 * SMOKE_ESCALATION["confidence"], 2)


def test_regular_single_chirps_are_a_low_battery(kb: KnowledgeBase) -> None:
    d = _decide(kb, SMOKE_ESCALATION, area="Hallway", history=CHIRPS)
    assert (d.cause.id, d.cause.severity, d.cause.action) == ("low_battery", "warning", "replace_alarm_battery")
    assert [c.id for c in d.admissible] == ["low_battery", "smoke"]  # the critical default stays allowed


@pytest.mark.parametrize(
    "history",
    [
        {"repeats_last_hour": 12, "median_interval_s": 45.0},  # sustained_s unknown: no downgrade
        {**CHIRPS, "sustained_s": 30.0},  # a sustained sound is the alarm, not a chirp
        {**CHIRPS, "median_interval_s": 5.0},  # too frequent for a trouble chirp
        {**CHIRPS, "repeats_last_hour": 1},  # not repeated enough yet
    ],
)
def test_a_smoke_alarm_is_only_downgraded_on_full_chirp_evidence(kb: KnowledgeBase, history: dict[str, Any]) -> None:
    assert _decide(kb, SMOKE_ESCALATION, history=history).cause.severity == "critical"


def test_history_is_derived_from_recent_messages(kb: KnowledgeBase) -> None:
    now = LATE_SMOKE["uptime_ms"]
    recent = [
        _escalation(LATE_SMOKE, kind="detection", reason=None, seq=i, uptime_ms=now - k * 45_000)
        for i, k in enumerate((4, 3, 2, 1))
    ]
    recent.append(_escalation(LATE_SMOKE, seq=9, uptime_ms=now - 20_000, **{"class": "doorbell"}))
    recent.append(_escalation(LATE_SMOKE, seq=10, uptime_ms=now - 30_000, boot="deadbeef"))
    history = derive_history(NodeMessage.model_validate(LATE_SMOKE), [NodeMessage.model_validate(m) for m in recent])
    assert history.repeats_last_hour == 4  # other classes and other boots do not count
    assert history.seconds_since_last == 45.0
    assert history.median_interval_s == 45.0
    assert history.sustained_s == 0.0
    d = _decide(kb, LATE_SMOKE, recent=recent)
    assert d.cause.id == "low_battery"


def test_given_history_wins_over_derived(kb: KnowledgeBase) -> None:
    now = LATE_SMOKE["uptime_ms"]
    recent = [_escalation(LATE_SMOKE, seq=i, uptime_ms=now - k * 45_000) for i, k in enumerate((4, 3, 2, 1))]
    d = _decide(kb, LATE_SMOKE, recent=recent, history={"sustained_s": 60.0})
    assert d.facts["repeats_last_hour"] == 4 and d.facts["sustained_s"] == 60.0
    assert d.cause.id == "sustained_alarm"


def test_teacher_doubting_a_smoke_alarm_keeps_it_critical(kb: KnowledgeBase) -> None:
    d = _decide(kb, SMOKE_ESCALATION, teacher=("speech_tv", 0.95))
    assert (d.class_name, d.class_source, d.cause.id, d.cause.severity) == (
        "smoke_alarm",
        "node",
        "teacher_doubts",
        "critical",
    )
    assert d.certainty == pytest.approx(SMOKE_ESCALATION["confidence"] * 0.05)


def test_teacher_hearing_an_alarm_the_node_missed_is_a_warning_to_check(kb: KnowledgeBase) -> None:
    beep = _escalation(SMOKE_ESCALATION, **{"class": "appliance_beep", "class_idx": 3})
    d = _decide(kb, beep, teacher=("co_alarm", 0.55), area="Kitchen")
    assert (d.class_name, d.class_source, d.cause.id, d.cause.severity, d.cause.action) == (
        "co_alarm",
        "teacher",
        "teacher_only",
        "warning",
        "check_alarm_sounding",
    )
    assert d.facts["class_from_teacher"] is True and d.confidence(d.cause) == round(0.5 * 0.55, 2)
    assert d.summary(d.cause).startswith("A possible CO alarm was heard in the Kitchen by the GPU tier's classifier")
    # `final`: the alarm's causes that say it is sounding are not offered (an LLM may not pick a higher one)
    assert [c.id for c in d.admissible] == ["teacher_only"]


def test_teacher_only_smoke_alarm_still_yields_to_the_nodes_own_sustained_alarm(kb: KnowledgeBase) -> None:
    beep = _escalation(LATE_SMOKE, **{"class": "appliance_beep", "class_idx": 3})
    sustained = {"repeats_last_hour": 14, "sustained_s": 14.0}
    d = _decide(kb, beep, teacher=("smoke_alarm", 0.9), history=sustained)
    assert (d.class_source, d.cause.id, d.cause.severity) == ("teacher", "sustained_alarm", "critical")


def test_the_nodes_own_alarm_is_not_from_the_teacher(kb: KnowledgeBase) -> None:
    d = _decide(kb, SMOKE_ESCALATION, teacher=("smoke_alarm", 0.92))
    assert d.facts["class_from_teacher"] is False and "teacher_only" not in [c.id for c in d.admissible]
    assert _decide(kb, question="Why is the smoke alarm beeping?").facts["class_from_teacher"] is False


@pytest.mark.parametrize(("confidence", "expected"), [(0.69, "appliance_beep"), (0.7, "doorbell")])
def test_teacher_replaces_a_non_critical_class_when_confident(
    kb: KnowledgeBase, confidence: float, expected: str
) -> None:
    beep = _escalation(SMOKE_ESCALATION, **{"class": "appliance_beep", "class_idx": 3})
    assert _decide(kb, beep, teacher=("doorbell", confidence)).class_name == expected


def test_teacher_agreeing_raises_the_certainty(kb: KnowledgeBase) -> None:
    d = _decide(kb, SMOKE_ESCALATION, teacher=("smoke_alarm", 0.92))
    assert d.cause.id == "smoke" and d.certainty == 0.92 and d.facts["teacher_agrees"] is True


def test_distant_alarm_by_level(kb: KnowledgeBase) -> None:
    d = _decide(kb, _escalation(SMOKE_ESCALATION, level_db=-55.0), area="Attic")
    assert (d.cause.id, d.cause.severity) == ("distant_alarm", "critical")
    assert d.summary(d.cause) == "A distant smoke alarm was heard in the Attic: find it and check for smoke or fire."


@pytest.mark.parametrize(
    ("hour", "sustained", "cause", "severity"),
    [(3, 900.0, "night_flow", "warning"), (14, 900.0, "in_use", "info"), (14, 2400.0, "long_flow", "warning")],
)
def test_water_running_long_or_at_night(
    kb: KnowledgeBase, hour: int, sustained: float, cause: str, severity: str
) -> None:
    water = _escalation(SMOKE_ESCALATION, **{"class": "water_running", "class_idx": 6})
    d = _decide(kb, water, local_hour=hour, history={"sustained_s": sustained})
    assert (d.cause.id, d.cause.severity) == (cause, severity)


@pytest.mark.parametrize(
    ("history", "cause", "severity"),
    [
        (None, "early_defect", "warning"),
        ({"baseline_level_db": -20.0}, "severe", "critical"),  # -6.5 dB is 13.5 dB above its baseline
        ({"baseline_level_db": -10.0}, "early_defect", "warning"),
        ({"repeats_last_day": 30, "baseline_level_db": -10.0}, "persistent", "warning"),
    ],
)
def test_bearing_fault_severity(kb: KnowledgeBase, history: dict[str, Any] | None, cause: str, severity: str) -> None:
    d = _decide(kb, BEARING_ESCALATION, area="Workshop", **({"history": history} if history else {}))
    assert (d.class_name, d.cause.id, d.cause.severity) == ("bearing_outer", cause, severity)
    assert "outer-race bearing fault" in d.summary(d.cause) and "Workshop" in d.summary(d.cause)


def test_unknown_class_gets_an_honest_entry(kb: KnowledgeBase) -> None:
    d = _decide(kb, _escalation(SMOKE_ESCALATION, **{"class": "glass_break"}))
    assert d.cause.cause == "class glass_break from a custom model: no knowledge-base entry"
    assert (d.cause.severity, d.confidence(d.cause), d.class_source) == ("info", 0.0, "node")
    assert d.summary(d.cause).startswith("Glass break at node hallway-sound:")


@pytest.mark.parametrize(
    ("question", "class_name", "cause"),
    [
        ("Why is the fridge beeping?", "appliance_beep", "fridge_door"),
        ("Why did the smoke alarm go off?", "smoke_alarm", "smoke"),
        ("Why does my smoke alarm chirp every minute?", "smoke_alarm", "chirp_question"),
        ("Is the carbon monoxide alarm serious?", "co_alarm", "carbon_monoxide"),
        ("The tap keeps running all night", "water_running", "leak_question"),
        ("What is the meaning of life?", None, "no_match"),
    ],
)
def test_questions_are_matched_by_keywords(
    kb: KnowledgeBase, question: str, class_name: str | None, cause: str
) -> None:
    d = _decide(kb, question=question)
    assert (d.class_name, d.cause.id) == (class_name, cause)
    assert d.class_source == ("knowledge_base" if class_name else None)


def test_summary_names_the_node_without_an_area(kb: KnowledgeBase) -> None:
    d = _decide(kb, SMOKE_ESCALATION)
    assert d.summary(d.cause).startswith("The smoke alarm at node hallway-sound is sounding")
    d = _decide(kb, SMOKE_ESCALATION, node_name="Hall sensor")
    assert d.summary(d.cause).startswith("The smoke alarm at Hall sensor is sounding")


@pytest.mark.parametrize(
    ("earlier_levels", "cause", "trend"),
    [((-14.0, -12.0, -11.0), "worsening", 5.5), ((-7.0, -6.0, -6.5), "early_defect", 0.0)],
)
def test_a_rising_bearing_fault_is_worsening(
    kb: KnowledgeBase, earlier_levels: tuple[float, ...], cause: str, trend: float
) -> None:
    """The trend: this report's level (-6.5 dB) against the median of the fault's reports in the last hour."""
    now = 3_600_000
    current = _escalation(BEARING_ESCALATION, uptime_ms=now)
    recent = [
        _escalation(BEARING_ESCALATION, seq=i, uptime_ms=now - (3 - i) * 600_000, level_db=level)
        for i, level in enumerate(earlier_levels)
    ]
    d = _decide(kb, current, area="Workshop", recent=recent)
    assert d.facts["level_trend_db"] == trend
    assert (d.cause.id, d.cause.severity) == (cause, "warning")
    if cause == "worsening":
        assert d.known.action_text(d.cause).startswith("Replace the bearing soon")


def _alarm_report(escalation: dict[str, Any], seconds_before: float, **changes: Any) -> dict[str, Any]:
    """The node's smoke alarm event (recognised by its T3 code) `seconds_before` the escalation."""
    fields = {"kind": "detection", "reason": None, "seq": escalation["seq"] - 1, "class": "smoke_alarm",
              "class_idx": 1, "confidence": 1.0, "event_windows": 1, "event_span_ms": 4096, "alarm_code": "T3",
              "uptime_ms": escalation["uptime_ms"] - int(seconds_before * 1000)}  # fmt: skip
    return _escalation(escalation, **{**fields, **changes})


def test_an_escalation_during_the_nodes_alarm_is_the_alarm(kb: KnowledgeBase) -> None:
    """A window the user asked to diagnose 4 s after the node reported a smoke alarm by its pattern is that alarm,
    whatever the node's model called it; 20 s after, or after another node's or boot's alarm, it is not."""
    beep = _escalation(LATE_SMOKE, reason="forced", **{"class": "appliance_beep", "class_idx": 3})
    d = _decide(kb, beep, area="Kitchen", recent=[_alarm_report(beep, 4)])
    assert (d.class_name, d.class_source, d.cause.id, d.cause.severity) == ("smoke_alarm", "node", "alarm_event",
                                                                            "critical")  # fmt: skip
    assert d.certainty == 1.0 and d.facts["alarm_event_s"] == 4.0
    assert "the node reported its alarm event 4 s before" in describe_facts(d.facts)
    assert d.summary(d.cause).startswith("The smoke alarm in the Kitchen is sounding")
    # the event by its windows (no code): the report's own confidence
    windows = _alarm_report(beep, 4, alarm_code=None, confidence=0.8, **{"class": "co_alarm", "class_idx": 2})
    d = _decide(kb, beep, recent=[windows])
    assert (d.class_name, d.cause.id, d.cause.action, d.certainty) == ("co_alarm", "alarm_event", "leave_co", 0.8)
    for recent in ([_alarm_report(beep, 20)], [_alarm_report(beep, 4, boot="deadbeef")],
                   [_alarm_report(beep, 4, node_id="garage-sound")],
                   [_alarm_report(beep, 4, alarm_code=None, event_windows=None, event_span_ms=None)],
                   [_alarm_report(beep, -2)]):  # fmt: skip
        assert _decide(kb, beep, recent=recent).class_name == "appliance_beep", recent
    # the node says whether its alarm goes on (alarm_active): believed within the 15 s
    over = _escalation(beep, alarm_active=False)
    assert _decide(kb, over, recent=[_alarm_report(over, 4)]).class_name == "appliance_beep"
    on = _escalation(beep, alarm_active=True)
    assert _decide(kb, on, recent=[_alarm_report(on, 4)]).cause.id == "alarm_event"
    # the node's own smoke escalation during its alarm: the alarm cause, ahead of a chirp's history
    smoke = _escalation(LATE_SMOKE, seq=50)
    d = _decide(kb, smoke, recent=[_alarm_report(smoke, 10)], history=CHIRPS)
    assert (d.class_name, d.cause.id) == ("smoke_alarm", "alarm_event")
