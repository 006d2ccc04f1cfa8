"""Home Assistant's chat log in the OpenAI chat-completions format the GPU tier speaks, and back."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import probatio as vol
from homeassistant.components import conversation
from homeassistant.helpers import llm
from homeassistant.helpers.json import json_dumps

from .const import LOGGER


def format_tool(tool: llm.Tool, custom_serializer: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": tool.name,
        "parameters": vol.to_openapi(tool.parameters, custom_serializer=custom_serializer, openapi_version="3.1.0"),
    }
    if tool.description:
        spec["description"] = tool.description
    return {"type": "function", "function": spec}


def to_openai(content: conversation.Content) -> dict[str, Any]:
    if isinstance(content, conversation.ToolResultContent):
        return {"role": "tool", "tool_call_id": content.tool_call_id, "content": json_dumps(content.result.data)}
    if isinstance(content, conversation.AssistantContent):
        message: dict[str, Any] = {"role": "assistant", "content": content.content or ""}
        if content.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.tool_name, "arguments": json.dumps(call.tool_args)},
                }
                for call in content.tool_calls
            ]
        return message
    role = "system" if isinstance(content, conversation.SystemContent) else "user"
    return {"role": role, "content": content.content}


def trim_to_user_turns(contents: Sequence[conversation.Content], turns: int) -> list[conversation.Content]:
    """The system prompt and the last `turns` user turns (the current one included).

    A turn runs from a user message to the next one, so a tool call and its result always stay together:
    cutting by message count could start the context on a tool result whose call was dropped.
    """
    starts = [i for i, content in enumerate(contents) if isinstance(content, conversation.UserContent)]
    if len(starts) <= turns:
        return list(contents)
    return [contents[0], *contents[starts[-turns] :]]


async def transform_stream(
    chunks: AsyncGenerator[dict[str, Any]],
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """OpenAI stream chunks -> ChatLog deltas: text as it comes, tool calls once their arguments are whole.

    Closing this generator early closes the HTTP stream too (a reply cut short stops the generation)."""
    async with aclosing(chunks):
        async for delta in _deltas(chunks):
            yield delta


async def _deltas(chunks: AsyncIterator[dict[str, Any]]) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    yield {"role": "assistant"}
    calls: dict[int, dict[str, str]] = {}
    async for chunk in chunks:
        if not chunk.get("choices"):
            continue
        choice = chunk["choices"][0]
        delta = choice.get("delta") or {}
        if delta.get("content"):
            yield {"content": delta["content"]}
        for call in delta.get("tool_calls") or []:
            slot = calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
            slot["id"] = call.get("id") or slot["id"]
            function = call.get("function") or {}
            slot["name"] += function.get("name") or ""
            slot["arguments"] += function.get("arguments") or ""
        if choice.get("finish_reason") and calls:
            tool_calls = []
            for slot in calls.values():
                try:
                    args = json.loads(slot["arguments"] or "{}")
                except ValueError:
                    LOGGER.warning("The model produced invalid tool arguments: %s", slot["arguments"])
                    continue
                tool_input = llm.ToolInput(tool_name=slot["name"], tool_args=args if isinstance(args, dict) else {})
                if slot["id"]:
                    tool_input.id = slot["id"]  # keep the model's id: the tool result must refer to it
                tool_calls.append(tool_input)
            calls = {}
            if tool_calls:
                yield {"tool_calls": tool_calls}
