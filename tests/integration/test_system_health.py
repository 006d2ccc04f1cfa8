"""System health: reachability of the GPU tier and the queue."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.system_health import system_health_info


async def test_system_health(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    info = await system_health_info(hass)
    assert info["loaded_entries"] == 1 and info["queue_length"] == 0
    assert info["backend_model"] == "double-moe"
    assert await info["backend_reachable"] == "ok"
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert await system_health_info(hass) == {"loaded_entries": 0}
