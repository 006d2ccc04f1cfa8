"""Where node messages come from: the events ESPHome nodes fire in Home Assistant, and MQTT topics.

Both adapters hand raw payloads to the hub, which validates and routes them; a topic that does not match
its payload is reported as a bad payload of that node.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback

from .const import ESPHOME_EVENT_DETECTION, ESPHOME_EVENT_ESCALATION, LOGGER, MQTT_TOPIC

type PayloadHandler = Callable[[dict[str, Any]], None]
type BadPayloadHandler = Callable[[str, str], None]


@callback
def async_listen_esphome(hass: HomeAssistant, on_payload: PayloadHandler) -> list[CALLBACK_TYPE]:
    """ESPHome nodes fire `esphome.binmoe_detection|escalation` (event data: strings)."""

    @callback
    def _on_event(event: Event) -> None:
        on_payload(dict(event.data))

    return [hass.bus.async_listen(kind, _on_event) for kind in (ESPHOME_EVENT_DETECTION, ESPHOME_EVENT_ESCALATION)]


async def async_subscribe_mqtt(
    hass: HomeAssistant, on_payload: PayloadHandler, on_bad_payload: BadPayloadHandler
) -> CALLBACK_TYPE | None:
    """MQTT nodes publish JSON to `binmoe/<node_id>/detection|escalation`; None when MQTT is not usable."""
    if "mqtt" not in hass.config.components:
        return None
    from homeassistant.components import mqtt

    if not await mqtt.async_wait_for_mqtt_client(hass):
        LOGGER.warning("MQTT is configured but not connected; BinMoE MQTT nodes are not received")
        return None

    @callback
    def _on_message(msg: mqtt.ReceiveMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) != 3 or parts[2] not in ("detection", "escalation"):
            return  # e.g. binmoe/<node>/diagnosis published by the MQTT bridge
        try:
            data = json.loads(msg.payload)
        except ValueError:
            on_bad_payload(parts[1], "payload is not JSON")
            return
        if not isinstance(data, dict) or data.get("node_id") != parts[1] or data.get("kind") != parts[2]:
            on_bad_payload(parts[1], "node_id/kind do not match the topic")
            return
        on_payload(data)

    return await mqtt.async_subscribe(hass, MQTT_TOPIC, _on_message, qos=1)
