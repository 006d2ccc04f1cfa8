"""The hub's MQTT status (docs/protocol.md §4, "Hub status"): retained `online` on `binmoe/hub/status` once
the node topics' subscription is in place, again after every MQTT reconnect, and `offline` when the entry
unloads or Home Assistant stops. MQTT nodes keep what they make in their outbox until they see `online`."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .const import HUB_STATUS_OFFLINE, HUB_STATUS_ONLINE, HUB_STATUS_TOPIC, LOGGER, MQTT_TOPIC


@callback
def async_track_hub_status(hass: HomeAssistant) -> CALLBACK_TYPE:
    """Announce the hub while it hears MQTT nodes; the returned callback announces `offline` and stops.

    Home Assistant's MQTT client subscribes with a clean session and subscribes again after each reconnect:
    `online` is published only when that subscription is acknowledged (what a node sends before would reach
    no one), on the same connection, so the broker has the subscription before any node sees `online`."""
    from homeassistant.components import mqtt

    @callback
    def _subscribed() -> None:
        _publish(hass, HUB_STATUS_ONLINE)

    @callback
    def _stopping(_event: Event) -> None:  # best effort: MQTT stops too; its will covers the rest
        _publish(hass, HUB_STATUS_OFFLINE)

    unsubs = [
        mqtt.async_on_subscribe_done(hass, MQTT_TOPIC, 1, _subscribed),
        hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _stopping),
    ]

    @callback
    def _stop() -> None:
        for unsub in unsubs:
            unsub()
        _publish(hass, HUB_STATUS_OFFLINE)

    return _stop


@callback
def _publish(hass: HomeAssistant, payload: str) -> None:
    # not the entry's task: `offline` is published while the entry unloads, which cancels the entry's tasks
    hass.async_create_background_task(_async_publish(hass, payload), f"binmoe hub status {payload}")


async def _async_publish(hass: HomeAssistant, payload: str) -> None:
    from homeassistant.components import mqtt

    try:
        await mqtt.async_publish(hass, HUB_STATUS_TOPIC, payload, qos=1, retain=True)
    except HomeAssistantError as err:  # MQTT unloaded meanwhile: no broker to tell
        LOGGER.debug("BinMoE hub status %s not published: %s", payload, err)
    else:
        LOGGER.debug("BinMoE hub status published: %s", payload)
