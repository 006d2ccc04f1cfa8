"""The node's router reference (node_factory/reference/router.py): its escalation limit. Window by window against
the C++ router: tests/esphome/test_events.py."""

from __future__ import annotations

from node_factory.reference.events import EventRule
from node_factory.reference.router import EscalationBucket, route_codes

HOP_MS = 512


def test_the_bucket_starts_full_and_refills_one_token_per_share_of_a_minute() -> None:
    bucket = EscalationBucket(6)
    bucket.refill(0)
    assert [bucket.take() for _ in range(7)] == [True] * 6 + [False]
    bucket.refill(9_999)  # a token is 10 s at 6 a minute
    assert not bucket.take()
    bucket.refill(10_000)
    assert bucket.take() and not bucket.take()
    bucket.refill(10_000 + 3_600_000)  # an hour's gap refills one minute's worth, no more
    assert sum(bucket.take() for _ in range(10)) == 6


def test_escalations_over_the_limit_are_dropped_and_alarm_reports_never() -> None:
    rules = (EventRule(1, 1, 8),)
    # 25 low-margin windows of class 0 (0.512 s apart), then a T3 code (class 1) in a low-margin window
    windows = [(0, True, -1)] * 25 + [(0, True, 1)]
    sent = route_codes(windows, rules, {0, 1}, 10_000, HOP_MS, max_escalations_per_minute=6)
    escalations = [r.window for r in sent if r.kind == "escalation"]
    # 6 at once; the 7th once the refill since the start (one token per 10 s) has made a whole token: window 20
    assert escalations == [0, 1, 2, 3, 4, 5, 20]
    assert [r.window for r in sent if r.kind == "dropped"] == [*range(6, 20), *range(21, 25)]  # nothing sent
    assert [(r.window, r.kind, r.code_class) for r in sent if r.code_class is not None] == [(25, "detection", 1)]
    unlimited = route_codes(windows, rules, {0, 1}, 10_000, HOP_MS)
    assert sum(r.kind == "escalation" for r in unlimited) == 25
