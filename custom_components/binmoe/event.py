"""One event entity per node: fires with the class of every detection and escalation it reports."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import BinMoEConfigEntry
from .entity import node_device_info
from .hub import BinMoEHub, NodeInfo, signal_new_node, signal_node_message
from .protocol import NodeMessage

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BinMoEConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    hub = entry.runtime_data.hub
    registry = dr.async_get(hass)

    @callback
    def _new_node(node: NodeInfo) -> None:
        async_add_entities([NodeDetectionEvent(hub, node, registry)])

    entry.async_on_unload(async_dispatcher_connect(hass, signal_new_node(entry.entry_id), _new_node))


class NodeDetectionEvent(EventEntity):
    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "detection"

    def __init__(self, hub: BinMoEHub, node: NodeInfo, registry: dr.DeviceRegistry) -> None:
        self.hub = hub
        self.node = node
        self._attr_unique_id = f"{hub.entry.entry_id}_{node.node_id}_detection"
        self._attr_device_info = node_device_info(hub.entry, node, registry)
        self._attr_event_types = []

    async def async_added_to_hass(self) -> None:
        signal = signal_node_message(self.hub.entry.entry_id, self.node.node_id)
        self.async_on_remove(async_dispatcher_connect(self.hass, signal, self._on_message))
        if self.node.last_message is not None:  # the message that made the hub discover this node
            self._on_message(self.node.last_message)

    @callback
    def _on_message(self, message: NodeMessage) -> None:
        # The classes come from the node's model; learn them as they are reported.
        if message.label not in self._attr_event_types:
            self._attr_event_types = [*self._attr_event_types, message.label]
        self._trigger_event(
            message.label,
            {
                "kind": message.kind,
                "confidence": message.confidence,
                "margin": message.margin,
                "seq": message.seq,
            },
        )
        self.async_write_ha_state()
