"""The diagnosis policy around the LLM: what it is asked, when its phrasing is used, and when the knowledge
base answers alone (invalid, late, unavailable, lowering the severity). The LLM here is a scripted callable;
test_engine.py runs the same policy against the real engine."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jsonschema
import pytest

from gpu_backend.diagnosis import Diagnoser, LLMSettings, LLMUnavailable
from gpu_backend.fixture_moe import SMOKE_ESCALATION
from gpu_backend.knowledge import load_knowledge_base
from gpu_backend.protocol import DiagnoseRequest, DiagnoseResponse

SMOKE = DiagnoseRequest.model_validate({"v": 1, "escalation": SMOKE_ESCALATION, "context": {"area": "Hallway"}})
CHIRPING = DiagnoseRequest.model_validate(
    {
        "v": 1,
        "escalation": SMOKE_ESCALATION,
        "context": {"area": "Hallway", "history": {"repeats_last_hour": 9, "median_interval_s": 40, "sustained_s": 0}},
    }
)
RESPONSE_SCHEMA = DiagnoseResponse.model_json_schema(by_alias=True)


class ScriptedLLM:
    """Answers every call with `content` after `delay_s`, or raises `error`; records the payloads."""

    def __init__(self, content: str = "", delay_s: float = 0.0, error: Exception | None = None) -> None:
        self.content, self.delay_s, self.error = content, delay_s, error
        self.payloads: list[dict[str, Any]] = []

    async def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.payloads.append(payload)
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        return {"choices": [{"message": {"content": self.content}}]}


def _phrasing(cause_id: str, summary: str, reasoning: str = "Smoke sets off smoke alarms.") -> str:
    return json.dumps({"cause_id": cause_id, "summary": summary, "reasoning": reasoning})


def _diagnose(llm: ScriptedLLM | None, request: DiagnoseRequest = SMOKE, budget_s: float = 2.0) -> DiagnoseResponse:
    diagnoser = Diagnoser(load_knowledge_base(), llm, LLMSettings("test-llm", budget_s=budget_s))
    response = asyncio.run(diagnoser.diagnose(request))
    jsonschema.validate(response.model_dump(mode="json", by_alias=True), RESPONSE_SCHEMA)  # always schema-valid
    return response


GOOD = "The hallway smoke alarm is sounding: check for smoke or fire now."


def test_valid_phrasing_is_used_and_marked() -> None:
    llm = ScriptedLLM(_phrasing("smoke", GOOD))
    response = _diagnose(llm)
    assert (response.summary, response.llm_status, response.model) == (GOOD, "used", "test-llm")
    assert response.sources.summary == "llm" and response.sources.reasoning == "llm"
    assert response.sources.cause == "knowledge_base" and response.sources.severity == "knowledge_base"
    assert response.severity == "critical" and response.cause_id == "smoke_alarm.smoke"


def test_the_request_is_bounded_and_constrained_by_the_knowledge_base() -> None:
    llm = ScriptedLLM(_phrasing("low_battery", "The smoke alarm in the Hallway needs a new battery."))
    _diagnose(llm, CHIRPING)
    (payload,) = llm.payloads
    assert payload["max_tokens"] == 200 and payload["temperature"] == 0 and payload["repetition_penalty"] > 1
    schema = payload["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["cause_id"]["enum"] == ["low_battery", "smoke"]
    assert schema["properties"]["summary"]["maxLength"] == 240
    assert "Allowed cause_id: low_battery, smoke." in payload["messages"][-1]["content"]


def test_llm_may_choose_a_more_severe_allowed_cause() -> None:
    summary = "The smoke alarm in the Hallway may be a real alarm: check for smoke or fire."
    response = _diagnose(ScriptedLLM(_phrasing("smoke", summary)), CHIRPING)
    assert (response.cause_id, response.severity, response.llm_status) == ("smoke_alarm.smoke", "critical", "used")
    assert response.sources.cause == "llm"


def test_llm_never_lowers_the_severity() -> None:
    # A sustained alarm (critical) while the question also allows the trouble chirp (warning): the LLM may
    # name the chirp (it is in the enum), but the answer stays the knowledge base's critical one.
    request = DiagnoseRequest.model_validate(
        {"v": 1, "question": "Why is my smoke alarm chirping?", "context": {"history": {"sustained_s": 40}}}
    )
    llm = ScriptedLLM(_phrasing("chirp_question", "The smoke alarm needs a new battery."))
    response = _diagnose(llm, request)
    assert llm.payloads[0]["response_format"]["json_schema"]["schema"]["properties"]["cause_id"]["enum"] == [
        "sustained_alarm",
        "chirp_question",
        "smoke",
    ]
    assert (response.llm_status, response.severity, response.cause_id) == (
        "downgrade",
        "critical",
        "smoke_alarm.sustained_alarm",
    )
    assert response.sources.summary == "knowledge_base" and response.model == "binmoe-knowledge-base"
    # ... and the same for a warning (a fridge door) that the LLM would call a finished cycle (info)
    fridge = DiagnoseRequest.model_validate({"v": 1, "question": "Why is the fridge beeping?"})
    response = _diagnose(ScriptedLLM(_phrasing("signal", "The fridge beeps: a cycle finished.")), fridge)
    assert (response.llm_status, response.severity) == ("downgrade", "warning")


def test_a_question_never_downgrades_an_alarm_the_node_hears() -> None:
    request = DiagnoseRequest.model_validate(
        {"v": 1, "escalation": SMOKE_ESCALATION, "question": "Is it the battery?", "context": {"area": "Hallway"}}
    )
    response = _diagnose(None, request)
    assert (response.cause_id, response.severity) == ("smoke_alarm.smoke", "critical")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json", "not JSON"),
        (_phrasing("smoke", GOOD)[:-5], "cut off at max_tokens"),
        (json.dumps({"cause_id": "smoke", "summary": GOOD}), "reasoning missing"),
        (_phrasing("fire", GOOD), "a cause id outside the enum"),
        (_phrasing("low_battery", GOOD), "a cause the evidence does not allow"),
        (_phrasing("smoke", "Something is happening in the Hallway."), "the class is not named"),
        (_phrasing("smoke", "The smoke alarm is sounding."), "the area is not named"),
        (_phrasing("smoke", "The smoke alarm in the Hallway is loud, the smoke alarm in the Hallway is loud."),
         "a loop"),
        (_phrasing("smoke", "x" * 241), "too long"),
        (_phrasing("smoke", "Why is the smoke alarm in the Hallway sounding?"), "the question echoed as a summary"),
    ],
)  # fmt: skip
def test_invalid_phrasing_falls_back_to_the_knowledge_base(content: str, why: str) -> None:
    response = _diagnose(ScriptedLLM(content))
    assert response.llm_status == "invalid", why
    assert response.summary == (
        "The smoke alarm in the Hallway is sounding: check for smoke or fire and get everyone out if you find any."
    )
    assert response.sources.summary == "knowledge_base"


def test_slow_llm_is_not_waited_for() -> None:
    started = time.perf_counter()
    response = _diagnose(ScriptedLLM(_phrasing("smoke", GOOD), delay_s=5.0), budget_s=0.2)
    assert time.perf_counter() - started < 2.0
    assert response.llm_status == "timeout" and response.severity == "critical"


def test_unavailable_llm_leaves_the_knowledge_base_answer() -> None:
    response = _diagnose(ScriptedLLM(error=LLMUnavailable("the engine is starting")))
    assert response.llm_status == "unavailable" and response.cause_id == "smoke_alarm.smoke"


def test_no_llm_or_zero_budget_means_off() -> None:
    assert _diagnose(None).llm_status == "off"
    llm = ScriptedLLM(_phrasing("smoke", GOOD))
    assert _diagnose(llm, budget_s=0).llm_status == "off" and llm.payloads == []


def test_teacher_is_reported_and_named_as_the_class_source() -> None:
    from gpu_backend.protocol import TeacherOpinion

    beep = {**SMOKE_ESCALATION, "class": "appliance_beep", "class_idx": 3}
    request = DiagnoseRequest.model_validate({"v": 1, "escalation": beep, "context": {"area": "Kitchen"}})
    teacher = TeacherOpinion.model_validate({"class": "smoke_alarm", "confidence": 0.8, "agrees_with_node": False})
    response = asyncio.run(Diagnoser(load_knowledge_base()).diagnose(request, teacher))
    assert (response.class_, response.sources.class_, response.severity) == ("smoke_alarm", "teacher", "warning")
    assert response.cause_id == "smoke_alarm.teacher_only"
    assert response.teacher == teacher


def test_long_names_still_give_a_schema_valid_answer() -> None:
    """An area and a custom class at the protocol's length limits: the texts are cut, never invalid."""
    escalation = {**SMOKE_ESCALATION, "class": "x" * 64, "level_db": -123.456}
    request = DiagnoseRequest.model_validate(
        {"v": 1, "escalation": escalation, "context": {"area": "A" * 128, "node_name": "n" * 128}}
    )
    response = _diagnose(None, request)
    assert response.severity == "info" and response.class_ == "x" * 64
    assert len(response.summary) <= 400 and len(response.reasoning) <= 1000
