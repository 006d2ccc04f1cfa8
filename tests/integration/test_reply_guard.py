"""The reply guard on its own: which sentences claim a state change, which tool results count as one, and
how a streamed reply is cut (unbacked claim, repeat, length, time). The agent's tests
(test_conversation.py) run the same guard end to end."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.helpers import llm

from custom_components.binmoe.reply_guard import (
    acted_this_turn,
    claim_kind,
    claims_state_change,
    guarded_stream,
    looked_this_turn,
)

CANNOT = "I did not do that."
SLOW = "Too slow."


@pytest.mark.parametrize(
    "sentence",
    [
        "The kitchen light is turned on.",
        "I've switched off the fan.",
        "The garage door is now open.",
        "Turning on the porch lamp.",
        "I have set the thermostat.",
        "The heating is now set to 21 degrees.",
        "Locking the front door for you.",
        "The blinds have been lowered.",
    ],
)
def test_claims(sentence: str) -> None:
    assert claims_state_change(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The garage node heard a smoke alarm.",
        "I can't control devices.",
        "Do you want me to turn it on?",  # a question, no claim: 'turn' alone is not 'turned'
        "The kitchen light was not found.",
        "Your home has no light called kitchen light.",
    ],
)
def test_no_claims(sentence: str) -> None:
    assert not claims_state_change(sentence)


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("The kitchen light is turned on.", "change"),
        ("The garage door is now open.", "change"),
        ("The lamp in the living room is currently on.", "state"),  # said to "switch it on", with no tool call
        ("The lights are all off.", "state"),
        ("The front door is already locked.", "state"),
        ("The kitchen light is on.", "state"),
        ("The garage node heard a smoke alarm.", None),
    ],
)
def test_claim_kinds(sentence: str, kind: str | None) -> None:
    assert claim_kind(sentence) == kind


def _tool_result(data: Any, error: bool = False) -> conversation.ToolResultContent:
    return conversation.ToolResultContent(
        agent_id="a", tool_call_id="c", tool_name="HassTurnOn", result=llm.ToolResult(data, error=error)
    )


def test_acted_this_turn_counts_successful_tool_calls_since_the_user_spoke() -> None:
    user = conversation.UserContent(content="turn it on")
    done = _tool_result({"response_type": "action_done", "data": {"success": [{"id": "light.k"}], "failed": []}})
    failed = _tool_result({"response_type": "action_done", "data": {"success": [], "failed": [{"id": "light.k"}]}})
    error = _tool_result({"error": "HomeAssistantError", "error_text": "no such device"})
    assert acted_this_turn([user, done])
    assert not acted_this_turn([user, failed])
    assert not acted_this_turn([user, error])
    assert not acted_this_turn([done, user])  # an earlier turn's action does not back this turn's claim
    assert not acted_this_turn([user, _tool_result({"response_type": "query_answer", "data": {}})])
    assert acted_this_turn([user, _tool_result({"success": True})])
    assert not acted_this_turn([user, _tool_result({"success": True}, error=True)])
    assert not acted_this_turn([user])


def test_looked_this_turn_counts_any_tool_answer_since_the_user_spoke() -> None:
    user = conversation.UserContent(content="is the lamp on")
    live = _tool_result({"response_type": "query_answer", "data": {}})
    assert looked_this_turn([user, live])
    assert not looked_this_turn([live, user])
    assert not looked_this_turn([user, _tool_result({"error": "HomeAssistantError"})])
    assert not looked_this_turn([user, _tool_result({"success": True}, error=True)])
    assert not looked_this_turn([user])


async def _stream(*texts: str) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    yield {"role": "assistant"}
    for text in texts:
        yield {"content": text}


async def _said(
    *texts: str, acted: bool = False, looked: bool = False, max_chars: int = 600, deadline: float | None = None
) -> str:
    out = []
    async for delta in guarded_stream(
        _stream(*texts),
        acted=lambda: acted,
        looked=lambda: looked,
        cannot=CANNOT,
        too_slow=SLOW,
        deadline=time.monotonic() + 60 if deadline is None else deadline,
        max_chars=max_chars,
    ):
        if "content" in delta:
            out.append(str(delta["content"]))
    return "".join(out)


async def test_plain_answers_pass_unchanged() -> None:
    assert await _said("The garage node ", "heard a smoke alarm. It is ", "critical.") == (
        "The garage node heard a smoke alarm. It is critical."
    )


async def test_unbacked_claim_is_replaced() -> None:
    assert await _said("Sure! The kitchen light ", "is turned on.") == "Sure! " + CANNOT
    assert await _said("Sure! The kitchen light is turned on.", acted=True) == "Sure! The kitchen light is turned on."


async def test_unbacked_state_report_is_replaced() -> None:
    """A state nobody looked at this turn is not reported (a weak model has no tools at all); a look at the home
    backs a report of how things are, but not a claim that something changed."""
    assert await _said("The lamp in the living room is currently on.") == CANNOT
    assert await _said("The lamp is currently on.", looked=True) == "The lamp is currently on."
    assert await _said("The lamp is currently on.", acted=True) == "The lamp is currently on."
    assert await _said("The lamp is now on.", looked=True) == CANNOT


async def test_repeats_are_cut() -> None:
    loop = "Smoke alarms protect you. " * 40
    assert await _said(loop) == "Smoke alarms protect you. "


async def test_length_is_bounded() -> None:
    sentences = "".join(f"Sentence number {i} is here. " for i in range(100))
    said = await _said(sentences, max_chars=120)
    assert 0 < len(said) <= 120 and said.endswith("here. ")
    runaway = await _said("Bang-" * 500, max_chars=100)  # no sentence end at all
    assert 0 < len(runaway) <= 100


async def test_deadline() -> None:
    assert await _said("The answer would have", " come now.", deadline=time.monotonic() - 1) == SLOW
