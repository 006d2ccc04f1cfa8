"""A repair issue when a vibration node's anomaly comes at a shaft speed its learnt baseline never saw.

A per-machine baseline cannot tell a new operating point from a fault: forces grow with the square of the speed,
so a machine running faster or slower than while it learnt scores as an anomaly (docs/vibration-baseline.md). The
node says so in its anomaly escalations (`shaft_rpm`, and `baseline_rpm`: the speeds its baseline saw,
docs/protocol.md §1), and the GPU tier's diagnosis names the cause (`at_new_speed`). One diagnosis per anomaly
does not tell the user what to do about them, so the hub raises one repair issue per node: learn the baseline
again while the machine runs through all its normal speeds, which its fix flow starts. The issue goes when the
flow starts learning, or when a later escalation's baseline covers every speed it named.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import BASELINE_SPEED_TOLERANCE, DOMAIN, ISSUE_BASELINE_SPEED
from .protocol import NodeMessage

RELEARN_GRACE_S = 60  # after learning should have ended: the next message may still come from the old baseline


def outside(rpm: float, low: float, high: float) -> bool:
    """Whether `rpm` is a speed a baseline that saw `low`..`high` rpm never saw (the GPU tier's rule)."""
    return not low * (1 - BASELINE_SPEED_TOLERANCE) <= rpm <= high * (1 + BASELINE_SPEED_TOLERANCE)


def issue_id(node_id: str) -> str:
    return f"{ISSUE_BASELINE_SPEED}_{node_id}"


@dataclass(slots=True)
class NewSpeeds:
    """The speeds outside a node's baseline at which it raised anomalies, since its issue was raised."""

    low: float
    high: float
    baseline: tuple[float, float]


class BaselineSpeedWatch:
    """Raises and clears the per-node `baseline_speed` repair issues from the nodes' anomaly escalations."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self._open: dict[str, NewSpeeds] = {}
        self._learning_until: dict[str, float] = {}  # monotonic time by which a requested relearning is over

    def check(self, message: NodeMessage) -> None:
        """An anomaly at a new speed raises (or widens) the node's issue; a baseline that covers the speeds it
        named clears it. Messages without both speeds say nothing either way."""
        if message.shaft_rpm is None or message.baseline_rpm is None:
            return
        node, rpm, (low, high) = message.node_id, message.shaft_rpm, message.baseline_rpm
        seen = self._open.get(node)
        if seen is not None and not outside(seen.low, low, high) and not outside(seen.high, low, high):
            self.resolved(node)
            seen = None
        if message.reason != "anomaly" or not outside(rpm, low, high):
            return
        if time.monotonic() < self._learning_until.get(node, 0.0):
            return  # the old baseline is still in force while the node learns the new one
        if seen is None:
            seen = self._open[node] = NewSpeeds(rpm, rpm, (low, high))
        seen.low, seen.high, seen.baseline = min(seen.low, rpm), max(seen.high, rpm), (low, high)
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
