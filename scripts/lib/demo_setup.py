"""Drive a fresh Home Assistant through onboarding and BinMoE's real config flow, over HA's REST API, then
adopt the demo ESPHome node through Home Assistant's own ESPHome config flow and play clips on it.

Used by scripts/demo: nothing is pre-seeded in .storage; the integrations are added exactly as a user
would add them in the UI. Standard library only (runs on the host Python).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any


def call(url: str, data: Any = None, token: str | None = None, form: bool = False) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return  # HA answers (e.g. 401): it is up
        except OSError:
            time.sleep(1)
    raise SystemExit(f"Home Assistant did not answer at {url} within {timeout:.0f} s")


def onboard(ha: str, user: str, password: str) -> str:
    """Create the owner of a fresh Home Assistant (onboarding) and return an access token (30 min)."""
    client_id = f"{ha}/"
    wait_for(f"{ha}/api/onboarding", 180)
    created = call(
        f"{ha}/api/onboarding/users",
        {"client_id": client_id, "name": "Demo", "username": user, "password": password, "language": "en"},
    )
    tokens = call(
        f"{ha}/auth/token",
        {"grant_type": "authorization_code", "code": created["auth_code"], "client_id": client_id},
        form=True,
    )
    return str(tokens["access_token"])


def start_flow(ha: str, token: str, handler: str, data: dict[str, Any]) -> dict[str, Any]:
    flow = call(f"{ha}/api/config/config_entries/flow", {"handler": handler}, token)
    result: dict[str, Any] = call(f"{ha}/api/config/config_entries/flow/{flow['flow_id']}", data, token)
    if result.get("type") != "create_entry":
        raise SystemExit(f"the {handler} config flow did not create an entry: {result}")
    return result


def wait_loaded(ha: str, token: str, domain: str, seconds: float = 60) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries = call(f"{ha}/api/config/config_entries/entry?domain={domain}", token=token)
        if entries and entries[0]["state"] == "loaded":
            return entries[0]
        time.sleep(1)
    raise SystemExit(f"the {domain} entry did not load: {entries}")


def states_with_prefix(ha: str, token: str, prefix: str) -> dict[str, Any]:
    return {s["entity_id"]: s for s in call(f"{ha}/api/states", token=token) if s["entity_id"].startswith(prefix)}


def run_node(ha: str, token: str, node: str, clips: Path) -> None:
    """Adopt the node (ESPHome config flow), play clips in real time, report what BinMoE made of them."""
    host, port = node.rsplit(":", 1)
    start_flow(ha, token, "esphome", {"host": host, "port": int(port)})
    wait_loaded(ha, token, "esphome")
    print(f"ESPHome node binmoe-demo at {node} adopted by Home Assistant's ESPHome integration")
    deadline = time.monotonic() + 60
    while not any(d["domain"] == "esphome" and "binmoe_demo_replay" in d["services"]
                  for d in call(f"{ha}/api/services", token=token)):  # fmt: skip
        if time.monotonic() > deadline:
            raise SystemExit("the node's replay action did not appear as esphome.binmoe_demo_replay")
        time.sleep(1)
    for clip in DEMO_CLIPS:
        print(f"  node plays {clip}")
        call(f"{ha}/api/services/esphome/binmoe_demo_replay", {"file": str(clips / clip)}, token)
        time.sleep(3.5)  # the clips are 3 s, played in real time
    deadline = time.monotonic() + 180
    counts: dict[str, int] = {}
    diagnosis: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        hub = states_with_prefix(ha, token, "sensor.binmoe_")
        counts = {key: sum(int(float(s["state"])) for e, s in hub.items()
                           if e.endswith(key) and s["state"] not in ("unknown", "unavailable"))
                  for key in ("_handled_locally", "_escalations")}  # fmt: skip
        last = [
            s for e, s in hub.items() if e.endswith("_last_diagnosis") and s["state"] not in ("unknown", "unavailable")
        ]
        diagnosis = last[0] if last else None
        if counts["_handled_locally"] + counts["_escalations"] > 0 and (diagnosis or not counts["_escalations"]):
            break
        time.sleep(2)
    if not counts or counts["_handled_locally"] + counts["_escalations"] == 0:
        raise SystemExit("no node message reached the BinMoE hub within 180 s (see .demo/node.log)")
    parts = []
    for entity, state in sorted(states_with_prefix(ha, token, "sensor.binmoe_demo_node_").items()):
        unit = state["attributes"].get("unit_of_measurement", "")
        value = state["state"]
        with contextlib.suppress(ValueError):
            value = f"{float(value):.1f}"
        parts.append(f"{entity.removeprefix('sensor.binmoe_demo_node_')} {value} {unit}".strip())
    print(f"  node's own sensors: {', '.join(parts)}")
    print(f"  BinMoE hub: handled on the node {counts['_handled_locally']}, escalated {counts['_escalations']}")
    if diagnosis:
        attrs = diagnosis["attributes"]
        print(f"  last diagnosis from the GPU tier: {diagnosis['state']!r} (severity {attrs.get('severity')})")
    elif counts["_escalations"]:
        print("  (the GPU tier is still diagnosing the escalations; on a CPU this can take a while)")


DEMO_CLIPS = ["smoke_alarm.wav", "doorbell.wav", "knock.wav", "co_alarm.wav", "water_running.wav"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ha", required=True, help="Home Assistant base URL")
    parser.add_argument("--backend", required=True, help="BinMoE gateway URL as HA should reach it")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="binmoe-demo")
    parser.add_argument("--node", help="host:port of the demo ESPHome node (optional)")
    parser.add_argument("--clips", type=Path, help="folder of the node's WAV clips")
    args = parser.parse_args()
    ha = args.ha.rstrip("/")
    token = onboard(ha, args.user, args.password)
    start_flow(ha, token, "binmoe", {"url": args.backend, "api_key": args.api_key})
    entry = wait_loaded(ha, token, "binmoe")
    print(f"BinMoE config entry {entry['title']!r} is loaded (entry_id {entry['entry_id']})")
    if args.node and args.clips:
        run_node(ha, token, args.node, args.clips)
    return 0


if __name__ == "__main__":
    sys.exit(main())
