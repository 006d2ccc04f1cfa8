"""Entity bases: the hub's entities, a node's entities, and the LLM entity that owns the chat loop."""

from __future__ import annotations

import time
from collections.abc import Callable

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_TEMPERATURE,
    DEFAULT_MAX_HISTORY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    DOMAIN,
    LOGGER,
    MAX_REPLY_CHARS,
    MAX_TOOL_ITERATIONS,
    REPLY_TIME_BUDGET,
    TOO_SLOW,
    hub_unique_id,
)
from .hub import BinMoEHub, NodeInfo
from .openai_format import format_tool, to_openai, transform_stream, trim_to_user_turns
from .protocol import NodeMessage
from .reply_guard import acted_this_turn, guarded_stream, looked_this_turn
from .runtime import BinMoEConfigEntry
from .signals import signal_new_node, signal_node_message, signal_update


def hub_device_info(entry: BinMoEConfigEntry) -> DeviceInfo:
    """The hub's service device: the hub entities and the conversation agent belong to it."""
    backend = entry.runtime_data.backend
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name="BinMoE hub",
        manufacturer="BinMoE",
        model=backend.info.model if backend.info else None,
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=backend.client.url,
    )


class BinMoEHubEntity(Entity):
    """An entity of the hub device; refreshed whenever the hub's or the GPU tier's state changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: BinMoEConfigEntry, key: str) -> None:
        self.hub = entry.runtime_data.hub
        self.backend = entry.runtime_data.backend
        self._attr_translation_key = key
        self._attr_unique_id = hub_unique_id(entry.entry_id, key)
        self._attr_device_info = hub_device_info(entry)

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_update(self.hub.entry.entry_id), self.async_write_ha_state)
        )


class BinMoENodeEntity(Entity):
    """An entity of one node's device; told about every message of that node."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: BinMoEHub, node: NodeInfo, key: str, registry: dr.DeviceRegistry) -> None:
        self.hub = hub
        self.node = node
        self._attr_translation_key = key
        self._attr_unique_id = f"{hub.entry.entry_id}_{node.node_id}_{key}"
        self._attr_device_info = node_device_info(hub.entry, node, registry)

    async def async_added_to_hass(self) -> None:
        signal = signal_node_message(self.hub.entry.entry_id, self.node.node_id)
        self.async_on_remove(async_dispatcher_connect(self.hass, signal, self._on_message))

    @callback
    def _on_message(self, message: NodeMessage) -> None:
        self.async_write_ha_state()


@callback
def async_add_node_entities(
    hass: HomeAssistant,
    entry: BinMoEConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    create: Callable[[BinMoEHub, NodeInfo, dr.DeviceRegistry], Entity],
) -> None:
    """Give every node that reports for the first time its entity of this platform (dynamic devices)."""
    hub = entry.runtime_data.hub
    registry = dr.async_get(hass)

    @callback
    def _new_node(node: NodeInfo) -> None:
        async_add_entities([create(hub, node, registry)])

    entry.async_on_unload(async_dispatcher_connect(hass, signal_new_node(entry.entry_id), _new_node))


def node_device_info(entry: BinMoEConfigEntry, node: NodeInfo, registry: dr.DeviceRegistry) -> DeviceInfo:
    """A node's device: under the hub, or under the ESPHome device when the node is one."""
    info = DeviceInfo(
        identifiers={(DOMAIN, f"{entry.entry_id}_{node.node_id}")},
        name=node.node_id,
        manufacturer="BinMoE",
        model=f"{node.task} node ({node.model})",
    )
    hub = registry.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    if hub is not None:
        info["via_device_id"] = hub.id
    # Devices are no longer merged across config entries (HA 2026.x): link to the ESPHome device instead.
    if (esphome := esphome_device(node, registry)) is not None:
        info["via_device_id"] = esphome.id
    return info


def esphome_device(node: NodeInfo, registry: dr.DeviceRegistry) -> dr.DeviceEntry | None:
    """The device of the node in Home Assistant's ESPHome integration, if the node is one."""
    device = registry.async_get(node.device_id) if node.device_id else None
    return device if isinstance(device, dr.DeviceEntry) else None


class BinMoELLMBaseEntity(Entity):
    """Owns the LLM loop against the GPU tier: context trimmed by user turns, tools, streamed replies that
    are bounded (length, repeats, time) and never claim a change no tool call made (reply_guard.py)."""

    _attr_has_entity_name = True
    _attr_name = None

    def __init__(self, entry: BinMoEConfigEntry) -> None:
        self.entry = entry
        self._attr_device_info = hub_device_info(entry)

    async def _async_handle_chat_log(self, chat_log: conversation.ChatLog, cannot: str) -> None:
        """Answer the chat log; raises the client's errors (BinMoEError) when the GPU tier fails.

        `cannot` replaces a sentence that claims a state change no tool call of this turn made.
        """
        options = self.entry.options
        backend = self.entry.runtime_data.backend
        info = backend.info or await backend.async_refresh_info()
        tools = None
        if chat_log.llm_api:
            tools = [format_tool(t, chat_log.llm_api.custom_serializer) for t in chat_log.llm_api.tools]
        turns = int(options.get(CONF_MAX_HISTORY, DEFAULT_MAX_HISTORY))
        deadline = time.monotonic() + REPLY_TIME_BUDGET
        for _iteration in range(MAX_TOOL_ITERATIONS):  # bounded: a looping model cannot hang the pipeline
            body = {
                "model": info.model,
                "messages": [to_openai(c) for c in trim_to_user_turns(chat_log.content, turns)],
                "temperature": float(options.get(CONF_TEMPERATURE, DEFAULT_TEMPERATURE)),
                "max_tokens": int(options.get(CONF_MAX_TOKENS, DEFAULT_MAX_TOKENS)),
                **({"tools": tools} if tools else {}),
            }
            stream = guarded_stream(
                transform_stream(backend.client.async_chat_stream(body)),
                acted=lambda: acted_this_turn(chat_log.content),
                looked=lambda: looked_this_turn(chat_log.content),
                cannot=cannot,
                too_slow=TOO_SLOW,
                deadline=deadline,
                max_chars=MAX_REPLY_CHARS,
            )
            async for _content in chat_log.async_add_delta_content_stream(self.entity_id, stream):
                pass
            if not chat_log.unresponded_tool_results:
                return
            if time.monotonic() > deadline:
                break
        LOGGER.warning("Stopped after %s tool-call rounds or %s s", MAX_TOOL_ITERATIONS, REPLY_TIME_BUDGET)
