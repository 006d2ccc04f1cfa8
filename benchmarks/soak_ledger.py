"""The fault soak's accounting (benchmarks/fault_soak.py): what each node sent, by its own sequence numbers,
against what the hub recorded. Pure functions over log lines and records; standard library only, so the
Home Assistant tests can check that the hub's log lines parse (tests/integration/test_hub.py).

The hub logs one debug line per node message it routes and one per diagnosis (custom_components/binmoe:
hub.py, queue.py, backend.py); a node's messages carry `node_id`, `boot` and a per-boot `seq` that counts
every message the node made, sent or not (docs/protocol.md §1).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# HA's log format: "2026-12-03 07:50:01.123 DEBUG (MainThread) [custom_components.binmoe.hub] routed ..."
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ")
_REF = r"(?P<node>[a-z0-9_-]{1,64})/(?P<boot>[0-9a-f]{8})/(?P<seq>\d+)"
_ROUTED = re.compile(
    rf"[\]\s]routed {_REF} (?P<kind>detection|escalation) (?P<label>\S+): "
    r"(?P<outcome>local|diagnose|queued|ignore|drop|duplicate|part_of_alarm)(?P<critical> critical)?"
    r"(?P<recovered> recovered)?"
    r"(?: queued (?P<queued_ms>\d+) ms)?\s*$"
)
_DIAGNOSED = re.compile(rf"[\]\s]diagnosed {_REF}\s*$")
_QUEUE_DROPPED = re.compile(rf"[\]\s]queue full, dropped {_REF}\s*$")
_REFUSED = re.compile(rf"[\]\s]GPU tier refused (?:queued )?escalation {_REF}[,:]")
# an escalation routed before its node reported the alarm it belongs to, taken back (docs/integration.md)
_PART_OF_ALARM = re.compile(rf"[\]\s]part of an alarm: {_REF}\s*$")
# The ESPHome component's debug line for every message it builds (binmoe_component.cpp, handle_window_):
# "Detection: <class> (confidence ...)", "Escalation: <class> ..." or, for an alarm recognised by its code,
# "Detection: <class> (temporal-three code)"; "Escalation dropped (rate limit)" is the node's own rate
# limit, which allocates no sequence number.
_NODE_MESSAGE = re.compile(r"\]: (?P<kind>Detection|Escalation): (?P<label>\S+) \((?:confidence|temporal-)")

ESCALATED = ("diagnose", "queued")
DROPPED_BY_ROUTER = ("ignore", "drop", "part_of_alarm")


@dataclass(frozen=True, order=True)
class MessageRef:
    """A node's own name for one message."""

    node: str
    boot: str
    seq: int


@dataclass(frozen=True)
class Routed:
    """One `routed` line of the hub: a node message arrived and the router decided."""

    ref: MessageRef
    kind: str
    label: str
    outcome: str
    critical: bool
    at: float | None  # UNIX time of the log line (None when the line has no timestamp)
    recovered: bool = False  # the hub had counted its seq as lost: it came late, from the node's outbox
    queued_ms: int | None = None  # how long the node held it in its outbox (None: sent as it was made)


@dataclass
class HubRecord:
    """Everything the hub logged about node messages, over all of its runs (restarts included)."""

    routed: list[Routed] = field(default_factory=list)
    diagnosed: list[MessageRef] = field(default_factory=list)
    queue_dropped: list[MessageRef] = field(default_factory=list)
    refused: list[MessageRef] = field(default_factory=list)
    part_of_alarm: list[MessageRef] = field(default_factory=list)  # taken back after they were routed

    def add_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.add_line(line)

    def add_line(self, line: str) -> None:
        if match := _ROUTED.search(line):
            self.routed.append(
                Routed(
                    _ref(match),
                    match["kind"],
                    match["label"],
                    match["outcome"],
                    bool(match["critical"]),
                    log_time(line),
                    bool(match["recovered"]),
                    int(match["queued_ms"]) if match["queued_ms"] else None,
                )
            )
        elif match := _DIAGNOSED.search(line):
            self.diagnosed.append(_ref(match))
        elif match := _QUEUE_DROPPED.search(line):
            self.queue_dropped.append(_ref(match))
        elif match := _REFUSED.search(line):
            self.refused.append(_ref(match))
        elif match := _PART_OF_ALARM.search(line):
            self.part_of_alarm.append(_ref(match))


def _ref(match: re.Match[str]) -> MessageRef:
    return MessageRef(match["node"], match["boot"], int(match["seq"]))


def log_time(line: str) -> float | None:
    """UNIX time of a Home Assistant log line, read as UTC (the zone of the sid root and of this machine)."""
    if not (match := _LOG_TIME.match(line)):
        return None
    stamp = dt.datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def count_node_log_messages(lines: Iterable[str]) -> int:
    """How many messages (sequence numbers) the ESPHome node made, from its own debug log."""
    return sum(1 for line in lines if _NODE_MESSAGE.search(line))


@dataclass
class NodeCounts:
    """One node's figures for the soak's table."""

    node: str
    sent: int  # sequence numbers the node allocated (messages it made), 0 .. sent-1 in one boot
    received: int  # of those, how many the hub routed at least once (each seq once, however often it came)
    duplicates: int  # arrivals beyond the first of a message (QoS 1 or a replay; the hub logs them `duplicate`)
    local: int  # handled on the node (or by the hub) without the GPU tier
    escalated: int  # sent to the GPU tier for diagnosis, or queued for it
    diagnosed: int  # of the escalated, answered by the GPU tier
    still_queued: int  # escalated, neither answered nor dropped when the soak ended
    # the router's rate limit/dedupe/ignore, a full queue, a refusal by the GPU tier, part of an alarm (not diagnosed)
    dropped_by_policy: int
    lost: int  # sent, never routed by the hub
    lost_seqs: list[int]
    unknown: int  # routed seqs the node does not account for (>= sent): must be 0
    late: int = 0  # received from the node's outbox (queued_ms): made while the hub could not hear the node
    recovered: int = 0  # of those, how many the hub had counted as lost before they came (its own count)
    lost_from_full_outbox: int = 0  # of the lost, how many the node itself dropped from its full outbox


def node_counts(node: str, boot: str, sent: int, hub: HubRecord, outbox_dropped: Iterable[int] = ()) -> NodeCounts:
    """Compare one node boot's sequence numbers 0..sent-1 with what the hub recorded. `outbox_dropped`: the seqs
    the node says it dropped from its full outbox (when it knows)."""
    own = [r for r in hub.routed if r.ref.node == node and r.ref.boot == boot]
    times = Counter(r.ref.seq for r in own)
    first: dict[int, Routed] = {}  # a message counts once, by its seq: its first routing decides
    for r in own:
        if r.outcome != "duplicate":  # the hub's own duplicate line never comes first; be safe with log order
            first.setdefault(r.ref.seq, r)
    for r in own:
        first.setdefault(r.ref.seq, r)
    escalated = {seq for seq, r in first.items() if r.outcome in ESCALATED}
    diagnosed = {ref.seq for ref in hub.diagnosed if ref.node == node and ref.boot == boot} & escalated
    queue_dropped = {ref.seq for ref in hub.queue_dropped if ref.node == node and ref.boot == boot}
    refused = {ref.seq for ref in hub.refused if ref.node == node and ref.boot == boot}
    taken_back = {ref.seq for ref in hub.part_of_alarm if ref.node == node and ref.boot == boot}
    gone = (queue_dropped | refused | taken_back) & escalated - diagnosed
    router_dropped = {seq for seq, r in first.items() if r.outcome in DROPPED_BY_ROUTER}
    lost_seqs = sorted(set(range(sent)) - set(first))
    return NodeCounts(
        node=node,
        sent=sent,
        received=len(set(first) & set(range(sent))),
        duplicates=sum(n - 1 for n in times.values()),
        local=sum(1 for r in first.values() if r.outcome == "local"),
        escalated=len(escalated),
        diagnosed=len(diagnosed),
        still_queued=len(escalated - diagnosed - gone),
        dropped_by_policy=len(router_dropped) + len(gone),
        lost=len(lost_seqs),
        lost_seqs=lost_seqs,
        unknown=len(set(first) - set(range(sent))),
        late=sum(1 for r in first.values() if r.queued_ms is not None),
        recovered=sum(1 for r in first.values() if r.recovered),
        lost_from_full_outbox=len(set(outbox_dropped) & set(lost_seqs)),
    )


def boots_of(node: str, hub: HubRecord) -> list[str]:
    """The boots of a node the hub saw, in order of first appearance."""
    return list(dict.fromkeys(r.ref.boot for r in hub.routed if r.ref.node == node))


@dataclass(frozen=True)
class Fault:
    """One injected fault: from `start` until the component was back (`end`), UNIX times."""

    name: str
    start: float
    end: float


def faults_during(start: float, end: float, faults: Sequence[Fault]) -> list[str]:
    """Names of the faults whose window overlaps [start, end]."""
    return [f.name for f in faults if f.start <= end and start <= f.end]


def lost_runs(lost_seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of lost sequence numbers, as (first, last)."""
    runs: list[tuple[int, int]] = []
    for seq in lost_seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def gap_window(node: str, boot: str, run: tuple[int, int], hub: HubRecord) -> tuple[float | None, float | None]:
    """When a run of lost messages was made: between the hub's arrival times of its neighbours."""
    arrivals = {r.ref.seq: r.at for r in hub.routed if r.ref.node == node and r.ref.boot == boot}
    before = max((s for s in arrivals if s < run[0]), default=None)
    after = min((s for s in arrivals if s > run[1]), default=None)
    return (arrivals[before] if before is not None else None, arrivals[after] if after is not None else None)


@dataclass
class AlarmLatency:
    """Critical messages that reached the hub, and how long until a client saw the notification."""

    arrived: int = 0
    latencies_s: list[float] = field(default_factory=list)
    unobserved: int = 0  # no client was connected to see the notification (Home Assistant was starting)
    late_or_missing: int = 0  # a client was connected and saw nothing within the limit

    def within(self, limit_s: float) -> int:
        return sum(1 for latency in self.latencies_s if latency <= limit_s)

    def summary(self) -> str:
        if not self.latencies_s:
            return "none observed"
        ordered = sorted(self.latencies_s)
        return (
            f"median {statistics.median(ordered) * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms over {len(ordered)} observed"
        )


def alarm_latency(
    critical: Sequence[Routed],
    seen: Sequence[tuple[str, float]],
    watching: Sequence[tuple[float, float]],
    limit_s: float = 2.0,
    clock_slack_s: float = 0.002,
) -> AlarmLatency:
    """Match each critical message the hub routed (its log time = arrival) with the first later notification
    update a websocket client saw for its node (`seen`: node_id, UNIX time). `watching`: the (from, to)
    intervals the client was subscribed; arrivals outside them count as unobserved, not as failures.
    `clock_slack_s`: the log's millisecond truncation."""
    result = AlarmLatency()
    used: set[int] = set()
    for message in sorted(critical, key=lambda r: r.at or 0.0):
        result.arrived += 1
        arrival = message.at
        if arrival is None:
            result.unobserved += 1
            continue
        match = next(
            (
                i
                for i, (node, at) in enumerate(seen)
                if i not in used and node == message.ref.node and at >= arrival - clock_slack_s
            ),
            None,
        )
        observed = any(start <= arrival and arrival + limit_s <= end for start, end in watching)
        if match is not None and seen[match][1] - arrival <= limit_s:
            used.add(match)
            result.latencies_s.append(max(0.0, seen[match][1] - arrival))
        elif observed:
            result.late_or_missing += 1
        else:
            result.unobserved += 1
    return result
