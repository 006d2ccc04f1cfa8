"""Home Assistant's routing of a node's messages, replayed: the integration's own `Router` (custom_components/binmoe/
router.py) with the default options decides every message, as the hub does when it arrives.

Runs inside Home Assistant's environment (`scripts/ha-env python -m benchmarks.hub_replay`), reading JSON lines from
stdin: `{"stream": NAME}` starts a stream (a new hub and node state), every other line is a message payload
(docs/protocol.md) whose `uptime_ms` is also the hub's clock. Writes one JSON object to stdout: per stream, the
count of each action (`local`, `diagnose`, `drop`, `ignore`, `part_of_alarm`, `duplicate`), the diagnoses asked by
the node (an escalation) and by the hub itself (a detection under the minimum confidence), local detections and
diagnoses per class, drops by reason, and critical notifications; with `--seqs` also `diagnosed_seqs`, the `seq` of
each message it asks the GPU tier to diagnose. `benchmarks/node_traffic.py` drives it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from custom_components.binmoe.protocol import InvalidMessage, parse_message
from custom_components.binmoe.router import Action, Router, RouterPolicy


def replay(lines: list[str], seqs: bool = False) -> dict[str, dict[str, Any]]:
    """Every stream's counts (see the module's docstring); a payload the hub would refuse is counted as invalid.
    `seqs`: each stream's also holds `diagnosed_seqs`, the messages it asked the GPU tier to diagnose."""
    streams: dict[str, Counter[str]] = {}
    diagnosed: dict[str, list[int]] = {}
    router, counts, asked = Router(RouterPolicy()), Counter[str](), list[int]()
    for line in lines:
        data = json.loads(line)
        if "stream" in data:
            router, counts, asked = Router(RouterPolicy()), Counter(), []
            streams[str(data["stream"])], diagnosed[str(data["stream"])] = counts, asked
            continue
        try:
            message = parse_message(data)
        except InvalidMessage:
            counts["invalid"] += 1
            continue
        decision = router.decide(message, message.uptime_ms / 1000)
        counts[decision.action.value] += 1
        if decision.action in (Action.LOCAL, Action.DIAGNOSE):  # what fires a binmoe_detection / asks the GPU tier
            counts[f"{decision.action.value}: {message.label}"] += 1
        if decision.action is Action.DIAGNOSE:
            counts[f"diagnose_by_{decision.handled_by}"] += 1
            asked.append(message.seq)
        if decision.action is Action.DROP:
            counts[f"drop: {decision.reason}"] += 1
        counts["critical"] += decision.critical
    result: dict[str, dict[str, Any]] = {name: dict(sorted(c.items())) for name, c in streams.items()}
    if seqs:
        for name, numbers in diagnosed.items():
            result[name]["diagnosed_seqs"] = numbers
    return result


def main() -> int:
    print(json.dumps(replay(sys.stdin.read().splitlines(), seqs="--seqs" in sys.argv[1:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
