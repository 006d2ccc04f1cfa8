"""Set up a fresh Home Assistant the way a user's first visit does, over HA's own REST and websocket APIs:
onboarding (user, home location and units, analytics, the integration step), BinMoE's real config flow,
the demo ESPHome node through HA's own ESPHome config flow (its YAML puts it in the Kitchen), the BinMoE
dashboard; then play clips on the node and end with a diagnosis and the answer to a spoken question.

Used by scripts/demo: nothing is pre-seeded in .storage. Runs on the backend venv's Python (`websockets`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import demo_dashboard
from ha_client import HomeAssistant, http, wait_for

# What the onboarding's "Home location" step stores (a home in Amsterdam; any place works). Analytics stay off.
HOME = {
    "location_name": "BinMoE demo",
    "latitude": 52.3731339,
    "longitude": 4.8903147,
    "elevation": 0,
    "radius": 100,
    "unit_system": "metric",
    "time_zone": "Europe/Amsterdam",
    "currency": "EUR",
    "country": "NL",
    "language": "en",
}
NODE_AREA = "Kitchen"  # esphome/demo/binmoe-host-demo.yaml: `esphome: area:`
# (clip, seconds, diagnose), from scripts/lib/make_clips.py. The alarm is t3_12s.wav, a smoke alarm sounding its
# T3 pattern for three cycles as a real one does; the 3 s class clips hold less than one cycle of an alarm
# pattern. `diagnose`: a second into the clip the demo calls the node's `diagnose` action (binmoe.force_escalation,
# as a "diagnose this" button would), so the escalation path to the GPU tier shows whatever the model is sure of
DEMO_CLIPS = [("doorbell.wav", 3, False), ("knock.wav", 3, False), ("water_running.wav", 3, True),
              ("t3_12s.wav", 13, False)]  # fmt: skip
DIAGNOSE_AFTER_S = 1.0
QUESTION = "Why did the kitchen alarm go off?"
# Home Assistant's own notice that it runs as a "Core" installation (in a Python environment), which HA has
# not supported since 2025.12: true of how the demo runs it; only HA OS or HA Container make it go away.
INSTALLATION_NOTICE = ("homeassistant", "deprecated_method")
ONBOARDING_ONLINE = ("met", "radio_browser", "google_translate")  # what onboarding adds that needs the internet


def onboard(ha: str, user: str, password: str) -> HomeAssistant:
    """Every onboarding step, as the frontend's wizard sends them; returns the new user's session."""
    client_id = f"{ha}/"
    created = http(
        f"{ha}/api/onboarding/users",
        {"client_id": client_id, "name": "Demo", "username": user, "password": password, "language": "en"},
    )
    tokens = http(
        f"{ha}/auth/token",
        {"grant_type": "authorization_code", "code": created["auth_code"], "client_id": client_id},
        form=True,
    )
    session = HomeAssistant(ha, tokens["access_token"])
    session.ws("config/core/update", **HOME)  # the wizard's "Home location" step
    session.post("/api/onboarding/core_config", {})
    session.post("/api/onboarding/analytics", {})
    session.post("/api/onboarding/integration", {"client_id": client_id, "redirect_uri": f"{ha}/?auth_callback=1"})
    pending = [step["step"] for step in http(f"{ha}/api/onboarding") if not step["done"]]
    if pending:
        raise SystemExit(f"onboarding steps left undone: {pending}")
    print("Home Assistant onboarded: user 'demo', home location, metric units, analytics, integrations")
    return session


def start_flow(session: HomeAssistant, handler: str, data: dict[str, Any]) -> dict[str, Any]:
    flow = session.post("/api/config/config_entries/flow", {"handler": handler})
    result: dict[str, Any] = session.post(f"/api/config/config_entries/flow/{flow['flow_id']}", data)
    if result.get("type") != "create_entry":
        raise SystemExit(f"the {handler} config flow did not create an entry: {result}")
    return result


def wait_loaded(session: HomeAssistant, domain: str, seconds: float = 60) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        entries = session.get(f"/api/config/config_entries/entry?domain={domain}")
        if entries and entries[0]["state"] == "loaded":
            return entries[0]
        time.sleep(1)
    raise SystemExit(f"the {domain} entry did not load: {entries}")


def states_with_prefix(session: HomeAssistant, prefix: str) -> dict[str, Any]:
    return {s["entity_id"]: s for s in session.get("/api/states") if s["entity_id"].startswith(prefix)}


def adopt_node(session: HomeAssistant, node: str) -> dict[str, Any]:
    """Add the node with HA's ESPHome config flow; returns its device, which must be in NODE_AREA."""
    host, port = node.rsplit(":", 1)
    entry_id = start_flow(session, "esphome", {"host": host, "port": int(port)})["result"]["entry_id"]
    wait_loaded(session, "esphome")
    deadline = time.monotonic() + 60
    while not (devices := [d for d in session.ws("config/device_registry/list") if entry_id in d["config_entries"]]):
        if time.monotonic() > deadline:
            raise SystemExit("the ESPHome entry made no device for the demo node")
        time.sleep(1)
    areas = {a["area_id"]: a["name"] for a in session.ws("config/area_registry/list")}
    if len(devices) != 1 or areas.get(devices[0]["area_id"] or "") != NODE_AREA:
        raise SystemExit(f"the demo node's device is not in the {NODE_AREA} area: {devices}")
    print(f"ESPHome node {devices[0]['name']} at {node} adopted by Home Assistant's ESPHome integration, "
          f"area {NODE_AREA}")  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(d["domain"] == "esphome" and "binmoe_demo_replay" in d["services"]
                  for d in session.get("/api/services")):  # fmt: skip
        if time.monotonic() > deadline:
            raise SystemExit("the node's replay action did not appear as esphome.binmoe_demo_replay")
        time.sleep(1)
    device: dict[str, Any] = devices[0]
    return device


def hub_counts(session: HomeAssistant) -> dict[str, Any]:
    hub = states_with_prefix(session, "sensor.binmoe_hub_")

    def number(key: str) -> int:
        state = hub.get(f"sensor.binmoe_hub_{key}", {}).get("state", "unknown")
        return 0 if state in ("unknown", "unavailable") else int(float(state))

    diagnosis = hub.get("sensor.binmoe_hub_last_diagnosis")
    return {
        "local": number("handled_locally"),
        "escalated": number("escalations"),
        "queued": number("queue_length"),
        "diagnosis": diagnosis if diagnosis and diagnosis["state"] not in ("unknown", "unavailable") else None,
    }


def heard(event: dict[str, Any]) -> str:
    """One node message as the hub routed it, e.g. 'smoke alarm (T3 alarm pattern), handled on the node' or
    'knock 52 %, escalated'."""
    data = event["data"]
    name = str(data.get("class")).replace("_", " ")
    if data.get("alarm_code"):
        what = f"{name} ({data['alarm_code']} alarm pattern)"
    else:
        what = f"{name} {100 * float(data.get('confidence', 0)):.0f} %"
        if data.get("event_windows"):
            what += " (alarm event)"
    if event["event_type"] == "binmoe_detection":
        return f"{what}, handled on the node"
    routed = ROUTED.get(str(data.get("decision")), str(data.get("decision")))
    return f"{what}, {routed}" + (" (asked for)" if data.get("reason") == "forced" else "")


ROUTED = {"diagnose": "escalated", "queued": "escalated (queued)", "ignored": "ignored", "dropped": "dropped"}


def play_clips(session: HomeAssistant, clips: Path) -> dict[str, Any]:
    """Play the clips on the node in real time, say what the node reported for each; wait until the GPU tier
    has diagnosed every escalation."""
    session.ws("subscribe_events", event_type="binmoe_detection")
    session.ws("subscribe_events", event_type="binmoe_escalation")
    for clip, seconds, diagnose in DEMO_CLIPS:
        session.post("/api/services/esphome/binmoe_demo_replay", {"file": str(clips / clip)})
        if diagnose:
            time.sleep(DIAGNOSE_AFTER_S)
            session.post("/api/services/esphome/binmoe_demo_diagnose", {})
        time.sleep(seconds + 1.5 - (DIAGNOSE_AFTER_S if diagnose else 0))  # real time; the last window follows
        reports = [heard(event) for event in session.received_events()]
        asked = f", asked to diagnose it after {DIAGNOSE_AFTER_S:.0f} s" if diagnose else ""
        print(f"  node plays {clip}{asked}: " + ("; ".join(reports) if reports else "nothing worth reporting"))
    deadline = time.monotonic() + 180
    counts = hub_counts(session)
    while time.monotonic() < deadline:
        counts = hub_counts(session)
        routed = counts["local"] + counts["escalated"]
        if routed and not counts["queued"] and (counts["diagnosis"] or not counts["escalated"]):
            break
        time.sleep(2)
    if counts["local"] + counts["escalated"] == 0:
        raise SystemExit("no node message reached the BinMoE hub within 180 s (see the node's log)")
    print(f"  BinMoE hub: handled on the node {counts['local']}, escalated {counts['escalated']}")
    return counts


def alarm_fragments(session: HomeAssistant, entry_id: str) -> None:
    """The escalations the hub took as part of an alarm the node reported (docs/integration.md, "An alarm and its
    fragments"), from the entry's diagnostics download."""
    recent = session.get(f"/api/diagnostics/config_entry/{entry_id}")["data"]["recent"]
    taken = [item for item in recent if item.get("type") == "escalation" and item.get("part_of_alarm")]
    for item in taken:
        alarm = item["part_of_alarm"]
        code = f" ({alarm['alarm_code']} alarm pattern)" if alarm.get("alarm_code") else ""
        name = str(item.get("class")).replace("_", " ")
        print(f"  taken as part of the {str(alarm['class']).replace('_', ' ')}{code}: {name} "
              f"{100 * float(item.get('confidence', 0)):.0f} % (not the last diagnosis)")  # fmt: skip


def node_sensors(session: HomeAssistant, node_device: dict[str, Any]) -> str:
    """The node's own sensors (ESPHome entities of its device), e.g. 'Confidence 97.0 %' or 'Smoke alarm off'."""
    registry = session.ws("config/entity_registry/list")
    wanted = {
        e["entity_id"]
        for e in registry
        if e["device_id"] == node_device["id"] and e["entity_id"].startswith(("sensor.", "binary_sensor."))
    }
    parts = []
    for state in sorted(session.get("/api/states"), key=lambda s: s["entity_id"]):
        if state["entity_id"] not in wanted:
            continue
        name = str(state["attributes"].get("friendly_name", "")).removeprefix(str(node_device["name"])).strip()
        value = state["state"]
        with contextlib.suppress(ValueError):
            value = f"{float(value):.1f}"
        parts.append(f"{name} {value} {state['attributes'].get('unit_of_measurement', '')}".strip())
    return ", ".join(parts)


def add_dashboard(session: HomeAssistant, node_device: dict[str, Any]) -> None:
    """The BinMoE dashboard in the sidebar (storage mode, as *Settings → Dashboards → Add* makes it)."""
    registry = session.ws("config/entity_registry/list")
    hub = demo_dashboard.hub_entities(registry)
    binmoe_devices = {
        d["id"] for d in session.ws("config/device_registry/list") if d["via_device_id"] == node_device["id"]
    }
    nodes = {
        f"{node_device['name']} · {NODE_AREA}": demo_dashboard.node_entities(
            registry, {node_device["id"], *binmoe_devices}
        )
    }
    session.ws(
        "lovelace/dashboards/create",
        url_path=demo_dashboard.URL_PATH,
        title=demo_dashboard.TITLE,
        icon="mdi:ear-hearing",
        show_in_sidebar=True,
        require_admin=False,
        mode="storage",
    )
    session.ws(
        "lovelace/config/save",
        url_path=demo_dashboard.URL_PATH,
        config=demo_dashboard.dashboard(hub, nodes, graph_hours=0.25),
    )
    print(f"BinMoE dashboard: {session.base}/{demo_dashboard.URL_PATH}/overview")


def remove_failed_onboarding_entries(session: HomeAssistant) -> None:
    """Onboarding adds Met.no, Radio Browser and Google Translate; offline, and without their packages (HA runs
    with --skip-pip), they cannot work. Remove the entries that failed, as a user would, and say so."""
    for entry in session.get("/api/config/config_entries/entry"):
        if entry["domain"] in ONBOARDING_ONLINE and entry["state"] in ("setup_error", "setup_retry", "not_loaded"):
            session.delete(f"/api/config/config_entries/entry/{entry['entry_id']}")
            print(
                f"removed {entry['title']!r}, which onboarding added and which failed to set up here ({entry['state']})"
            )


def active_repairs(session: HomeAssistant) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = session.ws("repairs/list_issues")["issues"]
    return [i for i in issues if not i["ignored"] and i["dismissed_version"] is None]


def finale(session: HomeAssistant, counts: dict[str, Any]) -> None:
    """What a user reads and hears at the end: the last diagnosis and the answer to a spoken question."""
    if diagnosis := counts["diagnosis"]:
        attrs = diagnosis["attributes"]
        print(
            f"  last diagnosis ({attrs.get('class')} on {attrs.get('node_id')}, severity {attrs.get('severity')}, "
            f"by {attrs.get('model')}): {attrs.get('summary')} Recommended: {attrs.get('recommended_action')}"
        )
    elif counts["escalated"]:
        print("  (the GPU tier is still diagnosing the escalations; on a CPU this can take a while)")
    reply = session.post("/api/conversation/process", {"text": QUESTION, "language": "en"})
    speech = reply["response"]["speech"]["plain"]["speech"]
    print(f'  you ask: "{QUESTION}"\n  Home Assistant answers: "{speech}"')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ha", required=True, help="Home Assistant base URL")
    parser.add_argument("--backend", required=True, help="BinMoE gateway URL as HA should reach it")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="binmoe-demo")
    parser.add_argument("--node", required=True, help="host:port of the demo ESPHome node")
    parser.add_argument("--clips", type=Path, required=True, help="folder of the node's WAV clips")
    parser.add_argument("--check", action="store_true", help="fail on repair issues")
    args = parser.parse_args()
    ha = args.ha.rstrip("/")
    wait_for(f"{ha}/api/onboarding", 180)
    session = onboard(ha, args.user, args.password)
    start_flow(session, "binmoe", {"url": args.backend, "api_key": args.api_key})
    entry = wait_loaded(session, "binmoe")
    print(f"BinMoE config entry {entry['title']!r} is loaded (entry_id {entry['entry_id']})")
    node_device = adopt_node(session, args.node)
    counts = play_clips(session, args.clips)
    alarm_fragments(session, entry["entry_id"])
    print(f"  node's own sensors: {node_sensors(session, node_device)}")
    add_dashboard(session, node_device)
    finale(session, counts)
    remove_failed_onboarding_entries(session)
    repairs = active_repairs(session)
    session.close()
    ours = [i for i in repairs if (i["domain"], i["issue_id"]) != INSTALLATION_NOTICE]
    for issue in ours:
        print(f"  repair issue: {issue['domain']}.{issue['issue_id']} ({issue['translation_placeholders']})")
    if ours and args.check:
        raise SystemExit(f"{len(ours)} repair issue(s) of the demo's making")
    notice = " (and Home Assistant's notice that it runs as a Core installation)" if len(ours) < len(repairs) else ""
    print(f"repair issues of the demo's making: {len(ours)}{notice}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
