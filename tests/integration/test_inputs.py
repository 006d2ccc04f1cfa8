"""The inputs: ESPHome events (exercised by every hub test) and MQTT topics, with their bad payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_mqtt_message

from .backend_double import BackendDouble
from .helpers import MQTT_EXAMPLE, capture, setup_entry


@pytest.mark.parametrize("expected_lingering_timers", [True])  # MQTT's own periodic timer
async def test_mqtt_nodes(
    hass: HomeAssistant, mqtt_mock: Any, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, config_entry)
    escalations = capture(hass, "binmoe_escalation")
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", json.dumps(MQTT_EXAMPLE))
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/diagnosis", json.dumps({"ignored": True}))
    async_fire_mqtt_message(hass, "binmoe/other-node/escalation", json.dumps(MQTT_EXAMPLE))  # topic mismatch
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", "{not json")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["seq"] for e in escalations] == [7]
    hub = config_entry.runtime_data.hub
    assert hub.stats.bad_payloads == 2
    assert hub.stats.diagnosed == 1


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_unloaded_entry_no_longer_listens(
    hass: HomeAssistant, mqtt_mock: Any, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, config_entry)
    hub = config_entry.runtime_data.hub
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", json.dumps(MQTT_EXAMPLE))
    hass.bus.async_fire("esphome.binmoe_escalation", {"node_id": "x"})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hub.stats.escalations == 0 and hub.stats.bad_payloads == 0


@pytest.mark.usefixtures("mock_hass_config")  # MQTT set up from its entry reads no configuration.yaml
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_mqtt_set_up_after_binmoe_is_heard_without_a_restart(
    hass: HomeAssistant, mqtt_mock_entry: Any, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """MQTT added after BinMoE (later, in the UI): its nodes are heard from then on. The fault soak found
    them ignored until Home Assistant restarted."""
    await setup_entry(hass, config_entry)
    escalations = capture(hass, "binmoe_escalation")
    await mqtt_mock_entry()
    await hass.async_block_till_done(wait_background_tasks=True)
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", json.dumps(MQTT_EXAMPLE))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["seq"] for e in escalations] == [7]


@pytest.mark.usefixtures("mock_hass_config")
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_an_entry_unloaded_before_mqtt_arrives_does_not_subscribe(
    hass: HomeAssistant, mqtt_mock_entry: Any, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, config_entry)
    hub = config_entry.runtime_data.hub
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await mqtt_mock_entry()
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", json.dumps(MQTT_EXAMPLE))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hub.stats.escalations == 0
