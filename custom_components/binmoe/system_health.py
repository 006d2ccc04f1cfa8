"""System health: is the GPU tier reachable, and how much is waiting."""

from __future__ import annotations

from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    entries = [e for e in hass.config_entries.async_loaded_entries(DOMAIN)]
    if not entries:
        return {"loaded_entries": 0}
    hub = entries[0].runtime_data.hub
    return {
        "loaded_entries": len(entries),
        "backend_reachable": system_health.async_check_can_reach_url(hass, f"{hub.client.url}/health"),
        "backend_model": entries[0].runtime_data.backend.model,
        "queue_length": len(hub.queue),
    }
