"""Event-level alarm detection on the node: the reference the C++ component matches decision for decision.

Smoke (T3) and CO (T4) alarms are defined over seconds, a window is one second: a window alone cannot tell
an alarm from one beep that looks like it, and a window in a pattern's silent gap shows no alarm at all. So
the node integrates: it keeps the top class of its last `span` windows and reports an alarm event of class
c when at least `need` of them are c. After an event of c, the next one needs `span` windows in a row
without c first (the alarm stopped), so one alarm is one event however long it sounds; the router's
detection interval still repeats the report while it goes on (`active`, `count`). One rule per class.

Integer state only, O(span) per window with span ≤ 32 (a 32-bit mask per class), no allocation.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventRule:
    """`need` windows of the class among the last `span` (hop-spaced) windows make an event."""

    class_idx: int
    need: int
    span: int

    def __post_init__(self) -> None:
        if not 1 <= self.need <= self.span <= 32:
            raise ValueError(f"need 1..span and span 1..32, not need={self.need} span={self.span}")


@dataclass
class EventDetector:
    rules: tuple[EventRule, ...]
    _seen: list[int] = field(init=False)  # per rule: bit i = the window i steps ago had the rule's class
    _armed: list[bool] = field(init=False)

    def __post_init__(self) -> None:
        classes = [rule.class_idx for rule in self.rules]
        if len(set(classes)) != len(classes) or min(classes, default=0) < 0:
            # two rules for one class would make one event wait for the other's window: one rule per class
            raise ValueError(f"one rule per class (class indices >= 0), not classes {classes}")
        self.reset()

    def reset(self) -> None:
        self._seen = [0] * len(self.rules)
        self._armed = [True] * len(self.rules)

    def push(self, top_class: int) -> int | None:
        """The next window's top class; returns the class of an event that starts now, or None."""
        fired = None
        for i, rule in enumerate(self.rules):
            mask = (1 << rule.span) - 1
            self._seen[i] = ((self._seen[i] << 1) | int(top_class == rule.class_idx)) & mask
            count = self._seen[i].bit_count()
            if count == 0:
                self._armed[i] = True  # span windows without the class: the alarm is over
            elif self._armed[i] and count >= rule.need and fired is None:
                self._armed[i] = False
                fired = rule.class_idx
        return fired

    def _rule(self, class_idx: int) -> int | None:
        return next((i for i, rule in enumerate(self.rules) if rule.class_idx == class_idx), None)

    def count(self, class_idx: int) -> int:
        """Windows with the class among its rule's last `span` (0 for a class without a rule)."""
        i = self._rule(class_idx)
        return 0 if i is None else self._seen[i].bit_count()

    def active(self, class_idx: int) -> bool:
        """An event of the class has started and the alarm is not over yet (its rule is disarmed)."""
        i = self._rule(class_idx)
        return i is not None and not self._armed[i]
