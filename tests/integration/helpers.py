"""Helpers shared by the integration tests: node payloads as ESPHome fires them, event capture, states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "valid"
EXAMPLE: dict[str, Any] = json.loads((FIXTURES / "escalation_esphome_strings.json").read_text())
MQTT_EXAMPLE: dict[str, Any] = json.loads((FIXTURES / "escalation_mqtt.json").read_text())


def esphome_payload(**changes: Any) -> dict[str, Any]:
    """The example escalation as ESPHome delivers it (every value a string), with changes."""
    data = {**EXAMPLE, **{k: str(v) for k, v in changes.items()}}
    if data["kind"] == "detection":
        data.pop("reason", None)
    return data


def capture(hass: HomeAssistant, event_type: str) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(event_type, events.append)
    return events


async def fire(hass: HomeAssistant, kind: str = "escalation", **changes: Any) -> None:
    """A node message as the ESPHome integration fires it, and wait until it is routed and diagnosed."""
    hass.bus.async_fire(f"esphome.binmoe_{kind}", esphome_payload(kind=kind, **changes))
    await hass.async_block_till_done(wait_background_tasks=True)


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> MockConfigEntry:
    """Add the entry with these options and set it up (it must load)."""
    entry.add_to_hass(hass)
    if options:
        hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
