"""The hub in a real Home Assistant: node messages routed into events, entities, notifications and
diagnoses. The GPU tier is the named BackendDouble (test_real_backend.py uses the real one)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble
from .helpers import capture, esphome_payload, fire, setup_entry, state

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocol" / "valid"


async def test_detection_is_handled_locally(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    detections = capture(hass, "binmoe_detection")
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.95, "margin": 9})
    assert [e.data["class"] for e in detections] == ["knock"]
    assert detections[0].data["handled_by"] == "node"
    assert state(hass, "sensor.binmoe_hub_handled_locally") == "1"
    assert state(hass, "sensor.binmoe_hub_escalations") == "0"
    event_state = hass.states.get("event.hallway_sound_detection")
    assert event_state is not None and event_state.attributes["event_type"] == "knock"
    assert state(hass, "sensor.hallway_sound_share_of_reports_escalated") == "0.0"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_escalation_is_diagnosed(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    escalations = capture(hass, "binmoe_escalation")
    diagnoses = capture(hass, "binmoe_diagnosis")
    await fire(hass)
    assert [e.data["decision"] for e in escalations] == ["diagnose"]
    assert len(diagnoses) == 1
    assert diagnoses[0].data["node_id"] == "hallway-sound"
    assert diagnoses[0].data["class"] == "smoke_alarm"
    sent = [body for name, body in backend.requests if name == "diagnose"]
    assert sent[0]["escalation"]["seq"] == 7 and sent[0]["escalation"]["scores"] == [2, 9, 8, 0, -3, 1, -5, 0]
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "double cause for smoke_alarm"
    assert state(hass, "sensor.hallway_sound_share_of_reports_escalated") == "100.0"
    assert float(state(hass, "sensor.binmoe_hub_backend_latency_p50")) > 0
    # smoke alarm is critical: a notification right away
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    alarm = notifications["binmoe_critical_hallway-sound"]
    assert "smoke alarm" in alarm["message"] and alarm["title"] == "BinMoE alarm"
    assert "sounded in" not in alarm["message"]  # one window, not a node's alarm event


async def test_an_alarm_event_is_notified_as_a_sustained_pattern(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    detections, escalations = capture(hass, "binmoe_detection"), capture(hass, "binmoe_escalation")
    await fire(hass, "detection", confidence=0.93, margin=9, event_windows=5, event_span_ms=4096)
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert notifications["binmoe_critical_hallway-sound"]["message"] == (
        "Node **hallway-sound** detected **smoke alarm** (sounded in 5 windows over the last 4.1 s; confidence 93%)."
    )
    await fire(hass, "escalation", seq=8, event_windows=2, event_span_ms=6144)
    # the events carry the fields in their protocol form (numbers)
    assert (detections[0].data["event_windows"], detections[0].data["event_span_ms"]) == (5, 4096)
    assert (escalations[0].data["event_windows"], escalations[0].data["event_span_ms"]) == (2, 6144)
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "sounded in 2 windows over the last 6.1 s" in notifications["binmoe_critical_hallway-sound"]["message"]


async def test_an_alarm_recognised_by_its_code_is_notified_by_its_pattern(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    detections = capture(hass, "binmoe_detection")
    await fire(hass, "detection", **{"class": "co_alarm", "class_idx": 2, "confidence": 1.0, "margin": 3,
                                     "event_windows": 1, "event_span_ms": 6144, "alarm_code": "T4"})  # fmt: skip
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert notifications["binmoe_critical_hallway-sound"]["message"] == (
        "Node **hallway-sound** detected **co alarm** (it sounded the temporal-four (T4) alarm pattern)."
    )
    assert detections[0].data["alarm_code"] == "T4"
    await fire(hass, "detection", seq=8, alarm_code="T5")  # not a code: the message is refused
    assert len(detections) == 1


async def test_a_critical_alarm_over_the_rate_limit_is_still_notified(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """The rate limit bounds diagnoses; it never silences a smoke or CO alarm."""
    await setup_entry(hass, config_entry, rate_limit_per_minute=1)
    await fire(hass, seq=1)
    persistent_notification.async_dismiss(hass, "binmoe_critical_hallway-sound")
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, seq=2)
    assert [e.data["decision"] for e in escalations] == ["dropped"]  # not diagnosed ...
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "smoke alarm" in notifications["binmoe_critical_hallway-sound"]["message"]  # ... but notified


async def test_every_message_is_logged_with_the_nodes_sequence_number(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """One debug line per message routed and per diagnosis, with node, boot and seq: what the fault soak counts
    (benchmarks/soak_ledger.py parses these very lines)."""
    from benchmarks.soak_ledger import HubRecord, MessageRef

    caplog.set_level(logging.DEBUG, logger="custom_components.binmoe")
    await setup_entry(hass, config_entry, dedupe_window_s=30)
    await fire(hass, "detection", seq=1, **{"class": "knock", "confidence": 0.95, "margin": 9})
    await fire(hass, "detection", seq=2, **{"class": "knock", "confidence": 0.95, "margin": 9})  # duplicate
    await fire(hass, seq=3)
    record = HubRecord()
    record.add_lines(caplog.text.splitlines())
    outcomes = [(r.ref.seq, r.kind, r.label, r.outcome, r.critical) for r in record.routed]
    assert outcomes == [
        (1, "detection", "knock", "local", False),
        (2, "detection", "knock", "drop", False),
        (3, "escalation", "smoke_alarm", "diagnose", True),
    ]
    assert record.diagnosed == [MessageRef("hallway-sound", "0badc0de", 3)]


async def test_escalation_carries_area_hour_and_the_nodes_earlier_messages(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """The diagnosis expert weighs where the node is and what it reported before (repetition, interval)."""
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.95, "margin": 9, "seq": 5, "uptime_ms": 60000})
    node_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{loaded_entry.entry_id}_hallway-sound"), loaded_entry.entry_id
    )
    assert node_device is not None
    area = ar.async_get(hass).async_create("Front Hall")
    dr.async_get(hass).async_update_device(node_device.id, area_id=area.id)
    await fire(hass, **{"seq": 6, "uptime_ms": 100000})
    await fire(hass, **{"seq": 7, "uptime_ms": 140000})
    first, second = [body for name, body in backend.requests if name == "diagnose"]
    assert first["context"]["area"] == second["context"]["area"] == "Front Hall"
    assert 0 <= second["context"]["local_hour"] <= 23
    assert [m["seq"] for m in first["context"]["recent"]] == [5]
    assert [m["seq"] for m in second["context"]["recent"]] == [5, 6]  # not itself, not diagnoses
    assert all("decision" not in m and "type" not in m for m in second["context"]["recent"])


async def test_a_capture_goes_to_the_gpu_tier_with_its_escalation_only(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """Fault identification: the capture (tens of KB) is forwarded with its escalation, not in later contexts."""
    orders = json.loads((FIXTURES / "vibration_escalation_orders_esphome_strings.json").read_text())
    fields = {k: orders[k] for k in ("shaft_rpm", "bearing", "capture", "capture_rate")}
    await fire(hass, **{"seq": 6, "uptime_ms": 100000, **fields})
    await fire(hass, **{"seq": 7, "uptime_ms": 140000})
    first, second = [body for name, body in backend.requests if name == "diagnose"]
    assert first["escalation"]["capture"] == orders["capture"] and first["escalation"]["capture_rate"] == 1000
    assert (first["escalation"]["shaft_rpm"], first["escalation"]["bearing"]) == (1500.0, [9, 7.94, 39.04, 0.0])
    (earlier,) = second["context"]["recent"]
    assert earlier["seq"] == 6 and earlier["shaft_rpm"] == 1500.0
    assert "capture" not in earlier and "capture_rate" not in earlier


async def test_node_device_joins_the_esphome_device(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    registry = dr.async_get(hass)
    esphome_entry = MockConfigEntry(domain="esphome")
    esphome_entry.add_to_hass(hass)
    device = registry.async_get_or_create(
        config_entry_id=esphome_entry.entry_id, connections={(dr.CONNECTION_NETWORK_MAC, "aa:bb:cc:dd:ee:ff")}
    )
    hass.bus.async_fire("esphome.binmoe_detection", {**esphome_payload(kind="detection"), "device_id": device.id})
    await hass.async_block_till_done(wait_background_tasks=True)
    node_devices = dr.async_entries_for_config_entry(registry, loaded_entry.entry_id)
    assert device.id in {d.via_device_id for d in node_devices}
    # The ESPHome device has its own detection event entity: BinMoE's twin starts disabled.
    entity = er.async_get(hass).async_get("event.hallway_sound_detection")
    assert entity is not None and entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get("event.hallway_sound_detection") is None


async def test_a_node_without_esphome_keeps_its_event_entity(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await fire(hass, "detection", **{"class": "knock"})
    entity = er.async_get(hass).async_get("event.hallway_sound_detection")
    assert entity is not None and entity.disabled_by is None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_bad_payloads_are_counted_and_logged_once(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        hass.bus.async_fire("esphome.binmoe_escalation", {**esphome_payload(), "v": "2"})
    hass.bus.async_fire("esphome.binmoe_escalation", {"garbage": True})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, "sensor.binmoe_hub_invalid_payloads") == "4"
    assert caplog.text.count("Invalid BinMoE payload from hallway-sound") == 1
    assert caplog.text.count("Invalid BinMoE payload from unknown node") == 1


async def test_ignored_and_duplicate_escalations_are_events_too(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, config_entry, ignore_classes=["water_running"])
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, seq=1, **{"class": "water_running"})
    await fire(hass, seq=2, **{"class": "knock"})
    await fire(hass, seq=3, **{"class": "knock"})  # within the dedupe window
    assert [e.data["decision"] for e in escalations] == ["ignored", "diagnose", "dropped"]
    stats = config_entry.runtime_data.hub.stats
    assert (stats.ignored, stats.dropped, stats.diagnosed) == (1, 1, 1)


async def test_an_alarm_from_the_nodes_outbox_says_when_it_was_heard(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A smoke alarm delivered late (queued_ms: Home Assistant could not hear the node) says so in words."""
    await fire(hass, "detection", seq=1, confidence=0.93, margin=9, queued_ms=41_200)
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert notifications["binmoe_critical_hallway-sound"]["message"] == (
        "Node **hallway-sound** detected **smoke alarm** (confidence 93%). Heard 41 s ago and delivered late: "
        "Home Assistant could not hear the node then."
    )
    await fire(hass, "detection", seq=2, confidence=0.93, margin=9, queued_ms=1500)  # a moment: as before
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert notifications["binmoe_critical_hallway-sound"]["message"] == (
        "Node **hallway-sound** detected **smoke alarm** (confidence 93%)."
    )
    await fire(hass, "detection", seq=3, confidence=0.93, margin=9, queued_ms=754_000)
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "Heard 13 min ago and delivered late" in notifications["binmoe_critical_hallway-sound"]["message"]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_duplicates_are_dropped_and_late_messages_recovered(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A seq seen twice (QoS 1, a node's replay) is dropped without event, alert or diagnosis; one counted as lost
    that arrives late is routed as usual and no longer lost. The log lines tell the fault soak which is which."""
    from benchmarks.soak_ledger import HubRecord

    caplog.set_level(logging.DEBUG, logger="custom_components.binmoe")
    await setup_entry(hass, config_entry, dedupe_window_s=0)
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, seq=1)
    await fire(hass, seq=3)
    hub = config_entry.runtime_data.hub
    assert hub.router.lost_messages == 1
    persistent_notification.async_dismiss(hass, "binmoe_critical_hallway-sound")
    await fire(hass, seq=3)  # duplicate
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "binmoe_critical_hallway-sound" not in notifications
    await fire(hass, seq=2, queued_ms=5000)  # late, from the outbox
    assert [e.data["seq"] for e in escalations] == [1, 3, 2]
    assert hub.stats.diagnosed == 3 and hub.nodes["hallway-sound"].messages == 3
    assert (hub.router.lost_messages, hub.router.recovered_messages, hub.router.duplicates) == (0, 1, 1)
    assert state(hass, "sensor.binmoe_hub_lost_messages") == "0"
    record = HubRecord()
    record.add_lines(caplog.text.splitlines())
    assert [(r.ref.seq, r.outcome, r.recovered, r.queued_ms) for r in record.routed] == [
        (1, "diagnose", False, None),
        (3, "diagnose", False, None),
        (3, "duplicate", False, None),
        (2, "diagnose", True, 5000),
    ]


T3_EVENT = {"class": "smoke_alarm", "confidence": 1.0, "margin": 4, "event_windows": 1, "event_span_ms": 4096,
            "alarm_code": "T3"}  # fmt: skip
BEEP = {"class": "appliance_beep", "class_idx": 3}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_an_alarm_takes_back_the_diagnoses_of_its_onset(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A window the node escalated as a beep 1.6 s before it recognised the smoke alarm's pattern is the alarm:
    its diagnosis is no longer the last diagnosis, and the node's escalations while the alarm sounds are not
    diagnosed (docs/integration.md, "An alarm and its fragments")."""
    from benchmarks.soak_ledger import HubRecord, MessageRef

    caplog.set_level(logging.DEBUG, logger="custom_components.binmoe")
    await setup_entry(hass, config_entry, dedupe_window_s=0)
    escalations, diagnoses = capture(hass, "binmoe_escalation"), capture(hass, "binmoe_diagnosis")
    withdrawn = capture(hass, "binmoe_diagnosis_withdrawn")
    await fire(hass, seq=1, uptime_ms=50_000, **{"class": "water_running"})  # long before: stays
    await fire(hass, seq=2, uptime_ms=99_000, reason="forced", **{"class": "knock"})  # asked for: stays
    await fire(hass, seq=3, uptime_ms=100_000, **BEEP)
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "double cause for appliance_beep"
    await fire(hass, "detection", seq=4, uptime_ms=101_600, **T3_EVENT)
    hub = config_entry.runtime_data.hub
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "double cause for knock"
    beep = [item for item in hub.recent if item.get("seq") == 3]
    assert [item["type"] for item in beep] == ["escalation", "diagnosis"]
    assert all(item["part_of_alarm"] == {"class": "smoke_alarm", "seq": 4, "alarm_code": "T3"} for item in beep)
    assert beep[0]["decision"] == "part_of_alarm"
    assert not [item for item in hub.recent if item.get("seq") in (1, 2) and "part_of_alarm" in item]
    # the diagnosis announced for seq 3 is told taken back, filed under the sensor for the logbook
    assert [event.data for event in withdrawn] == [
        {
            "node_id": "hallway-sound",
            "seq": 3,
            "class": "appliance_beep",
            "cause": "double cause for appliance_beep",
            "severity": "warning",
            "summary": "A test double answered.",
            "part_of_alarm": {"class": "smoke_alarm", "seq": 4, "alarm_code": "T3"},
            "entity_id": "sensor.binmoe_hub_last_diagnosis",
        }
    ]
    # while it sounds: the node's escalations are the alarm, not sent to the GPU tier
    await fire(hass, seq=5, uptime_ms=105_000, **BEEP)
    assert escalations[-1].data["decision"] == "part_of_alarm"
    assert escalations[-1].data["part_of_alarm"] == {"class": "smoke_alarm", "seq": 4, "alarm_code": "T3"}
    assert [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"] == [1, 2, 3]
    assert [d.data["seq"] for d in diagnoses] == [1, 2, 3]  # nothing announced again or for the alarm's windows
    assert (hub.stats.part_of_alarm, hub.stats.escalations, hub.stats.diagnosed) == (2, 3, 3)
    # the node's next alarm report extends the alarm; 15 s after its last one, escalations are diagnosed again
    await fire(hass, "detection", seq=6, uptime_ms=111_600, **T3_EVENT)
    await fire(hass, seq=7, uptime_ms=126_000, **BEEP)
    assert escalations[-1].data["decision"] == "part_of_alarm"
    await fire(hass, seq=8, uptime_ms=127_000, **BEEP)
    assert escalations[-1].data["decision"] == "diagnose"
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "double cause for appliance_beep"
    assert len(withdrawn) == 1  # the alarm's own windows were never diagnosed, so nothing more to take back
    # the fault soak's ledger reads both kinds from the log
    record = HubRecord()
    record.add_lines(caplog.text.splitlines())
    assert record.part_of_alarm == [MessageRef("hallway-sound", "0badc0de", 3)]
    assert {r.ref.seq for r in record.routed if r.outcome == "part_of_alarm"} == {5, 7}


async def test_an_alarm_takes_back_the_diagnosis_of_an_unsure_detection_at_its_onset(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """A detection the hub sent for a diagnosis because the node was unsure of it (seen with the host node: the
    smoke alarm's first window heard as background at 0.51) is taken back like the node's own escalations."""
    await setup_entry(hass, config_entry, dedupe_window_s=0)
    await fire(hass, "detection", seq=1, uptime_ms=100_000, confidence=0.51, **{"class": "background", "class_idx": 0})
    assert [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"] == [1]
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "double cause for background"
    await fire(hass, "detection", seq=2, uptime_ms=101_600, **T3_EVENT)
    hub = config_entry.runtime_data.hub
    unsure = [item for item in hub.recent if item.get("seq") == 1]
    assert [item["type"] for item in unsure] == ["detection", "diagnosis"]
    assert all(item["part_of_alarm"] == {"class": "smoke_alarm", "seq": 2, "alarm_code": "T3"} for item in unsure)
    assert hub.last_diagnosis is None and hub.stats.part_of_alarm == 1


async def test_a_node_that_says_its_alarm_stopped_gets_its_escalations_diagnosed_again(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """With `alarm_active` (ESPHome nodes since 2026-12-06): the onset's escalation is still taken back (the node
    could not know yet), and the first escalation the node makes after its alarm stopped is diagnosed at once."""
    await setup_entry(hass, config_entry, dedupe_window_s=0)
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, seq=3, uptime_ms=100_000, alarm_active="false", **BEEP)
    await fire(hass, "detection", seq=4, uptime_ms=101_600, alarm_active="true", **T3_EVENT)
    hub = config_entry.runtime_data.hub
    onset = [item for item in hub.recent if item.get("seq") == 3]
    assert [(item["type"], item.get("decision"), item["part_of_alarm"]["seq"]) for item in onset] == [
        ("escalation", "part_of_alarm", 4),
        ("diagnosis", None, 4),
    ]
    await fire(hass, seq=5, uptime_ms=104_000, alarm_active="true", **BEEP)
    assert escalations[-1].data["decision"] == "part_of_alarm"
    await fire(hass, seq=6, uptime_ms=107_000, alarm_active="false", **BEEP)  # 5.4 s after the report: over
    assert escalations[-1].data["decision"] == "diagnose"
    assert [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"] == [3, 6]
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "double cause for appliance_beep"
    # the node hears the code again 5 s later: it had lost the alarm, and seq 6 was the alarm after all
    await fire(hass, "detection", seq=7, uptime_ms=112_000, alarm_active="true", **T3_EVENT)
    assert [item["part_of_alarm"]["seq"] for item in hub.recent if item.get("seq") == 6] == [4, 4]
    assert state(hass, "sensor.binmoe_hub_last_diagnosis") == "unknown"


async def test_an_alarm_withdraws_queued_escalations_and_mutes_one_in_flight(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """The onset's escalations still waiting for the GPU tier leave the queue (not counted as drops); the
    diagnosis of one the GPU tier is working on is kept in the history but neither announced nor shown."""
    await setup_entry(hass, config_entry, dedupe_window_s=0)
    link, hub = config_entry.runtime_data.backend, config_entry.runtime_data.hub
    diagnoses, withdrawn = capture(hass, "binmoe_diagnosis"), capture(hass, "binmoe_diagnosis_withdrawn")
    backend.diagnose_delay = 0.5
    hass.bus.async_fire("esphome.binmoe_escalation", esphome_payload(seq=1, uptime_ms=98_000, **BEEP))
    async with asyncio.timeout(5):
        await backend.diagnose_started.wait()
    link.queue.push({"v": 1, "escalation": {"node_id": "hallway-sound", "boot": "0badc0de", "seq": 2}})
    link.queue.push({"v": 1, "escalation": {"node_id": "garage-sound", "boot": "0badc0de", "seq": 2}})
    link.queue.push({"v": 1, "escalation": {"seq": 3}})  # not a node's message (e.g. a stored one of old): stays
    hub.recent.append({**esphome_payload(seq=2, uptime_ms=99_000, **BEEP), "type": "escalation",
                       "decision": "diagnose", "uptime_ms": 99_000, "seq": 2})  # fmt: skip
    hass.bus.async_fire("esphome.binmoe_detection", esphome_payload(kind="detection", seq=3, uptime_ms=101_000,
                                                                    **T3_EVENT))  # fmt: skip
    await hass.async_block_till_done()
    assert [r["escalation"].get("node_id") for r in link.queue._items] == ["garage-sound", None]
    assert link.queue.dropped == 0
    backend.diagnose_delay = 0
    await hass.async_block_till_done(wait_background_tasks=True)
    assert diagnoses == [] and withdrawn == []  # never announced: nothing to take back
    muted = [item for item in hub.recent if item["type"] == "diagnosis"]
    assert [(d["seq"], d["part_of_alarm"]["class"]) for d in muted] == [(1, "smoke_alarm")]
    assert hub.last_diagnosis is None and hub.stats.part_of_alarm == 2
