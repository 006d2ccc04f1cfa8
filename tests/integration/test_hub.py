"""The hub in a real Home Assistant: ESPHome/MQTT inputs, events, entities, diagnosis, offline queue,
repairs, services and diagnostics. The GPU tier is the named BackendDouble (test_real_backend.py uses the
real one)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import persistent_notification
from homeassistant.components.diagnostics import REDACTED
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble

EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/protocol/valid/escalation_esphome_strings.json").read_text()
)


def esphome_payload(**changes: Any) -> dict[str, Any]:
    data = {**EXAMPLE, **{k: str(v) for k, v in changes.items()}}
    if data["kind"] == "detection":
        data.pop("reason", None)
    return data


def capture(hass: HomeAssistant, event_type: str) -> list[Event]:
    events: list[Event] = []
    hass.bus.async_listen(event_type, events.append)
    return events


async def fire(hass: HomeAssistant, kind: str = "escalation", **changes: Any) -> None:
    hass.bus.async_fire(f"esphome.binmoe_{kind}", esphome_payload(kind=kind, **changes))
    await hass.async_block_till_done(wait_background_tasks=True)


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_detection_is_handled_locally(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    detections = capture(hass, "binmoe_detection")
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.95, "margin": 9})
    assert [e.data["class"] for e in detections] == ["knock"]
    assert detections[0].data["handled_by"] == "node"
    assert state(hass, "sensor.binmoe_hub_handled_locally") == "1"
    assert state(hass, "sensor.binmoe_hub_escalations") == "0"
    event_state = hass.states.get("event.hallway_sound_detection")
    assert event_state is not None and event_state.attributes["event_type"] == "knock"
    assert state(hass, "sensor.hallway_sound_escalation_rate") == "0.0"


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
    assert state(hass, "sensor.hallway_sound_escalation_rate") == "100.0"
    assert float(state(hass, "sensor.binmoe_hub_backend_latency_p50")) > 0
    # smoke alarm is critical: a notification right away
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    alarm = notifications["binmoe_critical_hallway-sound"]
    assert "smoke alarm" in alarm["message"] and alarm["title"] == "BinMoE alarm"


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


async def test_queue_survives_restart_and_replays_in_order(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    backend.diagnose_failures = [503] * 3  # the first escalation finds the backend failing: queue on
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, seq=10, **{"class": "knock"})
    await fire(hass, seq=11, **{"class": "doorbell"})
    await fire(hass, seq=12, **{"class": "water_running"})
    assert [e.data["decision"] for e in escalations] == ["diagnose", "queued", "queued"]
    assert state(hass, "sensor.binmoe_hub_queue_length") == "3"
    assert state(hass, "binary_sensor.binmoe_hub_gpu_tier") == "off"
    # "Restart": unload (flushes the queue to storage) and set up a fresh entry object with the same id.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    hass.data.pop("binmoe_queues")  # forget the in-memory queue: it must come back from storage
    backend.requests.clear()
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    hub = loaded_entry.runtime_data.hub
    assert len(hub.queue) == 0  # replayed at start-up, the backend answers again
    sent = [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"]
    assert sent == [10, 11, 12]
    assert state(hass, "binary_sensor.binmoe_hub_gpu_tier") == "on"


async def test_queue_is_bounded_and_counts_drops(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"queue_max": 2, "dedupe_window_s": 0})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await backend.stop()
    for seq in range(20, 24):
        await fire(hass, seq=seq, **{"class": "knock"})
    hub = config_entry.runtime_data.hub
    assert len(hub.queue) == 2 and hub.queue.dropped == 2
    assert [r["escalation"]["seq"] for r in hub.queue._items] == [22, 23]  # the newest are kept
    assert state(hass, "sensor.binmoe_hub_queue_drops") == "2"


async def test_repair_issue_lifecycle(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"repair_after_min": 1})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    hub = config_entry.runtime_data.hub
    backend.diagnose_failures = [503] * 3
    await fire(hass)
    assert not hub.backend_online
    issue_id = f"backend_down_{config_entry.entry_id}"
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, issue_id) is None  # not yet: down for less than a minute
    assert hub.down_since is not None
    hub.down_since -= 120
    backend.diagnose_failures = [503] * 3
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_key == "backend_down"
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=62))  # backend answers again
    await hass.async_block_till_done(wait_background_tasks=True)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    assert hub.backend_online and len(hub.queue) == 0


async def test_services(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    answer = await hass.services.async_call(
        DOMAIN, "diagnose", {"question": "Why is the fridge beeping?"}, blocking=True, return_response=True
    )
    assert answer is not None and answer["summary"] == "A test double answered."
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(DOMAIN, "diagnose", {"node_id": "nobody"}, blocking=True, return_response=True)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(DOMAIN, "diagnose", {}, blocking=True, return_response=True)
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.9})
    answer = await hass.services.async_call(
        DOMAIN, "diagnose", {"node_id": "hallway-sound"}, blocking=True, return_response=True
    )
    assert answer is not None and answer["cause"] == "double cause for knock"
    backend.diagnose_failures = [503] * 3
    await fire(hass, seq=30, **{"class": "doorbell"})
    await fire(hass, seq=31, **{"class": "water_running"})
    hub = loaded_entry.runtime_data.hub
    assert len(hub.queue) == 2
    result = await hass.services.async_call(DOMAIN, "replay_queue", {}, blocking=True, return_response=True)
    assert result == {"replayed": 2, "remaining": 0}
    backend.diagnose_failures = [503] * 3
    await fire(hass, seq=32, **{"class": "appliance_beep"})
    result = await hass.services.async_call(DOMAIN, "clear_queue", {}, blocking=True, return_response=True)
    assert result == {"cleared": 1}
    await backend.stop()
    with pytest.raises(HomeAssistantError, match="could not answer"):
        await hass.services.async_call(DOMAIN, "diagnose", {"question": "x"}, blocking=True, return_response=True)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "diagnose", {"config_entry_id": "missing", "question": "x"}, blocking=True, return_response=True
        )


async def test_diagnostics_redacts_the_key(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    from custom_components.binmoe.diagnostics import async_get_config_entry_diagnostics

    await fire(hass, features="AQID", feature_shape="1x3")
    result = await async_get_config_entry_diagnostics(hass, loaded_entry)
    assert result["entry"]["data"]["api_key"] == REDACTED
    assert result["stats"]["escalations"] == 1
    assert result["recent"][0]["features"] == REDACTED
    assert "test-key" not in json.dumps(result)


async def test_system_health(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    from custom_components.binmoe.system_health import system_health_info

    info = await system_health_info(hass)
    assert info["loaded_entries"] == 1 and info["queue_length"] == 0
    assert await info["backend_reachable"] == "ok"
    await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert await system_health_info(hass) == {"loaded_entries": 0}


async def test_options_flow_reloads_with_new_policy(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] == "menu" and result["menu_options"] == ["routing", "voice"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "routing"})
    assert result["step_id"] == "routing"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"ignore_classes": ["knock"], "min_confidence": 0.3, "rate_limit_per_minute": 10, "dedupe_window_s": 5},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert loaded_entry.options["ignore_classes"] == ["knock"]
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.hub.router.policy.ignore_classes == {"knock"}
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, **{"class": "knock"})
    assert [e.data["decision"] for e in escalations] == ["ignored"]


@pytest.mark.parametrize("expected_lingering_timers", [True])  # MQTT's own periodic timer
async def test_mqtt_nodes(
    hass: HomeAssistant, mqtt_mock: Any, backend: BackendDouble, config_entry: MockConfigEntry, caplog: Any
) -> None:
    from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    escalations = capture(hass, "binmoe_escalation")
    native = json.loads((Path(__file__).parents[1] / "fixtures/protocol/valid/escalation_mqtt.json").read_text())
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", json.dumps(native))
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/diagnosis", json.dumps({"ignored": True}))
    async_fire_mqtt_message(hass, "binmoe/other-node/escalation", json.dumps(native))  # topic mismatch
    async_fire_mqtt_message(hass, "binmoe/hallway-sound/escalation", "{not json")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["seq"] for e in escalations] == [7]
    hub = config_entry.runtime_data.hub
    assert hub.stats.bad_payloads == 2
    assert hub.stats.diagnosed == 1


async def test_node_devices_can_be_removed_but_not_the_hub(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_ws_client: Any
) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "config", {})
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.9})
    registry = dr.async_get(hass)
    hub_device = registry.async_get_device_by_identifier((DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id)
    node_device = registry.async_get_device_by_identifier(
        (DOMAIN, f"{loaded_entry.entry_id}_hallway-sound"), loaded_entry.entry_id
    )
    assert hub_device is not None and node_device is not None
    client = await hass_ws_client(hass)
    for device, expected in ((hub_device, False), (node_device, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": loaded_entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is expected
    assert "hallway-sound" not in loaded_entry.runtime_data.hub.nodes


async def test_events_during_setup_retry_are_queued_and_replayed(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    backend.healthy = False  # the GPU tier is still starting when Home Assistant starts
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    await fire(hass, seq=40, **{"class": "smoke_alarm"})
    await fire(hass, seq=41, **{"class": "knock"})
    hass.bus.async_fire("esphome.binmoe_escalation", {"broken": True})
    await hass.async_block_till_done()
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "binmoe_critical_hallway-sound" in notifications  # critical alarms do not wait for the GPU tier
    assert not [name for name, _ in backend.requests if name == "diagnose"]
    backend.healthy = True
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.LOADED
    sent = [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"]
    assert sent == [40, 41]
    assert len(config_entry.runtime_data.hub.queue) == 0
