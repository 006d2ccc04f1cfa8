"""The logbook in a real Home Assistant (recorder, logbook, websocket API): what the dashboard's *Diagnoses*
card (a logbook of the *Last diagnosis* sensor, docs/integration.md) shows when an alarm takes back a
diagnosis of its onset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.binmoe.logbook import withdrawn_message

from .backend_double import BackendDouble
from .helpers import fire, setup_entry

SENSOR = "sensor.binmoe_hub_last_diagnosis"
T3_EVENT = {"class": "smoke_alarm", "confidence": 1.0, "margin": 4, "event_windows": 1, "event_span_ms": 4096,
            "alarm_code": "T3"}  # fmt: skip


@pytest.fixture
def quiet_sql() -> Iterator[None]:
    """pytest-homeassistant-custom-component logs every SQL statement at INFO; the recorder's thread can still log
    while the test shuts down, after pytest stopped capturing, into the suite's output. Set up before the
    recorder (the fixture below asks for it first), so put back only after the recorder stopped."""
    logger = logging.getLogger("sqlalchemy.engine")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(quiet_sql: None, recorder_mock: Any, enable_custom_integrations: Any) -> None:
    """The recorder has to exist before Home Assistant starts (this overrides conftest's fixture of that name)."""


async def test_a_taken_back_diagnosis_is_told_in_the_sensors_logbook(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry, hass_ws_client: Any
) -> None:
    assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow()
    await setup_entry(hass, config_entry, dedupe_window_s=0)
    await fire(hass, seq=1, uptime_ms=50_000, **{"class": "water_running"})
    await fire(hass, seq=3, uptime_ms=100_000, **{"class": "appliance_beep", "class_idx": 3})
    await fire(hass, "detection", seq=4, uptime_ms=101_600, **T3_EVENT)
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": start.isoformat(), "entity_ids": [SENSOR]}
    )
    response = await client.receive_json()
    assert response["success"], response
    lines = [entry.get("state") or f"{entry['name']}: {entry['message']}" for entry in response["result"]]
    took_back = (
        "BinMoE: took back “double cause for appliance_beep” (appliance beep on hallway-sound): "
        "part of the smoke alarm that node reported"
    )
    # the sensor's return to the earlier diagnosis comes right after the entry that says why
    assert lines[-4:] == [
        "double cause for water_running",
        "double cause for appliance_beep",
        took_back,
        "double cause for water_running",
    ]
    assert response["result"][-2]["entity_id"] == SENSOR


def test_the_message_names_what_it_knows() -> None:
    """A diagnosis without a cause is named by its summary, then by its class; a missing alarm class is said."""
    assert withdrawn_message({"summary": "It beeped.", "class": "appliance_beep", "node_id": "k"}) == (
        "took back “It beeped.” (appliance beep on k): part of the alarm that node reported"
    )
    assert withdrawn_message({"part_of_alarm": {"class": "co_alarm"}}) == (
        "took back “an escalation” (an escalation on a node): part of the co alarm that node reported"
    )
