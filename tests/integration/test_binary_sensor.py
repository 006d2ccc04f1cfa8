"""The GPU tier's connectivity sensor (snapshot)."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .test_sensor import setup_platform


async def test_connectivity(
    hass: HomeAssistant, config_entry: MockConfigEntry, entity_registry: er.EntityRegistry, snapshot: SnapshotAssertion
) -> None:
    await setup_platform(hass, config_entry, Platform.BINARY_SENSOR)
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)
