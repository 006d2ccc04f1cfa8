"""Sensors of the hub (queue, latency, counts, last diagnosis) and of each node (escalation rate)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import BinMoEConfigEntry
from .entity import BinMoEHubEntity, node_device_info
from .hub import BinMoEHub, NodeInfo, signal_new_node, signal_node_message

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class HubSensorDescription(SensorEntityDescription):
    value: Callable[[BinMoEHub], Any]
    attributes: Callable[[BinMoEHub], dict[str, Any] | None] = lambda _hub: None


HUB_SENSORS = (
    HubSensorDescription(key="queue_length", state_class=SensorStateClass.MEASUREMENT, value=lambda h: len(h.queue)),
    HubSensorDescription(
        key="queue_dropped",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda h: h.queue.dropped,
    ),
    HubSensorDescription(
        key="escalations", state_class=SensorStateClass.TOTAL_INCREASING, value=lambda h: h.stats.escalations
    ),
    HubSensorDescription(
        key="handled_locally",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=lambda h: h.stats.handled_locally,
    ),
    HubSensorDescription(
        key="bad_payloads",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda h: h.stats.bad_payloads,
    ),
    HubSensorDescription(
        key="lost_messages",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda h: h.router.lost_messages,
    ),
    HubSensorDescription(
        key="latency_p50",
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda h: h.stats.latency_percentile(0.5),
    ),
    HubSensorDescription(
        key="latency_p95",
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda h: h.stats.latency_percentile(0.95),
    ),
    HubSensorDescription(
        key="last_diagnosis",
        value=lambda h: (h.last_diagnosis or {}).get("cause"),
        attributes=lambda h: dict(h.last_diagnosis) if h.last_diagnosis else None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: BinMoEConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    hub = entry.runtime_data.hub
    async_add_entities(HubSensor(hub, description) for description in HUB_SENSORS)
    registry = dr.async_get(hass)

    @callback
    def _new_node(node: NodeInfo) -> None:
        async_add_entities([NodeEscalationRateSensor(hub, node, registry)])

    entry.async_on_unload(async_dispatcher_connect(hass, signal_new_node(entry.entry_id), _new_node))


class HubSensor(BinMoEHubEntity, SensorEntity):
    entity_description: HubSensorDescription

    def __init__(self, hub: BinMoEHub, description: HubSensorDescription) -> None:
        super().__init__(hub, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> Any:
        return self.entity_description.value(self.hub)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        return self.entity_description.attributes(self.hub)


class NodeEscalationRateSensor(SensorEntity):
    """Share of a node's messages that were escalated, in percent."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "escalation_rate"
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 1

    def __init__(self, hub: BinMoEHub, node: NodeInfo, registry: dr.DeviceRegistry) -> None:
        self.hub = hub
        self.node = node
        self._attr_unique_id = f"{hub.entry.entry_id}_{node.node_id}_escalation_rate"
        self._attr_device_info = node_device_info(hub.entry, node, registry)

    @property
    def native_value(self) -> float:
        return round(self.node.escalation_rate, 1)

    async def async_added_to_hass(self) -> None:
        signal = signal_node_message(self.hub.entry.entry_id, self.node.node_id)
        self.async_on_remove(async_dispatcher_connect(self.hass, signal, self._on_message))

    @callback
    def _on_message(self, _message: object) -> None:
        self.async_write_ha_state()
