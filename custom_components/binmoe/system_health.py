"""System health: is the GPU tier reachable, and how much is waiting."""

from __future__ import annotations

from typing import Any

from homeassistant.components import system_health
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN
from .runtime import BinMoERuntimeData


@callback
def async_register(hass: HomeAssistant, register: system_health.SystemHealthRegistration) -> None:
    register.async_register_info(system_health_info)


async def system_health_info(hass: HomeAssistant) -> dict[str, Any]:
    entries = hass.config_entries.async_loaded_entries(DOMAIN)
    if not entries:
        return {"loaded_entries": 0}
    data: BinMoERuntimeData = entries[0].runtime_data  # BinMoE has one entry
    backend = data.backend
    return {
        "loaded_entries": len(entries),
        "backend_reachable": system_health.async_check_can_reach_url(hass, f"{backend.client.url}/health"),
        "backend_model": backend.info.model if backend.info else None,
        "queue_length": len(backend.queue),
    }
