"""The GPU-tier link: the offline queue (persisted, replayed in order), connectivity, the repair issue,
a rejected key during operation, and a GPU tier that only comes up after Home Assistant."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble
from .helpers import capture, esphome_payload, fire, setup_entry, state


async def tick(hass: HomeAssistant, seconds: float = 31) -> None:
    """Let the link's periodic check (every 30 s) run."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


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
    # "Restart": unload (flushes the queue to storage) and set up again; the queue comes back from storage.
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    backend.requests.clear()
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    backend_link = loaded_entry.runtime_data.backend
    assert len(backend_link.queue) == 0  # replayed at start-up, the backend answers again
    sent = [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"]
    assert sent == [10, 11, 12]
    assert state(hass, "binary_sensor.binmoe_hub_gpu_tier") == "on"


async def test_repair_issue_lifecycle(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, config_entry, repair_after_min=1)
    link = config_entry.runtime_data.backend
    backend.diagnose_failures = [503] * 3
    await fire(hass)
    assert not link.online
    issue_id = f"backend_down_{config_entry.entry_id}"
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, issue_id) is None  # not yet: down for less than a minute
    assert link.down_since is not None
    link.down_since -= 120
    backend.diagnose_failures = [503] * 3
    await tick(hass)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.translation_key == "backend_down"
    assert issue.translation_placeholders is not None and issue.translation_placeholders["queued"] == "1"
    await tick(hass, 62)  # backend answers again
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    assert link.online and len(link.queue) == 0


async def test_gpu_tier_down_at_start_up(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """Routing, critical alerts and the queue work without the GPU tier; its arrival is noticed."""
    backend.healthy = False  # the GPU tier is still starting when Home Assistant starts
    await setup_entry(hass, config_entry)
    assert config_entry.state is ConfigEntryState.LOADED
    assert state(hass, "binary_sensor.binmoe_hub_gpu_tier") == "off"
    escalations = capture(hass, "binmoe_escalation")
    await fire(hass, seq=40, **{"class": "smoke_alarm"})
    await fire(hass, seq=41, **{"class": "knock"})
    hass.bus.async_fire("esphome.binmoe_escalation", {"broken": True})
    await hass.async_block_till_done()
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert "binmoe_critical_hallway-sound" in notifications  # critical alarms do not wait for the GPU tier
    assert [e.data["decision"] for e in escalations] == ["queued", "queued"]
    assert not [name for name, _ in backend.requests if name == "diagnose"]
    assert config_entry.runtime_data.hub.stats.bad_payloads == 1
    backend.healthy = True
    await tick(hass)
    sent = [body["escalation"]["seq"] for name, body in backend.requests if name == "diagnose"]
    assert sent == [40, 41]
    assert len(config_entry.runtime_data.backend.queue) == 0
    # Once it is known, the hub device shows the GPU tier's model; the connectivity sensor is on.
    await tick(hass, 62)
    assert state(hass, "binary_sensor.binmoe_hub_gpu_tier") == "on"
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, config_entry.entry_id), config_entry.entry_id)
    assert device is not None and device.model == "double-moe"


async def test_rejected_key_during_operation_keeps_the_escalation_and_asks_for_a_key(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    backend.api_key = "rotated"
    await fire(hass, seq=50, **{"class": "knock"})
    link = loaded_entry.runtime_data.backend
    assert [r["escalation"]["seq"] for r in link.queue._items] == [50]
    assert not link.online
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_queue_is_bounded_and_counts_drops(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.binmoe")
    await setup_entry(hass, config_entry, queue_max=2, dedupe_window_s=0)
    await backend.stop()
    for seq in range(20, 24):
        await fire(hass, seq=seq, **{"class": "knock"})
    link = config_entry.runtime_data.backend
    assert len(link.queue) == 2 and link.queue.dropped == 2
    assert [r["escalation"]["seq"] for r in link.queue._items] == [22, 23]  # the newest are kept
    assert state(hass, "sensor.binmoe_hub_queue_drops") == "2"
    assert "queue full, dropped hallway-sound/0badc0de/20" in caplog.text  # each drop names the message
    assert "queue full, dropped hallway-sound/0badc0de/21" in caplog.text


async def test_refused_escalations_are_dropped_with_a_warning(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """A 4xx other than auth/overload will never succeed: neither now nor from the queue."""
    backend.diagnose_failures = [422]
    await fire(hass, seq=70, **{"class": "knock"})
    link = loaded_entry.runtime_data.backend
    assert len(link.queue) == 0 and link.online
    assert "GPU tier refused escalation hallway-sound/0badc0de/70" in caplog.text
    backend.diagnose_failures = [503] * 3 + [422]  # queue one, then the replay is refused
    await fire(hass, seq=71, **{"class": "doorbell"})
    assert len(link.queue) == 1
    assert await link.async_replay() == 0
    assert len(link.queue) == 0
    assert "GPU tier refused queued escalation hallway-sound/0badc0de/71, dropped" in caplog.text


async def test_rejected_key_stops_the_replay_and_the_action(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    from homeassistant.exceptions import HomeAssistantError

    link = loaded_entry.runtime_data.backend
    backend.diagnose_failures = [503] * 3
    await fire(hass, seq=80, **{"class": "knock"})
    backend.api_key = "rotated"
    assert await link.async_replay() == 0
    assert len(link.queue) == 1 and not link.online  # kept for when the new key is entered
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(DOMAIN, "diagnose", {"question": "x"}, blocking=True, return_response=True)
    with pytest.raises(Exception, match="HTTP 401"):
        await link.async_refresh_info()
    assert [f["context"]["source"] for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)] == ["reauth"]


async def test_a_new_model_behind_the_same_url_is_noticed(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    link = loaded_entry.runtime_data.backend
    backend.model = "bigger-moe"
    info = await link.async_refresh_info()
    assert info.model == "bigger-moe"
    assert "now serves bigger-moe (was double-moe)" in caplog.text
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id)
    assert device is not None and device.model == "bigger-moe"


async def test_engine_failures_queue_the_escalation(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """The gateway's 502/503/504 (its engine crashed mid-request, restarts, timed out) are retried, then the
    escalation waits in the queue: never dropped."""
    backend.diagnose_failures = [502, 504, 502]
    await fire(hass, seq=90, **{"class": "knock"})
    link = loaded_entry.runtime_data.backend
    assert [r["escalation"]["seq"] for r in link.queue._items] == [90]
    assert not link.online
    await tick(hass)
    assert len(link.queue) == 0 and link.online


async def _in_flight(backend: BackendDouble) -> None:
    async with asyncio.timeout(5):
        await backend.diagnose_started.wait()


async def test_diagnosis_in_flight_at_unload_is_kept(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """Reloading the entry (options changed) while the GPU tier works on an escalation: it goes back into the
    queue, is written to disk, and is sent again after the set-up."""
    backend.diagnose_delay = 30
    hass.bus.async_fire("esphome.binmoe_escalation", esphome_payload(seq=95, **{"class": "knock"}))
    await _in_flight(backend)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    backend.diagnose_delay = 0
    diagnoses = capture(hass, "binmoe_diagnosis")
    assert await hass.config_entries.async_setup(loaded_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [d.data["seq"] for d in diagnoses] == [95]


async def test_diagnosis_in_flight_when_home_assistant_stops_is_stored(
    hass: HomeAssistant, hass_storage: dict[str, Any], backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """Home Assistant stops (a restart) while the GPU tier works on an escalation: the escalation is in the
    stored queue when it has stopped, before an older queued one, so the next start sends it."""
    backend.diagnose_delay = 30
    hass.bus.async_fire("esphome.binmoe_escalation", esphome_payload(seq=96, **{"class": "knock"}))
    await _in_flight(backend)
    loaded_entry.runtime_data.backend.queue.push({"v": 1, "escalation": {"seq": 97}})
    await hass.async_stop()
    stored = hass_storage[f"binmoe.{loaded_entry.entry_id}.queue"]["data"]["items"]
    assert [item["escalation"]["seq"] for item in stored] == [96, 97]
