"""The routing policy: what the hub does with each validated node message. Pure logic, no I/O."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .const import (
    CONF_CRITICAL_CLASSES,
    CONF_DEDUPE_WINDOW,
    CONF_ESCALATE_CLASSES,
    CONF_IGNORE_CLASSES,
    CONF_LOCAL_CLASSES,
    CONF_MIN_CONFIDENCE,
    CONF_RATE_LIMIT,
    DEFAULT_CRITICAL_CLASSES,
    DEFAULT_DEDUPE_WINDOW,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_RATE_LIMIT,
)
from .protocol import NodeMessage

MISSING_REMEMBERED = 256  # per node: the latest seqs counted as lost, so a late one can be recovered
# An alarm event covers its node's escalations around it, in the node's stream time (docs/integration.md, "An
# alarm and its fragments"): a node recognises an alarm's pattern seconds after it starts (the code needs whole
# cycles), and while it sounds it repeats the event once per detection interval (ESPHome's default 10 s).
ALARM_BEFORE_MS = 10_000
ALARM_AFTER_MS = 15_000


class Action(StrEnum):
    """What happens to a message."""

    LOCAL = "local"  # a detection handled without the GPU tier
    DIAGNOSE = "diagnose"  # ask the GPU tier
    IGNORE = "ignore"  # configured to be ignored
    DROP = "drop"  # rate-limited or within the dedupe window
    DUPLICATE = "duplicate"  # a seq already received from this boot (QoS 1 or a node's replay): dropped unseen
    PART_OF_ALARM = "part_of_alarm"  # an escalation within an alarm the node reported: the alarm, not diagnosed


@dataclass(frozen=True, slots=True)
class AlarmEpisode:
    """A critical alarm a node reported as an event, from its first report to its latest (same boot)."""

    node_id: str
    boot: str
    label: str
    alarm_code: str | None
    seq: int  # the report that started it
    first_ms: int  # the node's uptime_ms at its first and latest report
    last_ms: int

    def covers(self, node_id: str, boot: str, uptime_ms: int) -> bool:
        """A message of this node made from ALARM_BEFORE_MS before the first report to ALARM_AFTER_MS after
        the latest."""
        return (
            node_id == self.node_id
            and boot == self.boot
            and self.first_ms - ALARM_BEFORE_MS <= uptime_ms <= self.last_ms + ALARM_AFTER_MS
        )

    def takes(
        self,
        sent_for_diagnosis: bool,
        reason: str | None,
        node_id: str,
        boot: str,
        uptime_ms: int,
        alarm_active: bool | None = None,
    ) -> bool:
        """Whether a message is a fragment of the alarm: one sent for a diagnosis (the node's escalation, or a
        detection the hub escalates itself) that it covers, unless the user asked for it (`forced`: diagnosed
        all the same). From the first report on, a node that says whether its alarm was
        going on (`alarm_active`) is believed, so what it hears after the alarm stops is diagnosed again; what
        it made up to ALARM_BEFORE_MS before a report is the alarm heard before the node recognised it (at the
        onset, or again after a stretch it lost the code), which it could not know yet. The caller leaves out
        the alarm's own reports."""
        if not sent_for_diagnosis or reason == "forced":
            return False
        if alarm_active is not None and node_id == self.node_id and boot == self.boot and uptime_ms >= self.first_ms:
            return alarm_active or self.last_ms - ALARM_BEFORE_MS <= uptime_ms <= self.last_ms
        return self.covers(node_id, boot, uptime_ms)

    def summary(self) -> dict[str, Any]:
        """What an escalation it covers carries as `part_of_alarm` (events, the hub's recent messages)."""
        summary: dict[str, Any] = {"class": self.label, "seq": self.seq}
        if self.alarm_code is not None:
            summary["alarm_code"] = self.alarm_code
        return summary


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str
    critical: bool = False
    handled_by: str = "node"
    recovered: bool = False  # a seq counted as lost, delivered late (from the node's outbox)
    alarm: AlarmEpisode | None = None  # the alarm this message reported, or the one it is part of


@dataclass(frozen=True, slots=True)
class RouterPolicy:
    """The user's routing options (options flow)."""

    local_classes: frozenset[str] = frozenset()
    escalate_classes: frozenset[str] = frozenset()
    ignore_classes: frozenset[str] = frozenset()
    critical_classes: frozenset[str] = frozenset(DEFAULT_CRITICAL_CLASSES)
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT
    dedupe_window_s: float = DEFAULT_DEDUPE_WINDOW

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RouterPolicy:
        return cls(
            local_classes=frozenset(options.get(CONF_LOCAL_CLASSES, ())),
            escalate_classes=frozenset(options.get(CONF_ESCALATE_CLASSES, ())),
            ignore_classes=frozenset(options.get(CONF_IGNORE_CLASSES, ())),
            critical_classes=frozenset(options.get(CONF_CRITICAL_CLASSES, DEFAULT_CRITICAL_CLASSES)),
            min_confidence=float(options.get(CONF_MIN_CONFIDENCE, DEFAULT_MIN_CONFIDENCE)),
            rate_limit_per_minute=int(options.get(CONF_RATE_LIMIT, DEFAULT_RATE_LIMIT)),
            dedupe_window_s=float(options.get(CONF_DEDUPE_WINDOW, DEFAULT_DEDUPE_WINDOW)),
        )

    def asks_diagnosis(self, label: str, confidence: float) -> bool:
        """Whether the hub asks for a diagnosis of a message the node did not escalate itself: a class the user
        escalates, or one the node was unsure of."""
        return label in self.escalate_classes or confidence < self.min_confidence


@dataclass
class _NodeState:
    escalations: deque[float] = field(default_factory=deque)
    last_seen: dict[str, float] = field(default_factory=dict)  # class -> time of last acted-on message
    boot: str | None = None
    next_seq: int | None = None
    missing: set[int] = field(default_factory=set)  # seqs below next_seq never received, the latest few
    alarm: AlarmEpisode | None = None  # the node's latest alarm


class _Sequence(StrEnum):
    NEW = "new"
    RECOVERED = "recovered"
    DUPLICATE = "duplicate"


@dataclass
class Router:
    """Applies the policy; remembers per-node rate, dedupe and sequence state."""

    policy: RouterPolicy
    lost_messages: int = 0  # seqs skipped, less those delivered late
    recovered_messages: int = 0  # seqs counted as lost that arrived later
    duplicates: int = 0  # seqs received twice from the same boot
    _nodes: defaultdict[str, _NodeState] = field(default_factory=lambda: defaultdict(_NodeState))

    def _track_sequence(self, state: _NodeState, message: NodeMessage) -> _Sequence:
        """Count gaps as lost; a seq below the next expected is a late one (recovered) or a duplicate."""
        if state.boot != message.boot or state.next_seq is None:
            state.boot, state.next_seq = message.boot, message.seq + 1
            state.missing.clear()
            return _Sequence.NEW
        if message.seq < state.next_seq:
            if message.seq not in state.missing:
                self.duplicates += 1
                return _Sequence.DUPLICATE
            state.missing.discard(message.seq)
            self.lost_messages -= 1
            self.recovered_messages += 1
            return _Sequence.RECOVERED
        skipped = range(max(state.next_seq, message.seq - MISSING_REMEMBERED), message.seq)
        self.lost_messages += message.seq - state.next_seq
        state.missing.update(skipped)
        if len(state.missing) > MISSING_REMEMBERED:  # keep the latest: an outbox sends oldest first, soon
            state.missing = set(sorted(state.missing)[-MISSING_REMEMBERED:])
        state.next_seq = message.seq + 1
        return _Sequence.NEW

    def decide(self, message: NodeMessage, now: float) -> Decision:
        state = self._nodes[message.node_id]
        sequence = self._track_sequence(state, message)
        if sequence is _Sequence.DUPLICATE:  # already routed (and notified, if critical): nothing more to do
            return Decision(Action.DUPLICATE, "seq already received from this boot")
        if self.is_alarm_event(message.label, message.event_windows, message.alarm_code):
            state.alarm = _extend(state.alarm, message)
            decision = replace(self._route(state, message, now), alarm=state.alarm)
        elif state.alarm is not None and state.alarm.takes(
            message.kind == "escalation" or self.hub_escalates(message),
            message.reason,
            message.node_id,
            message.boot,
            message.uptime_ms,
            message.alarm_active,
        ):
            decision = Decision(
                Action.PART_OF_ALARM,
                "part of an alarm the node reported",
                message.label in self.policy.critical_classes,
                alarm=state.alarm,
            )
        else:
            decision = self._route(state, message, now)
        return replace(decision, recovered=True) if sequence is _Sequence.RECOVERED else decision

    def hub_escalates(self, message: NodeMessage) -> bool:
        """A detection the hub itself sends for a diagnosis (an unsure one, or of a class the user escalates):
        around an alarm it is as much a fragment of it as the node's escalations. Critical classes never are."""
        policy, label = self.policy, message.label
        if message.kind != "detection" or label in policy.critical_classes:
            return False
        if label in policy.ignore_classes or label in policy.local_classes:
            return False
        return policy.asks_diagnosis(label, message.confidence)

    def is_alarm_event(self, label: str, event_windows: int | None, alarm_code: str | None) -> bool:
        """A critical class reported as an event: its pattern held over seconds (docs/protocol.md §1)."""
        return label in self.policy.critical_classes and (event_windows is not None or alarm_code is not None)

    def _route(self, state: _NodeState, message: NodeMessage, now: float) -> Decision:
        label = message.label
        policy = self.policy
        critical = label in policy.critical_classes
        # an anomaly of the node's per-machine baseline is about the machine, not the class: the class policies
        # and the dedupe window do not apply to it (the node sends one escalation per anomaly)
        anomaly = message.kind == "escalation" and message.reason == "anomaly"
        exempt = critical or anomaly
        if label in policy.ignore_classes and not exempt:
            return Decision(Action.IGNORE, "class is ignored")
        last = state.last_seen.get(label)
        if last is not None and now - last < policy.dedupe_window_s and not exempt:
            return Decision(Action.DROP, "duplicate within the dedupe window", critical)
        state.last_seen[label] = now
        escalate = message.kind == "escalation"
        handled_by = "node"
        if label in policy.local_classes and not exempt:
            escalate = False
        elif policy.asks_diagnosis(label, message.confidence):
            escalate, handled_by = True, "node" if message.kind == "escalation" else "hub"
        if not escalate:
            return Decision(Action.LOCAL, "handled locally", critical, handled_by)
        window = state.escalations
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= policy.rate_limit_per_minute:
            return Decision(Action.DROP, "node exceeded its escalation rate limit", critical, handled_by)
        window.append(now)
        return Decision(Action.DIAGNOSE, "escalated", critical, handled_by)


def _extend(alarm: AlarmEpisode | None, message: NodeMessage) -> AlarmEpisode:
    """The node's alarm with this report in it: the same alarm while the reports come within its span, else a
    new one."""
    if alarm is not None and alarm.covers(message.node_id, message.boot, message.uptime_ms):
        first, last = min(alarm.first_ms, message.uptime_ms), max(alarm.last_ms, message.uptime_ms)
        return replace(alarm, first_ms=first, last_ms=last)
    return AlarmEpisode(
        message.node_id,
        message.boot,
        message.label,
        message.alarm_code,
        message.seq,
        message.uptime_ms,
        message.uptime_ms,
    )
