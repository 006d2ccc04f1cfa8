"""Node events while an entry is NOT loaded (GPU tier unreachable at start-up: Home Assistant retries the
set-up). Critical classes still notify at once and escalations still go to the entry's persisted queue,
which the hub replays in order once it is loaded. While a hub is loaded it handles everything itself."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback

from .const import CONF_QUEUE_MAX, DEFAULT_QUEUE_MAX, DOMAIN, ESPHOME_EVENT_DETECTION, ESPHOME_EVENT_ESCALATION
from .hub import notify_critical
from .protocol import InvalidMessage, parse_message
from .queue import async_get_queue
from .router import RouterPolicy


@callback
def async_setup_inbox(hass: HomeAssistant) -> None:
    async def _on_event(event: Event) -> None:
        waiting = [
            entry
            for entry in hass.config_entries.async_entries(DOMAIN)
            if entry.state in (ConfigEntryState.SETUP_RETRY, ConfigEntryState.SETUP_IN_PROGRESS)
        ]
        if not waiting:
            return
        try:
            message = parse_message(dict(event.data))
        except InvalidMessage:
            return  # counted and logged by the hub once it runs; nothing to keep
        for entry in waiting:
            policy = RouterPolicy.from_options(entry.options)
            if message.label in policy.critical_classes:
                notify_critical(hass, message)
            if message.kind == "escalation" and message.label not in policy.ignore_classes:
                queue = await async_get_queue(
                    hass, entry.entry_id, int(entry.options.get(CONF_QUEUE_MAX, DEFAULT_QUEUE_MAX))
                )
                queue.push({"v": 1, "escalation": message.as_payload()})

    for event_type in (ESPHOME_EVENT_DETECTION, ESPHOME_EVENT_ESCALATION):
        hass.bus.async_listen(event_type, _on_event)
