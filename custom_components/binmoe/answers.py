"""Spoken answers to BinMoE questions, composed from what the hub holds: no LLM, nothing invented.

The user names a node the way they think of it ("the garage sensor", "the kitchen alarm", "the pump"),
so a node is found by the words of its id, its device's name and its area. A name that matches no node
gets an answer that says so, and which nodes there are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import DOMAIN, node_learn_action
from .hub import NodeInfo
from .runtime import BinMoERuntimeData

# What a node's classes sound like in a sentence; other labels are read with spaces for underscores.
SPOKEN_CLASS = {
    "background": "only background noise",
    "smoke_alarm": "a smoke alarm",
    "co_alarm": "a carbon monoxide alarm",
    "appliance_beep": "an appliance beeping",
    "doorbell": "the doorbell",
    "knock": "a knock",
    "water_running": "running water",
    "speech_tv": "speech or the TV",
    "healthy": "normal running",
    "imbalance": "an imbalance pattern",
    "misalignment": "a misalignment pattern",
    "looseness": "a looseness pattern",
    "bearing_outer": "an outer-race bearing fault pattern",
    "bearing_inner": "an inner-race bearing fault pattern",
    "bearing_ball": "a ball bearing fault pattern",
}
NORMAL_CLASSES = frozenset({"background", "healthy", "speech_tv"})
DECISION = {
    "local": "handled on the node",
    "diagnose": "sent to the GPU tier for a diagnosis",
    "ignore": "ignored by your routing policy",
    "drop": "dropped as a repeat or over the rate limit",
    "part_of_alarm": "taken as part of the alarm it reported",
}
# Words that say what kind of thing is meant, not which one ("the garage sensor" is the garage's node).
_KIND_WORDS = frozenset(
    {"binmoe", "sensor", "node", "alarm", "detector", "microphone", "mic", "device", "listener", "monitor"}
)
MAX_NODES_SPOKEN = 3  # an answer about "the sensors" names at most this many
_FILLER = frozenset({"the", "a", "an", "my", "our", "your", "in", "on", "at", "of", "for"})


def spoken_class(label: str) -> str:
    return SPOKEN_CLASS.get(label, label.replace("_", " "))


def _words(text: str) -> list[str]:
    """Lower-case words without possessives and plural s, so 'Garage Sensors' and "garage's" compare."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'s", ""))
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


@dataclass(frozen=True, slots=True)
class KnownNode:
    """A node and the words it can be called by."""

    node: NodeInfo
    name: str  # how answers name it
    area: str | None
    names: tuple[str, ...]  # its id, task, device names and area (with aliases), as the user may say them
    words: frozenset[str]


@dataclass(frozen=True, slots=True)
class Match:
    """The nodes a spoken name means, or the sentence that says why there are none."""

    nodes: list[KnownNode]
    problem: str | None = None


def known_nodes(hass: HomeAssistant, data: BinMoERuntimeData) -> list[KnownNode]:
    registry, areas = dr.async_get(hass), ar.async_get(hass)
    entry_id = data.hub.entry.entry_id
    found = []
    for node in data.hub.nodes.values():
        device = registry.async_get_device_by_identifier((DOMAIN, f"{entry_id}_{node.node_id}"), entry_id)
        names = [node.node_id, node.task]
        area_id = None
        if device is not None:
            names += [device.name_by_user or "", device.name or ""]
            area_id = device.area_id
            parent = registry.async_get(device.via_device_id) if device.via_device_id else None
            if isinstance(parent, dr.DeviceEntry):
                names += [parent.name_by_user or "", parent.name or ""]
                area_id = area_id or parent.area_id
        area = areas.async_get_area(area_id) if area_id else None
        if area is not None:
            names += [area.name, *area.aliases]
        shown = (device.name_by_user if device else None) or node.node_id.replace("-", " ").replace("_", " ")
        names = [name for name in names if name]
        words = frozenset(w for name in names for w in _words(name))
        found.append(KnownNode(node, shown, area.name if area else None, tuple(names), words))
    return found


def find_nodes(hass: HomeAssistant, data: BinMoERuntimeData, spoken: str | None) -> Match:
    """The nodes `spoken` names; every node for a name with only kind words ("the sensors")."""
    nodes = known_nodes(hass, data)
    if not nodes:
        return Match([], "No BinMoE node has reported yet, so I cannot tell you anything about one.")
    wanted = [w for w in _words(spoken or "") if w not in _FILLER and w not in _KIND_WORDS]
    if not wanted:
        return Match(nodes)
    matched = [known for known in nodes if all(w in known.words for w in wanted)]
    if matched:
        return Match(matched)
    names = ", ".join(known.name for known in nodes)
    for area in ar.async_get(hass).async_list_areas():
        if set(wanted) <= {w for name in (area.name, *area.aliases) for w in _words(name)}:
            return Match([], f"There is no BinMoE node in the {area.name}. The nodes I know are: {names}.")
    return Match([], f"I don't know a BinMoE node called {spoken}. The nodes I know are: {names}.")


def _ago(when: datetime | None) -> str:
    if when is None:
        return ""
    seconds = (dt_util.utcnow() - when).total_seconds()
    if seconds < 90:
        return " just now"
    if seconds < 5400:
        return f" {round(seconds / 60)} minutes ago"
    if seconds < 36 * 3600:
        return f" {round(seconds / 3600)} hours ago"
    return f" on {dt_util.as_local(when).strftime('%B %d')}"


def _messages(data: BinMoERuntimeData, node_id: str) -> list[dict[str, Any]]:
    """The node's recent detections and escalations, newest first."""
    return [
        item for item in reversed(data.hub.recent) if item.get("node_id") == node_id and item.get("type") != "diagnosis"
    ]


def _diagnosis_for(data: BinMoERuntimeData, message: dict[str, Any]) -> dict[str, Any] | None:
    key = (message.get("node_id"), message.get("seq"))
    found: list[dict[str, Any]] = [
        item
        for item in data.hub.recent
        if item.get("type") == "diagnosis" and (item.get("node_id"), item.get("seq")) == key
    ]
    return found[-1] if found else None


ALARM_CODES = {"T3": "its temporal-three alarm pattern", "T4": "its temporal-four alarm pattern"}


def _heard(message: dict[str, Any]) -> str:
    """The class heard and how: an alarm recognised by its pattern says so (its confidence is the code's 1.0, not
    a probability); anything else with the model's confidence."""
    if (code := ALARM_CODES.get(str(message.get("alarm_code")))) is not None:
        return f"{spoken_class(str(message.get('class')))} ({code})"
    return f"{spoken_class(str(message.get('class')))} ({float(message.get('confidence', 0)):.0%} sure)"


def _diagnosis_sentence(data: BinMoERuntimeData, message: dict[str, Any]) -> str:
    if message.get("decision") != "diagnose":
        return ""
    diagnosis = _diagnosis_for(data, message)
    if diagnosis is None:
        if not data.backend.online:
            return " It is waiting in the queue: the GPU tier is offline."
        return " Its diagnosis has not come back yet."
    text = f" The GPU tier's diagnosis: {str(diagnosis.get('cause', 'unknown')).rstrip('.')}"
    if severity := diagnosis.get("severity"):
        text += f" (severity {severity})"
    if action := diagnosis.get("recommended_action"):
        text += f". Recommended: {str(action).rstrip('.')}"
    return text + "."


def _each_node(
    hass: HomeAssistant,
    data: BinMoERuntimeData,
    spoken: str | None,
    describe: Callable[[KnownNode], str],
    first: str | None = None,
) -> str:
    """`describe` for each node `spoken` names (at most MAX_NODES_SPOKEN), or why there is none."""
    match = find_nodes(hass, data, spoken)
    if match.problem:
        return match.problem
    return " ".join([*([first] if first else []), *(describe(known) for known in match.nodes[:MAX_NODES_SPOKEN])])


def answer_heard(hass: HomeAssistant, data: BinMoERuntimeData, spoken: str | None) -> str:
    """What did the garage sensor hear?"""

    def heard(known: KnownNode) -> str:
        messages = _messages(data, known.node.node_id)
        if not messages:
            return f"The {known.name} has reported nothing since Home Assistant started."
        latest = messages[0]
        text = f"The {known.name} last heard {_heard(latest)}{_ago(known.node.last_seen)}"
        text += f", {DECISION.get(str(latest.get('decision')), 'recorded')}."
        if earlier := [spoken_class(str(m.get("class"))) for m in messages[1:4]]:
            text += f" Before that: {', '.join(earlier)}."
        return text

    return _each_node(hass, data, spoken, heard)


def answer_why(hass: HomeAssistant, data: BinMoERuntimeData, spoken: str | None) -> str:
    """Why did the kitchen alarm go off? The newest critical alarm, else escalation, else unusual sound."""
    critical = data.hub.router.policy.critical_classes

    def why(known: KnownNode) -> str:
        notable = [m for m in _messages(data, known.node.node_id) if m.get("class") not in NORMAL_CLASSES]
        if not notable:
            return f"The {known.name} has not reported anything unusual since Home Assistant started."
        latest = min(
            notable,
            key=lambda m: (m.get("class") not in critical, m.get("decision") != "diagnose", notable.index(m)),
        )
        text = f"The {known.name} heard {_heard(latest)}, {DECISION.get(str(latest.get('decision')), 'recorded')}."
        return text + _diagnosis_sentence(data, latest)

    return _each_node(hass, data, spoken, why)


def answer_status(hass: HomeAssistant, data: BinMoERuntimeData, spoken: str | None) -> str:
    """Is the pump OK?"""

    def status(known: KnownNode) -> str:
        messages = _messages(data, known.node.node_id)
        if not messages:
            return f"I have no report from the {known.name} since Home Assistant started."
        latest = messages[0]
        if latest.get("class") in NORMAL_CLASSES:
            return (
                f"The {known.name} looks fine: its last report{_ago(known.node.last_seen)} was "
                f"{spoken_class(str(latest.get('class')))}; "
                f"{known.node.escalated_share:.0f} % of its reports needed the GPU tier."
            )
        text = f"The {known.name} may need attention: it last reported {_heard(latest)}"
        return f"{text}{_ago(known.node.last_seen)}.{_diagnosis_sentence(data, latest)}"

    return _each_node(hass, data, spoken, status)


def answer_escalations_today(data: BinMoERuntimeData) -> str:
    """How many escalations today?"""
    today = dt_util.now().date()
    escalated, local = data.hub.escalations_by_day[today], data.hub.local_by_day[today]
    if not escalated and not local:
        return "No BinMoE node has reported anything today."
    text = f"Today {escalated} {'detection was' if escalated == 1 else 'detections were'} escalated to the GPU tier"
    text += f", and the nodes handled {local} on their own."
    if queued := len(data.backend.queue):
        text += f" {queued} {'is' if queued == 1 else 'are'} waiting in the queue."
    return text


def answer_learn_baseline(hass: HomeAssistant, data: BinMoERuntimeData, spoken: str | None) -> str:
    """Learn the baseline of the lathe sensor: not started by voice; say where it is started, change nothing."""

    def where(known: KnownNode) -> str:
        if hass.services.has_service("esphome", node_learn_action(known.node.node_id)):
            return (
                f"To learn the {known.name}'s baseline, press its Learn baseline button or run the action "
                "BinMoE: Learn baseline while the machine runs normally."
            )
        return f"The {known.name} cannot learn a baseline: its node does not declare that action."

    return _each_node(
        hass, data, spoken, where, "I can't start baseline learning by voice yet, so nothing was changed."
    )
