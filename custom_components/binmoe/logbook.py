"""Logbook entries for BinMoE's own events that a user reads as a timeline.

A diagnosis taken back as part of an alarm (`binmoe_diagnosis_withdrawn`, hub.py) would otherwise show in
the logbook only as the *Last diagnosis* sensor changing back to an older diagnosis, which reads as that
sound happening again. Other BinMoE events are not described: their effects are entity state changes
(the node's event entity, the hub's sensors) that the logbook shows already.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_DIAGNOSIS_WITHDRAWN

LOGBOOK_NAME = "BinMoE"


def _words(label: Any, otherwise: str) -> str:
    return str(label).replace("_", " ") if label else otherwise


def withdrawn_message(data: Mapping[str, Any]) -> str:
    """'took back "Dishwasher finished" (appliance beep on kitchen-sound): part of the smoke alarm that node
    reported'."""
    alarm = data.get("part_of_alarm") or {}
    heard = _words(data.get("class"), "an escalation")
    cause = data.get("cause") or data.get("summary") or heard
    node = data.get("node_id") or "a node"
    alarm_name = _words(alarm.get("class"), "alarm")
    return f"took back “{cause}” ({heard} on {node}): part of the {alarm_name} that node reported"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe BinMoE's logbook events."""

    @callback
    def async_describe_withdrawn(event: Event) -> dict[str, str]:
        entry = {LOGBOOK_ENTRY_NAME: LOGBOOK_NAME, LOGBOOK_ENTRY_MESSAGE: withdrawn_message(event.data)}
        if entity_id := event.data.get(ATTR_ENTITY_ID):
            entry[LOGBOOK_ENTRY_ENTITY_ID] = entity_id
        return entry

    async_describe_event(DOMAIN, EVENT_DIAGNOSIS_WITHDRAWN, async_describe_withdrawn)
