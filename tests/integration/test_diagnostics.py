"""The diagnostics download: a snapshot of its shape, and the key and raw features redacted."""

from __future__ import annotations

import json

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.binmoe.diagnostics import async_get_config_entry_diagnostics

from .helpers import fire


async def test_diagnostics(hass: HomeAssistant, loaded_entry: MockConfigEntry, snapshot: SnapshotAssertion) -> None:
    await fire(hass, features="AQID", feature_shape="1x3")
    result = await async_get_config_entry_diagnostics(hass, loaded_entry)
    assert result["entry"]["data"]["api_key"] == REDACTED
    assert result["stats"]["escalations"] == 1
    assert result["recent"][0]["features"] == REDACTED
    assert "test-key" not in json.dumps(result)
    # What varies from run to run (ports, ids, timings) is left out of the snapshot.
    assert result == snapshot(exclude=props("url", "id", "latency_ms", "latency_ms_p50", "latency_ms_p95"))
