"""Sensors of the hub (queue, latency, counts, last diagnosis) and of each node (share of reports escalated)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import SensorEntity, SensorEntityDescription, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .entity import BinMoEHubEntity, BinMoENodeEntity, async_add_node_entities
from .hub import BinMoEHub, NodeInfo
from .runtime import BinMoEConfigEntry, BinMoERuntimeData

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class HubSensorDescription(SensorEntityDescription):
    value: Callable[[BinMoERuntimeData], StateType]
    attributes: Callable[[BinMoERuntimeData], dict[str, Any] | None] = lambda _data: None


def _diagnostic(key: str, value: Callable[[BinMoERuntimeData], StateType], **kwargs: Any) -> HubSensorDescription:
    """A counter for troubleshooting: diagnostic category, disabled until the user enables it."""
    return HubSensorDescription(
        key=key,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value=value,
        **kwargs,
    )


HUB_SENSORS = (
    HubSensorDescription(
        key="queue_length", state_class=SensorStateClass.MEASUREMENT, value=lambda d: len(d.backend.queue)
    ),
    HubSensorDescription(
        key="escalations", state_class=SensorStateClass.TOTAL_INCREASING, value=lambda d: d.hub.stats.escalations
    ),
    HubSensorDescription(
        key="handled_locally",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=lambda d: d.hub.stats.handled_locally,
    ),
    HubSensorDescription(
        key="local_share",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,  # recorded, so its history shows the cascade over time
        suggested_display_precision=0,
        value=lambda d: None if (share := d.hub.stats.local_share) is None else round(share, 1),
    ),
    HubSensorDescription(
        key="last_diagnosis",
        value=lambda d: (d.hub.last_diagnosis or {}).get("cause"),
        attributes=lambda d: dict(d.hub.last_diagnosis) if d.hub.last_diagnosis else None,
    ),
    _diagnostic("queue_dropped", lambda d: d.backend.queue.dropped, state_class=SensorStateClass.TOTAL_INCREASING),
    _diagnostic("bad_payloads", lambda d: d.hub.stats.bad_payloads, state_class=SensorStateClass.TOTAL_INCREASING),
    # TOTAL, not TOTAL_INCREASING: a message delivered late from the node's outbox is no longer lost
    _diagnostic("lost_messages", lambda d: d.hub.router.lost_messages, state_class=SensorStateClass.TOTAL),
    _diagnostic(
        "latency_p50",
        lambda d: d.backend.latency_percentile(0.5),
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
    ),
    _diagnostic(
        "latency_p95",
        lambda d: d.backend.latency_percentile(0.95),
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: BinMoEConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_add_entities(HubSensor(entry, description) for description in HUB_SENSORS)
    async_add_node_entities(hass, entry, async_add_entities, NodeEscalatedShareSensor)


class HubSensor(BinMoEHubEntity, SensorEntity):
    entity_description: HubSensorDescription

    def __init__(self, entry: BinMoEConfigEntry, description: HubSensorDescription) -> None:
        super().__init__(entry, description.key)
        self.entity_description = description
        self._data = entry.runtime_data

    @property
    def native_value(self) -> StateType:
        return self.entity_description.value(self._data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        return self.entity_description.attributes(self._data)


class NodeEscalatedShareSensor(BinMoENodeEntity, SensorEntity):
    """Share of the messages a node reported that were escalations, in percent.

    Not the node's own *Escalation rate* (ESPHome sensor: escalated share of its last 128 windows): the
    node reports only windows worth reporting, so this share is over reports, not over windows.
    """

    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_suggested_display_precision = 1

    def __init__(self, hub: BinMoEHub, node: NodeInfo, registry: dr.DeviceRegistry) -> None:
        super().__init__(hub, node, "escalated_share", registry)

    @property
    def native_value(self) -> float:
        return round(self.node.escalated_share, 1)
