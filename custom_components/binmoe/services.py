"""Services: binmoe.diagnose (with response data), binmoe.replay_queue, binmoe.clear_queue."""

from __future__ import annotations

from typing import Any

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .api import BinMoEError
from .const import DOMAIN, PROTOCOL_VERSION
from .runtime import BinMoERuntimeData

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


def _loaded(call: ServiceCall) -> BinMoERuntimeData:
    """The loaded entry's data (BinMoE has one entry); a given config_entry_id must be that entry."""
    entry_id = call.data.get(ATTR_CONFIG_ENTRY)
    for entry in call.hass.config_entries.async_loaded_entries(DOMAIN):
        if entry_id is None or entry.entry_id == entry_id:
            data: BinMoERuntimeData = entry.runtime_data
            return data
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_loaded_entry")


async def _diagnose(call: ServiceCall) -> ServiceResponse:
    data = _loaded(call)
    request: dict[str, Any] = {"v": PROTOCOL_VERSION}
    if question := call.data.get(ATTR_QUESTION):
        request["question"] = question
    if node_id := call.data.get(ATTR_NODE_ID):
        node = data.hub.nodes.get(node_id)
        if node is None or node.last_message is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_node",
                translation_placeholders={"node": node_id},
            )
        request["escalation"] = node.last_message.as_payload()
        request["context"] = data.hub.diagnosis_context(node)
    if len(request) == 1:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="nothing_to_diagnose")
    try:
        return await data.backend.async_diagnose(request)
    except BinMoEError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="diagnose_failed",
            translation_placeholders={"error": str(err)},
        ) from err


async def _replay(call: ServiceCall) -> ServiceResponse:
    backend = _loaded(call).backend
    sent = await backend.async_replay()
    return {"replayed": sent, "remaining": len(backend.queue)}


async def _clear(call: ServiceCall) -> ServiceResponse:
    return {"cleared": _loaded(call).backend.clear_queue()}


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
