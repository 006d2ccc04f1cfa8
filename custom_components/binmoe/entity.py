"""Base entities: the hub device (one per config entry) and node devices (one per node)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity

from .const import DOMAIN
from .hub import BinMoEHub, NodeInfo, signal_update


class BinMoEHubEntity(Entity):
    """An entity of the hub service device; refreshed whenever the hub's statistics change."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: BinMoEHub, key: str) -> None:
        self.hub = hub
        self._attr_translation_key = key
        self._attr_unique_id = f"{hub.entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, hub.entry.entry_id)},
            name="BinMoE hub",
            manufacturer="BinMoE",
            model=hub.entry.runtime_data.backend.model if hasattr(hub.entry, "runtime_data") else None,
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=hub.client.url,
        )

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(async_dispatcher_connect(self.hass, signal_update(self.hub.entry.entry_id), self._refresh))

    @callback
    def _refresh(self) -> None:
        self.async_write_ha_state()


def node_device_info(entry: ConfigEntry[object], node: NodeInfo, registry: dr.DeviceRegistry) -> DeviceInfo:
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
    esphome = registry.async_get(node.device_id) if node.device_id else None
    if isinstance(esphome, dr.DeviceEntry):
        info["via_device_id"] = esphome.id
    return info
