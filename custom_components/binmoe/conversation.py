"""BinMoE as an Assist conversation agent: the GPU tier's MoE LLM through its OpenAI-compatible API.

One agent per config entry (one gateway serves one model). Replies stream into the ChatLog; tool calls
(Home Assistant's Assist API and BinMoE's own tools) run in a bounded loop. When the GPU tier cannot be
reached, the utterance goes to Home Assistant's built-in agent, so local commands still work.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Literal

import aiohttp
import probatio as vol
from homeassistant.components import conversation
from homeassistant.components.conversation.models import AbstractConversationAgent
from homeassistant.const import CONF_LLM_HASS_API, MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent, llm
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.json import json_dumps

from . import BinMoEConfigEntry
from .const import (
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_PROMPT,
    CONF_TEMPERATURE,
    DEFAULT_LLM_APIS,
    DEFAULT_MAX_HISTORY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    DOMAIN,
    LOGGER,
    MAX_TOOL_ITERATIONS,
)

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BinMoEConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_add_entities([BinMoEConversationEntity(entry)])


class BackendUnreachable(Exception):
    """The GPU tier did not answer the chat request."""


def _format_tool(tool: llm.Tool, custom_serializer: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": tool.name,
        "parameters": vol.to_openapi(tool.parameters, custom_serializer=custom_serializer, openapi_version="3.1.0"),
    }
    if tool.description:
        spec["description"] = tool.description
    return {"type": "function", "function": spec}


def _to_openai(content: conversation.Content) -> dict[str, Any]:
    if isinstance(content, conversation.ToolResultContent):
        return {"role": "tool", "tool_call_id": content.tool_call_id, "content": json_dumps(content.tool_result)}
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


async def _sse_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    async for raw in response.content:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        yield json.loads(line[6:])


async def transform_stream(
    chunks: AsyncIterator[dict[str, Any]],
) -> AsyncGenerator[conversation.AssistantContentDeltaDict]:
    """OpenAI stream chunks -> ChatLog deltas: text as it comes, tool calls once their arguments are whole."""
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


class BinMoEConversationEntity(conversation.ConversationEntity, AbstractConversationAgent):
    """The conversation agent of one BinMoE gateway."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_supports_streaming = True

    def __init__(self, entry: BinMoEConfigEntry) -> None:
        self.entry = entry
        self._attr_unique_id = f"{entry.entry_id}_conversation"
        self._attr_translation_key = "agent"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name="BinMoE hub",
            manufacturer="BinMoE",
            entry_type=DeviceEntryType.SERVICE,
        )
        if entry.options.get(CONF_LLM_HASS_API, DEFAULT_LLM_APIS):
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        return MATCH_ALL

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)

    async def async_will_remove_from_hass(self) -> None:
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        options = self.entry.options
        try:
            await chat_log.async_provide_llm_data(
                user_input.as_llm_context(DOMAIN),
                options.get(CONF_LLM_HASS_API, DEFAULT_LLM_APIS) or None,
                options.get(CONF_PROMPT),
                user_input.extra_system_prompt,
            )
        except conversation.ConverseError as err:
            return err.as_conversation_result()
        try:
            await self._async_run_chat(chat_log)
        except BackendUnreachable as err:
            return await self._async_fallback(user_input, chat_log, err)
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _async_run_chat(self, chat_log: conversation.ChatLog) -> None:
        options = self.entry.options
        client = self.entry.runtime_data.client
        tools = None
        if chat_log.llm_api:
            tools = [_format_tool(t, chat_log.llm_api.custom_serializer) for t in chat_log.llm_api.tools]
        max_history = int(options.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY))
        for _iteration in range(MAX_TOOL_ITERATIONS):  # bounded: a looping model cannot hang the pipeline
            contents = list(chat_log.content)
            # keep the system prompt and the last `max_history` messages (context size)
            messages = [_to_openai(contents[0]), *(_to_openai(c) for c in contents[1:][-max_history:])]
            body: dict[str, Any] = {
                "model": self.entry.runtime_data.backend.model,
                "messages": messages,
                "stream": True,
                "temperature": float(options.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE)),
                "max_tokens": int(options.get(CONF_MAX_TOKENS, DEFAULT_MAX_TOKENS)),
            }
            if tools:
                body["tools"] = tools
            try:
                async with client.session.post(
                    f"{client.url}/v1/chat/completions",
                    json=body,
                    headers=client.headers,
                    timeout=aiohttp.ClientTimeout(total=300, sock_read=120),
                ) as response:
                    if response.status != 200:
                        raise BackendUnreachable(f"HTTP {response.status}: {(await response.text())[:200]}")
                    async for _content in chat_log.async_add_delta_content_stream(
                        self.entity_id, transform_stream(_sse_chunks(response))
                    ):
                        pass
            except (TimeoutError, aiohttp.ClientError) as err:
                raise BackendUnreachable(str(err) or type(err).__name__) from err
            if not chat_log.unresponded_tool_results:
                return
        LOGGER.warning("Stopped after %s tool-call rounds", MAX_TOOL_ITERATIONS)

    async def _async_fallback(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog, err: Exception
    ) -> conversation.ConversationResult:
        """GPU tier down: let Home Assistant's own intents try; otherwise say clearly what is wrong."""
        LOGGER.warning("BinMoE GPU tier unreachable for a conversation (%s); trying local intents", err)
        local = await conversation.async_converse(
            self.hass,
            user_input.text,
            None,
            user_input.context,
            language=user_input.language,
            agent_id=conversation.HOME_ASSISTANT_AGENT,
            device_id=user_input.device_id,
        )
        if local.response.response_type != intent.IntentResponseType.ERROR:
            return conversation.ConversationResult(response=local.response, conversation_id=chat_log.conversation_id)
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_error(
            intent.IntentResponseErrorCode.UNKNOWN,
            "Sorry, the BinMoE assistant is not reachable right now, and I could not handle that locally.",
        )
        return conversation.ConversationResult(response=response, conversation_id=chat_log.conversation_id)
