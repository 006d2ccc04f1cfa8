"""openai_format.py: Home Assistant's chat log in the OpenAI chat-completions format and back. Tools as
function specs, each kind of content as a message, trimming by user turns (a tool call stays with its
result), and a stream of chunks turned into ChatLog deltas."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import probatio as vol
from homeassistant.components import conversation
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm

from custom_components.binmoe.llm_tools import RecentEventsTool
from custom_components.binmoe.openai_format import format_tool, to_openai, transform_stream, trim_to_user_turns

AGENT = "conversation.binmoe"


class _Plain(llm.Tool):
    name = "Plain"
    description = None
    parameters = vol.Schema({})

    async def async_call(self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext) -> Any:
        return {}


def test_format_tool() -> None:
    spec = format_tool(RecentEventsTool(), llm.selector_serializer)
    assert spec["type"] == "function"
    function = spec["function"]
    assert function["name"] == "BinMoERecentEvents" and function["description"] == RecentEventsTool.description
    properties = function["parameters"]["properties"]
    assert properties["node_id"]["type"] == "string"
    assert properties["limit"]["minimum"] == 1 and properties["limit"]["maximum"] == 50
    assert "description" not in format_tool(_Plain(), llm.selector_serializer)["function"]


def test_each_content_as_a_message() -> None:
    call = llm.ToolInput(tool_name="BinMoENodeStatus", tool_args={"node_id": "lathe"}, id="call-1")
    assert to_openai(conversation.SystemContent("be brief")) == {"role": "system", "content": "be brief"}
    assert to_openai(conversation.UserContent("is the lathe ok")) == {"role": "user", "content": "is the lathe ok"}
    assert to_openai(conversation.AssistantContent(AGENT, "Fine.")) == {"role": "assistant", "content": "Fine."}
    assistant = to_openai(conversation.AssistantContent(AGENT, None, tool_calls=[call]))
    assert assistant == {
        "role": "assistant",
        "content": "",  # the model said nothing besides the call
        "tool_calls": [
            {
                "id": "call-1",
                "type": "function",
                "function": {"name": "BinMoENodeStatus", "arguments": '{"node_id": "lathe"}'},
            }
        ],
    }
    result = conversation.ToolResultContent(AGENT, "call-1", "BinMoENodeStatus", llm.ToolResult({"ok": True}))
    message = to_openai(result)
    assert message["role"] == "tool" and message["tool_call_id"] == "call-1"
    assert json.loads(message["content"]) == {"ok": True}


def _turn(text: str, with_tool: bool = False) -> list[conversation.Content]:
    contents: list[conversation.Content] = [conversation.UserContent(text)]
    if with_tool:
        call = llm.ToolInput(tool_name="BinMoENodeStatus", tool_args={}, id=f"call-{text}")
        contents.append(conversation.AssistantContent(AGENT, None, tool_calls=[call]))
        contents.append(conversation.ToolResultContent(AGENT, call.id, call.tool_name, llm.ToolResult({})))
    contents.append(conversation.AssistantContent(AGENT, f"answer {text}"))
    return contents


def test_trim_keeps_the_system_prompt_and_whole_turns() -> None:
    system = conversation.SystemContent("prompt")
    contents = [system, *_turn("1", with_tool=True), *_turn("2", with_tool=True), *_turn("3")]
    kept = trim_to_user_turns(contents, 2)
    assert kept[0] is system
    assert kept[1:] == contents[5:]  # turn 2 from its user message: its tool call and result both stay
    assert isinstance(kept[1], conversation.UserContent) and kept[1].content == "2"
    assert [c.content for c in trim_to_user_turns(contents, 1) if isinstance(c, conversation.UserContent)] == ["3"]


def test_trim_keeps_everything_within_the_turns() -> None:
    contents = [conversation.SystemContent("prompt"), *_turn("1"), *_turn("2")]
    kept = trim_to_user_turns(contents, 2)
    assert kept == contents and kept is not contents  # a copy: the chat log itself is never changed


async def _chunks(items: list[dict[str, Any]], closed: list[bool]) -> AsyncGenerator[dict[str, Any]]:
    try:
        for item in items:
            yield item
    finally:
        closed.append(True)


def _delta(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"delta": delta}]}


def _finish(reason: str = "tool_calls") -> dict[str, Any]:
    return {"choices": [{"delta": {}, "finish_reason": reason}]}


async def _collect(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    closed: list[bool] = []
    deltas = [dict(delta) async for delta in transform_stream(_chunks(items, closed))]
    assert closed == [True]
    return deltas


async def test_text_streams_as_it_comes() -> None:
    deltas = await _collect(
        [{"choices": []}, _delta(role="assistant"), _delta(content="Hel"), _delta(content="lo"), _finish("stop")]
    )
    assert deltas == [{"role": "assistant"}, {"content": "Hel"}, {"content": "lo"}]


async def test_tool_calls_once_their_arguments_are_whole() -> None:
    """Arguments split over chunks, two calls by index; the model's ids are kept (the results refer to them)."""
    first = {"index": 0, "id": "call-a", "function": {"name": "BinMoE", "arguments": '{"node_'}}
    second = {"index": 1, "id": "call-b", "function": {"name": "HassTurnOn", "arguments": '{"name": "lamp"}'}}
    items = [
        _delta(tool_calls=[first]),
        _delta(tool_calls=[{"index": 0, "function": {"name": "RecentEvents", "arguments": 'id": "lathe"}'}}]),
        _delta(tool_calls=[second]),
        _finish(),
    ]
    deltas = await _collect(items)
    assert deltas[0] == {"role": "assistant"} and len(deltas) == 2
    calls = deltas[1]["tool_calls"]
    assert [(c.id, c.tool_name, c.tool_args) for c in calls] == [
        ("call-a", "BinMoERecentEvents", {"node_id": "lathe"}),
        ("call-b", "HassTurnOn", {"name": "lamp"}),
    ]


async def test_bad_tool_arguments() -> None:
    """Invalid JSON drops that call only; arguments that are not an object become none; no id gets one."""
    items = [
        _delta(tool_calls=[{"index": 0, "id": "bad", "function": {"name": "A", "arguments": "{oops"}}]),
        _delta(tool_calls=[{"index": 1, "function": {"name": "B", "arguments": "[1, 2]"}}]),
        _delta(tool_calls=[{"index": 2, "id": "c", "function": {"name": "C"}}]),
        _finish(),
    ]
    deltas = await _collect(items)
    calls = deltas[1]["tool_calls"]
    assert [(c.tool_name, c.tool_args) for c in calls] == [("B", {}), ("C", {})]
    assert calls[0].id and calls[1].id == "c"


async def test_only_invalid_calls_yield_no_tool_calls() -> None:
    items = [_delta(tool_calls=[{"index": 0, "function": {"name": "A", "arguments": "{oops"}}]), _finish()]
    assert await _collect(items) == [{"role": "assistant"}]


async def test_closing_early_closes_the_stream() -> None:
    """A reply cut short (reply_guard stops reading) closes the HTTP stream, so the generation stops."""
    closed: list[bool] = []
    stream = transform_stream(_chunks([_delta(content="a"), _delta(content="b"), _delta(content="c")], closed))
    assert await anext(stream) == {"role": "assistant"}
    assert await anext(stream) == {"content": "a"}
    await stream.aclose()
    assert closed == [True]
