"""The sensors of the hub and of a node, as Home Assistant stores and shows them (snapshots)."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .helpers import fire


async def setup_platform(hass: HomeAssistant, entry: MockConfigEntry, platform: Platform) -> None:
    """The entry with one platform only, so a snapshot holds that platform's entities."""
    entry.add_to_hass(hass)
    with patch("custom_components.binmoe.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensors(
    hass: HomeAssistant, config_entry: MockConfigEntry, entity_registry: er.EntityRegistry, snapshot: SnapshotAssertion
) -> None:
    await setup_platform(hass, config_entry, Platform.SENSOR)
    # A detection only: a diagnosis would put its measured latency into the snapshot.
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.95})
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)


async def test_diagnostic_counters_start_disabled(
    hass: HomeAssistant, config_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    await setup_platform(hass, config_entry, Platform.SENSOR)
    disabled = {
        e.translation_key
        for e in er.async_entries_for_config_entry(entity_registry, config_entry.entry_id)
        if e.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    }
    assert disabled == {"queue_dropped", "bad_payloads", "lost_messages", "latency_p50", "latency_p95"}
