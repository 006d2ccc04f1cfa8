"""A repair issue when a vibration node's anomaly may come from a shaft speed its learnt baseline never saw.

A per-machine baseline cannot tell a new operating point from a fault: forces grow with the square of the speed,
so a machine running faster or slower than while it learnt scores as an anomaly (docs/vibration-baseline.md). The
node sends the speed and the speeds its baseline saw with its anomaly escalations (`shaft_rpm`, `baseline_rpm`,
docs/protocol.md §1), and the GPU tier's diagnosis names the cause `<class>.at_new_speed` when the capture shows a
shaft fault (imbalance, misalignment, looseness: patterns a new speed alone makes) more than 2 % outside them. A
bearing fault's lines are evidence at any speed, so a new speed does not explain it, and such an anomaly raises
nothing here. One diagnosis per anomaly does not tell the user what to do about them, so the hub raises one repair
issue per node: learn the baseline again, of a healthy machine, while it runs through all its normal speeds, which
its fix flow starts. The issue goes when the flow (or `binmoe.learn_baseline`) starts learning, when the node's
own *Baseline* sensor says it learns (its *Learn baseline* button, an automation, the node's web page), when a later
escalation's baseline covers every speed it named, or when one shows a baseline without speeds in force.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from .const import BASELINE_SPEED_TOLERANCE, DOMAIN, ISSUE_BASELINE_SPEED
from .protocol import NodeMessage

RELEARN_GRACE_S = 60  # after learning should have ended: the next message may still come from the old baseline
LEARNING = "learning"  # the state of a node's Baseline text sensor while it learns (the ESPHome component's)
ESPHOME_DEVICE_NAME = "device_name"  # what Home Assistant's esphome integration keeps of the node's name


def outside(rpm: float, low: float, high: float) -> bool:
    """Whether `rpm` is a speed a baseline that saw `low`..`high` rpm never saw (the GPU tier's rule)."""
    return not low * (1 - BASELINE_SPEED_TOLERANCE) <= rpm <= high * (1 + BASELINE_SPEED_TOLERANCE)


def issue_id(node_id: str) -> str:
    return f"{ISSUE_BASELINE_SPEED}_{node_id}"


def baseline_sensor_node(hass: HomeAssistant, entity_id: str) -> str | None:
    """The node whose Baseline text sensor `entity_id` is (an esphome entity named "Baseline", as the shipped
    vibration package names it, of a device whose name is the node id the node sends), or None."""
    entity = er.async_get(hass).async_get(entity_id)
    if entity is None or entity.platform != "esphome" or entity.config_entry_id is None:
        return None
    if (entity.original_name or "").casefold() != "baseline":
        return None
    device = hass.config_entries.async_get_entry(entity.config_entry_id)
    name = device.data.get(ESPHOME_DEVICE_NAME) if device is not None else None
    return name if isinstance(name, str) else None


@callback
def _learning_changed(data: EventStateChangedData) -> bool:
    """A state change into or out of "learning" (cheap: most state changes of a home are neither)."""
    old, new = data["old_state"], data["new_state"]
    return (new is not None and new.state == LEARNING) != (old is not None and old.state == LEARNING)


@dataclass(slots=True)
class NewSpeeds:
    """The speeds outside a node's baseline at which it raised anomalies, since its issue was raised."""

    low: float
    high: float


class BaselineSpeedWatch:
    """Raises the per-node `baseline_speed` repair issues from the diagnoses of the nodes' anomalies, and clears
    them."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._open: dict[str, NewSpeeds] = {}
        self._learning_until: dict[str, float] = {}  # monotonic time by which a requested relearning is over
        self._learning: set[str] = set()  # nodes whose Baseline sensor says they learn

    def start(self) -> CALLBACK_TYPE:
        """Follow the nodes' Baseline sensors: learning started on the node itself settles its issue too."""
        return self.hass.bus.async_listen(EVENT_STATE_CHANGED, self._baseline_state, event_filter=_learning_changed)

    @callback
    def _baseline_state(self, event: Event[EventStateChangedData]) -> None:
        node = baseline_sensor_node(self.hass, event.data["entity_id"])
        if node is None:
            return
        new = event.data["new_state"]
        if new is not None and new.state == LEARNING:
            self._learning.add(node)
            self.resolved(node)
        else:  # learnt (or the node went away): its messages may still come from the old baseline for a while
            self._learning.discard(node)
            self._learning_until[node] = time.monotonic() + RELEARN_GRACE_S

    def check(self, message: NodeMessage) -> None:
        """A node message with its shaft speed says which baseline is in force: one whose speeds cover every speed
        the node's issue named (learnt again), or one without speeds (set from a recording, `baseline_rpm`
        absent), clears the issue."""
        seen = self._open.get(message.node_id)
        if seen is None or message.shaft_rpm is None:
            return
        if message.baseline_rpm is None:
            self.resolved(message.node_id)
            return
        low, high = message.baseline_rpm
        if not outside(seen.low, low, high) and not outside(seen.high, low, high):
            self.resolved(message.node_id)

    def diagnosed(self, escalation: dict[str, Any], result: dict[str, Any]) -> None:
        """A diagnosis of an anomaly whose cause is the new speed (`<class>.at_new_speed`) raises, or widens, the
        node's issue; any other diagnosis raises nothing."""
        cause = result.get("cause_id")
        if not isinstance(cause, str) or not cause.endswith(".at_new_speed") or escalation.get("reason") != "anomaly":
            return
        node, rpm, speeds = escalation.get("node_id"), escalation.get("shaft_rpm"), escalation.get("baseline_rpm")
        if not isinstance(node, str) or not isinstance(rpm, float | int) or not isinstance(speeds, list | tuple):
            return
        low, high = float(speeds[0]), float(speeds[1])
        if (
            not outside(rpm, low, high)
            or node in self._learning
            or time.monotonic() < self._learning_until.get(node, 0.0)
        ):
            return  # (the old baseline is still in force while the node learns the new one)
        seen = self._open.get(node)
        if seen is None:
            seen = self._open[node] = NewSpeeds(rpm, rpm)
        seen.low, seen.high = min(seen.low, rpm), max(seen.high, rpm)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id(node),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_BASELINE_SPEED,
            translation_placeholders={
                "node": node,
                "rpm": _rpm(rpm),
                "low": _rpm(low),
                "high": _rpm(high),
                "seen": _rpm(seen.low) if seen.low == seen.high else f"{_rpm(seen.low)}–{_rpm(seen.high)}",
            },
            data={"node_id": node},
        )

    def relearning(self, node_id: str, seconds: float) -> None:
        """The node was asked to learn a new baseline for `seconds`: its issue is settled, and anomalies from the
        baseline still in force until then raise none."""
        self._learning_until[node_id] = time.monotonic() + seconds + RELEARN_GRACE_S
        self.resolved(node_id)

    def close(self) -> None:
        """The entry unloads: its issues go (a fix flow needs the loaded entry); new anomalies raise them again."""
        for node_id in list(self._open):
            self.resolved(node_id)

    def resolved(self, node_id: str) -> None:
        self._open.pop(node_id, None)
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(node_id))


def _rpm(value: float) -> str:
    return f"{value:,.0f}"
