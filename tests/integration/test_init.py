"""Set-up, unload, reload, the GPU tier down at start-up, reauth on a rejected key, device removal,
entry removal and the 1.1 -> 1.2 migration."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.const import DOMAIN
from custom_components.binmoe.runtime import BinMoERuntimeData

from .backend_double import BackendDouble
from .helpers import fire, setup_entry, state


async def test_setup_and_unload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    data = loaded_entry.runtime_data
    assert isinstance(data, BinMoERuntimeData)
    assert data.backend.info is not None
    assert data.backend.info.model == "double-moe"
    assert data.backend.info.models == ("double-moe",)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED


async def test_reload(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    before = len(backend.requests)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert len(backend.requests) > before


async def test_loads_when_backend_down(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await backend.stop()
    await setup_entry(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data.backend.info is None
    assert state(hass, "binary_sensor.binmoe_hub_gpu_tier") == "off"


async def test_loads_while_engine_starts(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    backend.healthy = False
    await setup_entry(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    assert not config_entry.runtime_data.backend.online


async def test_rejected_key_starts_reauth(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    backend.api_key = "rotated"
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_node_devices_can_be_removed_but_not_the_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_ws_client: Any
) -> None:
    assert await async_setup_component(hass, "config", {})
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.9})
    registry = dr.async_get(hass)
    hub_device = registry.async_get_device_by_identifier((DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id)
    node_device = registry.async_get_device_by_identifier(
        (DOMAIN, f"{loaded_entry.entry_id}_hallway-sound"), loaded_entry.entry_id
    )
    assert hub_device is not None and node_device is not None
    client = await hass_ws_client(hass)
    for device, expected in ((hub_device, False), (node_device, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": loaded_entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is expected
    assert "hallway-sound" not in loaded_entry.runtime_data.hub.nodes


async def test_removing_the_entry_removes_its_stored_queue(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    backend.diagnose_failures = [503] * 3
    await fire(hass, seq=60, **{"class": "knock"})
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)  # flushes the queue to storage
    store: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.{loaded_entry.entry_id}.queue")
    stored = await store.async_load()
    assert stored is not None and len(stored["items"]) == 1
    assert await hass.config_entries.async_remove(loaded_entry.entry_id)
    fresh: Store[dict[str, Any]] = Store(hass, 1, f"{DOMAIN}.{loaded_entry.entry_id}.queue")  # no cached load
    assert await fresh.async_load() is None


async def test_migration_keeps_the_node_sensors(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """1.1 called the nodes' share of escalated reports `escalation_rate`; 1.2 keeps the entity and its id."""
    entry = MockConfigEntry(
        domain=DOMAIN, data=config_entry.data, unique_id=config_entry.unique_id, version=1, minor_version=1
    )
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    old = registry.async_get_or_create(
        "sensor", DOMAIN, f"{entry.entry_id}_hallway-sound_escalation_rate", config_entry=entry
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert (entry.version, entry.minor_version) == (1, 2)
    migrated = registry.async_get(old.entity_id)
    assert migrated is not None and migrated.unique_id == f"{entry.entry_id}_hallway-sound_escalated_share"
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.95})
    assert state(hass, old.entity_id) == "0.0"  # the node's sensor took over the old entity id


async def test_entry_from_a_newer_version_is_not_loaded(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data=config_entry.data, version=2)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
