"""Services: binmoe.diagnose (with response data), binmoe.replay_queue, binmoe.clear_queue, binmoe.learn_baseline,
binmoe.set_baseline."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import probatio as vol
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .api import BinMoEError
from .const import DOMAIN, PROTOCOL_VERSION, node_learn_action, node_set_baseline_action
from .runtime import BinMoERuntimeData

ATTR_CONFIG_ENTRY = "config_entry_id"
ATTR_QUESTION = "question"
ATTR_NODE_ID = "node_id"
ATTR_DURATION = "duration"
ATTR_BASELINE = "baseline"
NODE_LEARN_SECONDS = "seconds"
# A stored baseline's size: header and checksum (28 bytes) plus 8 per band and the correlation factor's
# triangle, up to 16 bands (docs/esphome.md, "Per-machine baseline")
BASELINE_MIN_BYTES, BASELINE_MAX_BYTES = 28 + 8, 396

_ENTRY = {vol.Optional(ATTR_CONFIG_ENTRY): cv.string}
DIAGNOSE_SCHEMA = vol.Schema(
    {
        **_ENTRY,
        vol.Optional(ATTR_QUESTION): vol.All(cv.string, vol.Length(min=1, max=2000)),
        vol.Optional(ATTR_NODE_ID): cv.string,
    }
)
QUEUE_SCHEMA = vol.Schema(_ENTRY)
LEARN_BASELINE_SCHEMA = vol.Schema(
    {
        **_ENTRY,
        vol.Required(ATTR_NODE_ID): cv.string,
        # at least a minute of signal, at most the week the node's action accepts
        vol.Optional(ATTR_DURATION, default=600): vol.All(vol.Coerce(int), vol.Range(min=60, max=7 * 24 * 3600)),
    }
)


def _baseline_text(value: Any) -> str:
    """Base64 of a stored baseline (what `python -m node_factory baseline --save` writes, `base64 -w0`); whether
    it belongs to the node's model the node says (a log line), as only it knows its features."""
    text = "".join(cv.string(value).split())  # pasted text may be wrapped
    try:
        blob = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise vol.Invalid(f"baseline is not base64: {err}") from err
    if not BASELINE_MIN_BYTES <= len(blob) <= BASELINE_MAX_BYTES:
        raise vol.Invalid(
            f"baseline has {len(blob)} bytes; a stored baseline has {BASELINE_MIN_BYTES}-{BASELINE_MAX_BYTES}"
        )
    return text


SET_BASELINE_SCHEMA = vol.Schema(
    {**_ENTRY, vol.Required(ATTR_NODE_ID): cv.string, vol.Required(ATTR_BASELINE): _baseline_text}
)


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


async def _call_node_action(call: ServiceCall, action: str, missing_key: str, data: dict[str, Any]) -> None:
    """Call the native-API action `action` of the call's node (esphome.<action>, which its YAML declares); a
    translated `missing_key` error, before anything is sent, when the node offers no such action."""
    _loaded(call)
    if not call.hass.services.has_service("esphome", action):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=missing_key,
            translation_placeholders={"node": call.data[ATTR_NODE_ID], "action": f"esphome.{action}"},
        )
    await call.hass.services.async_call("esphome", action, data, blocking=True)


async def _learn_baseline(call: ServiceCall) -> None:
    """Start baseline learning on a node."""
    action = node_learn_action(call.data[ATTR_NODE_ID])
    await _call_node_action(call, action, "no_learn_action", {NODE_LEARN_SECONDS: call.data[ATTR_DURATION]})
    _loaded(call).hub.baseline_speeds.relearning(call.data[ATTR_NODE_ID], call.data[ATTR_DURATION])


async def _set_baseline(call: ServiceCall) -> None:
    """Put a baseline learnt from a recording on a node."""
    action = node_set_baseline_action(call.data[ATTR_NODE_ID])
    await _call_node_action(call, action, "no_set_baseline_action", {ATTR_BASELINE: call.data[ATTR_BASELINE]})


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    hass.services.async_register(
        DOMAIN, "diagnose", _diagnose, schema=DIAGNOSE_SCHEMA, supports_response=SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, "replay_queue", _replay, schema=QUEUE_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
    hass.services.async_register(DOMAIN, "learn_baseline", _learn_baseline, schema=LEARN_BASELINE_SCHEMA)
    hass.services.async_register(DOMAIN, "set_baseline", _set_baseline, schema=SET_BASELINE_SCHEMA)
    hass.services.async_register(
        DOMAIN, "clear_queue", _clear, schema=QUEUE_SCHEMA, supports_response=SupportsResponse.OPTIONAL
    )
