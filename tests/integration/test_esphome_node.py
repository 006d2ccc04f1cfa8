"""A real ESPHome node through Home Assistant's own esphome integration into BinMoE.

scripts/test builds `tests/esphome/nodes/host-sound.yaml` for the host platform (ESPHome's code generation +
g++), starts it and passes its address in BINMOE_HOST_NODE and a folder of clips in BINMOE_HOST_NODE_CLIPS.
Home Assistant's esphome integration connects to it over the native API; the node replays clips and fires
`esphome.binmoe_*` events, which the BinMoE hub must route. Without those variables the test is skipped.
(The GPU tier here is the named test double; the real engine has its own tests.)"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

NODE = os.environ.get("BINMOE_HOST_NODE")
CLIPS = os.environ.get("BINMOE_HOST_NODE_CLIPS")

pytestmark = pytest.mark.skipif(not NODE or not CLIPS, reason="BINMOE_HOST_NODE is not set (scripts/test ha sets it)")


def quiet(count: Any, seconds: float = 1.0) -> Any:
    """A condition that holds once `count()` has not changed for `seconds`."""
    last = [count(), time.monotonic()]

    def check() -> bool:
        if count() != last[0]:
            last[:] = [count(), time.monotonic()]
        return bool(time.monotonic() - last[1] >= seconds)

    return check


async def wait_for(condition: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_host_node_events_reach_the_binmoe_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, mock_bluetooth: Any, mock_async_zeroconf: Any
) -> None:
    host, port = (NODE or "").rsplit(":", 1)
    detections = async_capture_events(hass, "binmoe_detection")
    escalations = async_capture_events(hass, "binmoe_escalation")
    raw_detections = async_capture_events(hass, "esphome.binmoe_detection")
    raw_escalations = async_capture_events(hass, "esphome.binmoe_escalation")
    esphome_entry = MockConfigEntry(
        domain="esphome",
        data={"host": host, "port": int(port), "password": "", "noise_psk": None, "device_name": "binmoe-host-sound"},
    )
    esphome_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(esphome_entry.entry_id)
    await wait_for(lambda: hass.services.has_service("esphome", "binmoe_host_sound_replay"))

    def received() -> int:
        return len(raw_detections) + len(raw_escalations)

    # a 12 s smoke alarm (T3), then 3 s clips; how many messages a clip gives depends on the model, so each
    # replay runs until its messages stop (a new replay would cut the last one short)
    for clip in ("t3_12s.wav", "co_alarm.wav", "knock.wav"):
        before = received()
        await hass.services.async_call(
            "esphome", "binmoe_host_sound_replay", {"file": f"{CLIPS}/{clip}"}, blocking=True
        )
        await wait_for(lambda b=before: received() > b)
        await wait_for(quiet(received))
    await hass.async_block_till_done()

    hub = loaded_entry.runtime_data.hub
    node = hub.nodes["binmoe-host-sound"]
    device = dr.async_get(hass).async_get(node.device_id or "")
    assert device is not None and device.config_entry_id == esphome_entry.entry_id  # the esphome device
    sent = len(raw_detections) + len(raw_escalations)
    assert hub.stats.bad_payloads == 0  # every message the node sent is valid protocol v1
    assert node.messages == sent >= 12  # ... and reached the hub
    assert hub.router.lost_messages == 0  # seq without gaps
    # What the hub made of them (its own policy: dedupe, critical classes, rate limits) is in its events.
    raw_seqs = {int(e.data["seq"]) for e in raw_detections} | {int(e.data["seq"]) for e in raw_escalations}
    assert {e.data["seq"] for e in detections} | {e.data["seq"] for e in escalations} <= raw_seqs
    smoke = [e for e in detections if e.data["class"] == "smoke_alarm"]
    assert smoke and smoke[0].data["handled_by"] == "node"  # a critical class the node was sure of
    # ... recognised by the node by its temporal-three code (an alarm event over its last 19 windows); every
    # critical message of this node is one, so the notification names the pattern
    assert smoke[0].data["alarm_code"] == "T3" and smoke[0].data["confidence"] == 1.0
    assert smoke[0].data["event_span_ms"] == 19 * 512 and 1 <= smoke[0].data["event_windows"] <= 19
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "temporal-three (T3) alarm pattern" in notifications["binmoe_critical_binmoe-host-sound"]["message"]
    decisions = {"diagnose", "queued", "dropped", "ignored", "part_of_alarm"}
    assert {e.data["decision"] for e in escalations} <= decisions
    # the node's escalations around its alarm reports are the alarm's (docs/integration.md, "An alarm and its
    # fragments"): in the node's stream time, those made up to 10 s before one of its reports (diagnosed when
    # they came, marked in the hub's history since), and from the first report on those made while the node said
    # its alarm was going on (`alarm_active`, which this node sends in every message)
    reports = [int(e.data["uptime_ms"]) for e in [*detections, *escalations] if e.data.get("alarm_code")]
    first = min(reports)
    # (a detection the hub sent for a diagnosis, as unsure, is an escalation to the GPU tier too)
    marked = {item["seq"] for item in hub.recent if item["type"] != "diagnosis" and "part_of_alarm" in item}
    for e in escalations:
        if e.data.get("alarm_code") or e.data.get("event_windows"):
            continue  # an alarm's own report
        uptime, forced = int(e.data["uptime_ms"]), e.data.get("reason") == "forced"
        assert isinstance(e.data["alarm_active"], bool), e.data
        at_arrival = uptime >= first and e.data["alarm_active"] and not forced
        assert (e.data["decision"] == "part_of_alarm") == at_arrival, e.data
        if not at_arrival:  # routed when it came: taken back if sent for a diagnosis and a report came soon after
            later = any(r - 10_000 <= uptime < r for r in reports) and not forced
            sent_on = e.data["decision"] in ("diagnose", "queued")
            assert (int(e.data["seq"]) in marked) == (later and sent_on), e.data
    await hass.config_entries.async_unload(esphome_entry.entry_id)
