"""One event entity per node: fires with the class of every detection and escalation it reports.

An ESPHome node already has its own detection event entity (the `binmoe` ESPHome component's), so for
those nodes this one starts disabled: one entity per fact, the other a click away.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import BinMoENodeEntity, async_add_node_entities, esphome_device
from .hub import BinMoEHub, NodeInfo
from .protocol import NodeMessage
from .runtime import BinMoEConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: BinMoEConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_add_node_entities(hass, entry, async_add_entities, NodeDetectionEvent)


class NodeDetectionEvent(BinMoENodeEntity, EventEntity):
    def __init__(self, hub: BinMoEHub, node: NodeInfo, registry: dr.DeviceRegistry) -> None:
        super().__init__(hub, node, "detection", registry)
        self._attr_event_types = []
        self._attr_entity_registry_enabled_default = esphome_device(node, registry) is None

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if self.node.last_message is not None:  # the message that made the hub discover this node
            self._on_message(self.node.last_message)

    @callback
    def _on_message(self, message: NodeMessage) -> None:
        # The classes come from the node's model; learn them as they are reported.
        if message.label not in self._attr_event_types:
            self._attr_event_types = [*self._attr_event_types, message.label]
        self._trigger_event(
            message.label,
            {"kind": message.kind, "confidence": message.confidence, "margin": message.margin, "seq": message.seq},
        )
        self.async_write_ha_state()
