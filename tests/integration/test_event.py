"""A node's detection event entity (snapshot): event types learned from what the node reports."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .helpers import fire
from .test_sensor import setup_platform


async def test_detection_events(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to("2026-12-01T12:00:00+00:00")  # an event entity's state is the time of its last event
    await setup_platform(hass, config_entry, Platform.EVENT)
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.95})
    await fire(hass, seq=8, **{"class": "doorbell"})
    state = hass.states.get("event.hallway_sound_detection")
    assert state is not None and state.attributes["event_types"] == ["knock", "doorbell"]
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)
