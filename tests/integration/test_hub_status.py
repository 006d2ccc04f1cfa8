"""The hub's MQTT status (custom_components/binmoe/hub_status.py, docs/protocol.md §4): retained `online` once
the node topics are subscribed and after each reconnect, `offline` when the entry unloads or Home Assistant
stops. Home Assistant's MQTT integration runs for real on the plugin's mocked paho client (mqtt_client_mock)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from unittest.mock import Mock, call, patch

import pytest
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockMqttReasonCode

from .backend_double import BackendDouble
from .helpers import setup_entry

STATUS = "binmoe/hub/status"


def status_calls(paho: Mock) -> list[Any]:
    """What was published on the status topic, as (payload, qos, retain), in order."""
    return [(c.args[1], c.args[2], c.args[3]) for c in paho.publish.call_args_list if c.args[0] == STATUS]


def subscribed_then_published(paho: Mock) -> list[str]:
    """The order of the node topics' SUBSCRIBE and the status PUBLISHes on the client's one connection."""
    order = []
    for c in paho.mock_calls:
        if c[0] == "subscribe" and "binmoe/+/+" in str(c.args[0]):
            order.append("subscribe")
        elif c[0] == "publish" and c.args[0] == STATUS:
            order.append(c.args[1])
    return order


async def settle(hass: HomeAssistant) -> None:
    """Let MQTT's subscribe cooldown (0.5 s of real loop time: it checks the loop's clock) pass."""
    await asyncio.sleep(0.7)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize("expected_lingering_timers", [True])  # MQTT's own periodic timer
async def test_online_after_subscribing_and_after_every_reconnect(
    hass: HomeAssistant,
    mqtt_client_mock: Mock,
    mqtt_mock: Any,
    backend: BackendDouble,
    config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, config_entry)
    await settle(hass)
    assert status_calls(mqtt_client_mock) == [("online", 1, True)]
    assert subscribed_then_published(mqtt_client_mock) == ["subscribe", "online"]

    # the broker went away and came back: Home Assistant subscribes again (clean session), then `online`
    mqtt_client_mock.reset_mock()
    mqtt_client_mock.on_disconnect(mqtt_client_mock, None, None, MockMqttReasonCode())
    await hass.async_block_till_done()
    assert status_calls(mqtt_client_mock) == []
    mqtt_client_mock.on_connect(mqtt_client_mock, None, 0, MockMqttReasonCode())
    await settle(hass)
    assert subscribed_then_published(mqtt_client_mock) == ["subscribe", "online"]
    assert status_calls(mqtt_client_mock) == [("online", 1, True)]


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_offline_when_the_entry_unloads(
    hass: HomeAssistant,
    mqtt_client_mock: Mock,
    mqtt_mock: Any,
    backend: BackendDouble,
    config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, config_entry)
    await settle(hass)
    mqtt_client_mock.reset_mock()
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await settle(hass)
    assert status_calls(mqtt_client_mock) == [("offline", 1, True)]
    # unloaded: a reconnect announces nothing any more
    mqtt_client_mock.on_disconnect(mqtt_client_mock, None, None, MockMqttReasonCode())
    mqtt_client_mock.on_connect(mqtt_client_mock, None, 0, MockMqttReasonCode())
    await settle(hass)
    assert status_calls(mqtt_client_mock) == [("offline", 1, True)]


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_offline_when_home_assistant_stops(
    hass: HomeAssistant,
    mqtt_client_mock: Mock,
    mqtt_mock: Any,
    backend: BackendDouble,
    config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, config_entry)
    await settle(hass)
    mqtt_client_mock.reset_mock()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert call(STATUS, "offline", 1, True) in [call(*c.args[:4]) for c in mqtt_client_mock.publish.call_args_list]


async def test_no_status_without_mqtt(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Without Home Assistant's MQTT integration there is no broker to announce to (and nothing fails)."""
    assert "mqtt" not in hass.config.components
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_no_broker_left_to_tell(
    hass: HomeAssistant,
    mqtt_mock: Any,
    backend: BackendDouble,
    config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """MQTT refuses to publish (its entry gone meanwhile): unloading BinMoE still succeeds and says so in the
    debug log only. The refusal is patched in: Home Assistant's MQTT raises it when no entry is set up."""
    caplog.set_level(logging.DEBUG, logger="custom_components.binmoe")
    await setup_entry(hass, config_entry)
    await settle(hass)
    refused = HomeAssistantError("Cannot publish: MQTT is not enabled")
    with patch("homeassistant.components.mqtt.async_publish", side_effect=refused):
        assert await hass.config_entries.async_unload(config_entry.entry_id)
        await settle(hass)
    assert "BinMoE hub status offline not published: Cannot publish: MQTT is not enabled" in caplog.text
