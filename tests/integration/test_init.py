"""Set-up, unload, reload, retry when the backend is down, reauth on a rejected key."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe import BinMoEData
from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble


async def test_setup_and_unload(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    data = loaded_entry.runtime_data
    assert isinstance(data, BinMoEData)
    assert data.backend.model == "double-moe"
    assert data.backend.models == ("double-moe",)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED


async def test_reload(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    before = len(backend.requests)
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert len(backend.requests) > before


async def test_setup_retry_when_backend_down(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await backend.stop()
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "Could not reach the BinMoE gateway" in (config_entry.reason or "")


async def test_setup_retry_while_engine_starts(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    backend.healthy = False
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


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
