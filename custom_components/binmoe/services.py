"""Services: binmoe.diagnose (with response data), binmoe.replay_queue, binmoe.clear_queue."""

from __future__ import annotations

from typing import Any

import probatio as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .api import BinMoEError
from .const import DOMAIN, PROTOCOL_VERSION
from .hub import BinMoEHub

ATTR_CONFIG_ENTRY = "config_entry_id"
ATTR_QUESTION = "question"
ATTR_NODE_ID = "node_id"

_ENTRY = {vol.Optional(ATTR_CONFIG_ENTRY): cv.string}
DIAGNOSE_SCHEMA = vol.Schema(
    {
        **_ENTRY,
        vol.Optional(ATTR_QUESTION): vol.All(cv.string, vol.Length(min=1, max=2000)),
        vol.Optional(ATTR_NODE_ID): cv.string,
    }
)
QUEUE_SCHEMA = vol.Schema(_ENTRY)


def _hub(hass: HomeAssistant, call: ServiceCall) -> BinMoEHub:
    entry_id = call.data.get(ATTR_CONFIG_ENTRY)
    entries = [
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.state is ConfigEntryState.LOADED and (entry_id is None or e.entry_id == entry_id)
    ]
    if not entries:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_loaded_entry")
    hub: BinMoEHub = entries[0].runtime_data.hub
    return hub


async def _diagnose(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass, call)
    request: dict[str, Any] = {"v": PROTOCOL_VERSION}
    if question := call.data.get(ATTR_QUESTION):
        request["question"] = question
    if node_id := call.data.get(ATTR_NODE_ID):
        node = hub.nodes.get(node_id)
        if node is None or node.last_message is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_node",
                translation_placeholders={"node": node_id},
            )
        request["escalation"] = node.last_message.as_payload()
    if len(request) == 1:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="nothing_to_diagnose")
    try:
        return await hub.async_diagnose(request)
    except BinMoEError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="diagnose_failed",
            translation_placeholders={"error": str(err)},
        ) from err


async def _replay(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass, call)
    sent = await hub.async_replay()
    return {"replayed": sent, "remaining": len(hub.queue)}


async def _clear(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass, call)
    return {"cleared": hub.queue.clear()}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    hass.services.async_register(
        DOMAIN, "diagnose", _diagnose, schema=DIAGNOSE_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, "replay_queue", _replay, schema=QUEUE_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(
        DOMAIN, "clear_queue", _clear, schema=QUEUE_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
