"""Home Assistant's rule for an alarm's fragments (`AlarmEpisode.takes`, custom_components/binmoe/router.py), for
benchmarks that run outside Home Assistant's environment: its constants read from the integration's source, so the
two cannot drift, and the rule itself, which tests/integration/test_router.py checks against the real `Router`.
No imports beyond the standard library (Home Assistant's tests import it too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hub_rule() -> tuple[float, float]:
    """(before, after) in seconds: the hub's ALARM_BEFORE_MS and ALARM_AFTER_MS, from its source."""
    tree = ast.parse((ROOT / "custom_components/binmoe/router.py").read_text(encoding="utf-8"))
    values = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("ALARM_BEFORE_MS", "ALARM_AFTER_MS")
    }
    return values["ALARM_BEFORE_MS"] / 1000, values["ALARM_AFTER_MS"] / 1000


def hub_min_confidence() -> float:
    """The hub's default *Minimum confidence*: a detection under it is sent for a diagnosis by the hub itself."""
    tree = ast.parse((ROOT / "custom_components/binmoe/const.py").read_text(encoding="utf-8"))
    for node in tree.body:
        match node:
            case ast.AnnAssign(target=ast.Name(id="DEFAULT_MIN_CONFIDENCE"), value=ast.expr() as value):
                return float(ast.literal_eval(value))
    raise LookupError("DEFAULT_MIN_CONFIDENCE not found in custom_components/binmoe/const.py")


def covered(t: float, reports: list[float], before: float, after: float, active: bool | None = None) -> bool:
    """The hub's rule (`AlarmEpisode.takes`) for an escalation made at `t` by a node whose alarm reports came at
    `reports` (each starts or extends an alarm; the hub routes them in stream order, each taking back what it
    covers): from the first report on, a node that says whether its alarm is going on (`active`) has it taken
    while it says so and up to `before` ahead of any of the alarm's reports (the alarm heard before its code
    matched again after a stretch the node lost it); otherwise (before the first report, or nodes without that
    field) from `before` ahead of an alarm's first report to `after` past its latest."""
    if active is not None and reports and t >= reports[0]:
        return active or any(r - before <= t <= r for r in reports)
    # before the alarm's first report the hub cannot believe `alarm_active` yet: the time rule
    episodes: list[list[float]] = []  # [first, last] report of each alarm
    for r in reports:
        if episodes and r <= episodes[-1][1] + after:
            episodes[-1][1] = r
        else:
            episodes.append([r, r])
    return any(first - before <= t <= last + after for first, last in episodes)
