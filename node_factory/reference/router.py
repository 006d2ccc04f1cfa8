"""The node's routing of classified windows into messages (`esphome/components/binmoe/binmoe_router.cpp`): the
reference the host node's messages are checked against (tests/esphome) and that benchmarks route with
(benchmarks/node_traffic.py, alarm_fragments.py), so both follow one definition of what a node sends."""

from __future__ import annotations

from dataclasses import dataclass, replace

from node_factory.reference.events import EventDetector, EventRule

# Classes the ESPHome component detects only on the second window of them in a row by default (its
# CONFIRMED_CLASSES, `confirm_windows: 2`; tests/esphome/test_configs.py checks the generated code against this)
CONFIRMED_CLASSES = frozenset({"doorbell"})


def confirmed_classes(classes: list[str] | tuple[str, ...]) -> frozenset[int]:
    """The indices of a model's classes that the component detects only on their second window in a row by default
    (`route`'s and `route_codes`' `confirmed`)."""
    return frozenset(i for i, name in enumerate(classes) if name in CONFIRMED_CLASSES)


@dataclass(frozen=True)
class Report:
    """What the router makes of a window that it does not leave alone: a message it sends (its kind, and the event
    fields when it reports an alarm event), or an escalation it drops over its limit (kind `dropped`, not sent)."""

    window: int
    kind: str  # detection | escalation | dropped
    event_windows: int | None = None
    event_span: int | None = None  # windows
    event_start: bool = False  # the event starts with this window (else a repeat, or no event)
    code_class: int | None = None  # an event recognised by its temporal code: its class (route_codes)
    alarm_active: bool | None = None  # one of the node's alarm events goes on (None: a node without rules)


def route(
    windows: list[tuple[int, bool]],
    rules: tuple[EventRule, ...],
    reported: set[int],
    interval_ms: int,
    hop_ms: int,
    first_ms: int = 0,
    confirmed: frozenset[int] = frozenset(),
) -> list[Report]:
    """The component's routing (binmoe_router.cpp) of (class, escalate) windows `hop_ms` apart, the first at
    `first_ms` of stream time, for a node whose escalation limit is never reached and nothing forced: an
    escalation whenever the margin is low, a detection of a `reported` class at most once per `interval_ms`
    (of a `confirmed` class only when the window before had that class too), and a class with an event rule
    reported only when its event starts and, while it goes on, again after each interval."""
    detector = EventDetector(rules)
    spans = {rule.class_idx: rule.span for rule in rules}
    last: dict[int, int] = {}
    out = []
    previous = -1
    for i, (c, escalate) in enumerate(windows):
        t = first_ms + i * hop_ms
        held = c in confirmed and previous != c
        previous = c
        fired = detector.push(c)
        active = _alarm_active(detector, rules)
        if c in spans:
            start = fired == c
            report = start or (detector.active(c) and (c not in last or t - last[c] >= interval_ms))
            if report:
                last[c] = t
                kind = "escalation" if escalate else "detection" if c in reported else None
                if kind is not None:
                    out.append(Report(i, kind, detector.count(c), spans[c], start, alarm_active=active))
        elif (plain := _plain_report(i, c, escalate, t, reported, last, interval_ms, held)) is not None:
            out.append(replace(plain, alarm_active=active))
    return out


def _alarm_active(detector: EventDetector, rules: tuple[EventRule, ...]) -> bool | None:
    """The protocol's `alarm_active`: whether an event of any rule goes on (None without rules)."""
    return any(detector.active(rule.class_idx) for rule in rules) if rules else None


def _plain_report(
    i: int, c: int, escalate: bool, t: int, reported: set[int], last: dict[int, int], interval_ms: int, held: bool
) -> Report | None:
    """A window of a class without an event rule: an escalation when its margin is low, else a detection of a
    `reported` class at most once per `interval_ms` (`last`: when each class was last reported, updated), unless
    it is `held` (a class reported only on the second window of it in a row, and the window before had another)."""
    if escalate:
        return Report(i, "escalation")
    if c in reported and not held and (c not in last or t - last[c] >= interval_ms):
        last[c] = t
        return Report(i, "detection")
    return None


class EscalationBucket:
    """The router's escalation limit (binmoe_router.cpp, `max_escalations_per_minute`): a token bucket over stream
    time that starts full, refills `per_minute` tokens a minute (a gap counts at most one minute) and holds at
    most `per_minute`; an escalation takes a token or is dropped (not sent)."""

    TOKEN = 60_000  # bucket units per token: one ms adds per_minute units

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.tokens = per_minute * self.TOKEN
        self.last_ms: int | None = None

    def refill(self, stream_ms: int) -> None:
        """Every window refills the bucket for the time since the last one."""
        if self.last_ms is not None:
            gap = stream_ms - self.last_ms
            self.tokens = min(self.tokens + min(gap, self.TOKEN) * self.per_minute, self.per_minute * self.TOKEN)
        self.last_ms = stream_ms

    def take(self) -> bool:
        if self.tokens < self.TOKEN:
            return False
        self.tokens -= self.TOKEN
        return True


def route_codes(
    windows: list[tuple[int, bool, int]],
    rules: tuple[EventRule, ...],
    reported: set[int],
    interval_ms: int,
    hop_ms: int,
    max_escalations_per_minute: int | None = None,
    confirmed: frozenset[int] = frozenset(),
) -> list[Report]:
    """The router with code events (binmoe_router.cpp, set_code_classes) for (class, escalate, code class or -1)
    windows: the event rules count windows whose code completed; an event's start, or a repeat of an event that
    goes on once its interval has passed, is what a window reports (a detection of the code's class, whatever
    the window's top class); otherwise a window is routed as before, except that a window of an alarm class
    alone is never reported. `max_escalations_per_minute`: the node's escalation limit (None: never reached);
    an escalation over it is dropped (a `dropped` report: nothing is sent; an alarm's report is never held back).
    `confirmed`: classes detected only on the second window of them in a row (the component's `confirm_windows: 2`,
    the sound node's default for doorbells)."""
    detector = EventDetector(rules)
    spans = {rule.class_idx: rule.span for rule in rules}
    bucket = EscalationBucket(max_escalations_per_minute) if max_escalations_per_minute is not None else None
    last: dict[int, int] = {}
    out = []
    previous = -1
    for i, (c, escalate, code) in enumerate(windows):
        t = i * hop_ms
        held = c in confirmed and previous != c
        previous = c
        if bucket is not None:
            bucket.refill(t)
        fired = detector.push(code)
        active = _alarm_active(detector, rules)
        event = fired
        for rule in rules if event is None else ():
            k = rule.class_idx
            if detector.active(k) and (k not in last or t - last[k] >= interval_ms):
                event = k
                break
        if event is not None:
            last[event] = t
            if event in reported:
                out.append(Report(i, "detection", detector.count(event), spans[event], fired == event, event, active))
        elif c in spans:
            continue
        elif escalate and bucket is not None and not bucket.take():
            out.append(Report(i, "dropped"))
        elif (plain := _plain_report(i, c, escalate, t, reported, last, interval_ms, held)) is not None:
            out.append(replace(plain, alarm_active=active))
    return out
