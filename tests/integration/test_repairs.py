"""The fix flow of the `baseline_speed` repair issue, through the repairs HTTP API the frontend uses."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.binmoe.const import DOMAIN
from custom_components.binmoe.repairs import async_create_fix_flow

from .backend_double import BackendDouble
from .test_baseline_speeds import ISSUE, anomaly

FIX = "/api/repairs/issues/fix"


async def start(hass: HomeAssistant, hass_client: Any) -> tuple[Any, dict[str, Any]]:
    assert await async_setup_component(hass, "repairs", {})
    await anomaly(hass, 1, 1600.0)
    client = await hass_client()
    response = await client.post(FIX, json={"handler": DOMAIN, "issue_id": ISSUE})
    assert response.status == 200
    return client, await response.json()


async def test_the_fix_flow_learns_the_baseline_again(
    hass: HomeAssistant, new_speed: BackendDouble, loaded_entry: MockConfigEntry, hass_client: Any
) -> None:
    """The form says what the issue says and asks how long to learn; submitting calls the node's learn action
    (a service double of esphome.<node>_learn_baseline; the host end-to-end tests drive the real one) and the
    issue is gone."""
    calls = async_mock_service(hass, "esphome", "workshop_vibration_learn_baseline")
    client, form = await start(hass, hass_client)
    assert form["type"] == "form" and form["step_id"] == "confirm"
    assert form["description_placeholders"]["seen"] == "1,600"
    assert form["data_schema"] == [
        {"name": "minutes", "required": True, "default": 10, "type": "integer", "valueMin": 1, "valueMax": 10080}
    ]
    response = await client.post(f"{FIX}/{form['flow_id']}", json={"minutes": 0})
    assert response.status == 400  # at least a minute (the node's action takes 60 s or more)
    response = await client.post(f"{FIX}/{form['flow_id']}", json={"minutes": 30})
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    assert [call.data for call in calls] == [{"seconds": 1800}]
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is None


async def test_a_node_without_the_action_aborts_with_the_reason(
    hass: HomeAssistant, new_speed: BackendDouble, loaded_entry: MockConfigEntry, hass_client: Any
) -> None:
    client, form = await start(hass, hass_client)
    result = await (await client.post(f"{FIX}/{form['flow_id']}", json={"minutes": 10})).json()
    assert result["type"] == "abort" and result["reason"] == "learn_failed"
    assert "esphome.workshop_vibration_learn_baseline" in result["description_placeholders"]["error"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE) is not None  # nothing was started: it stays


async def test_only_baseline_speed_issues_have_a_fix_flow(hass: HomeAssistant) -> None:
    with pytest.raises(ValueError, match="no fix flow"):
        await async_create_fix_flow(hass, "backend_down_x", None)
    with pytest.raises(ValueError, match="no fix flow"):
        await async_create_fix_flow(hass, ISSUE, {})
