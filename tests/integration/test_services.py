"""The actions: binmoe.diagnose (response data), binmoe.replay_queue, binmoe.clear_queue."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.const import DOMAIN

from .backend_double import BackendDouble
from .helpers import capture, fire, state


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
    sent = [body for name, body in backend.requests if name == "diagnose"][-1]
    assert (sent["escalation"]["class"], sent["context"]["node_name"]) == ("knock", "hallway-sound")
    backend.diagnose_failures = [503] * 3
    await fire(hass, seq=30, **{"class": "doorbell"})
    await fire(hass, seq=31, **{"class": "water_running"})
    link = loaded_entry.runtime_data.backend
    assert len(link.queue) == 2
    result = await hass.services.async_call(DOMAIN, "replay_queue", {}, blocking=True, return_response=True)
    assert result == {"replayed": 2, "remaining": 0}
    backend.diagnose_failures = [503] * 3
    await fire(hass, seq=32, **{"class": "appliance_beep"})
    result = await hass.services.async_call(DOMAIN, "clear_queue", {}, blocking=True, return_response=True)
    assert result == {"cleared": 1}
    await hass.async_block_till_done()
    assert state(hass, "sensor.binmoe_hub_queue_length") == "0"
    await backend.stop()
    with pytest.raises(HomeAssistantError, match="could not answer"):
        await hass.services.async_call(DOMAIN, "diagnose", {"question": "x"}, blocking=True, return_response=True)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "diagnose", {"config_entry_id": "missing", "question": "x"}, blocking=True, return_response=True
        )


async def test_diagnose_action_publishes_the_diagnosis(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    diagnoses = capture(hass, "binmoe_diagnosis")
    await hass.services.async_call(
        DOMAIN,
        "diagnose",
        {"config_entry_id": loaded_entry.entry_id, "question": "Is the pump OK?"},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    assert len(diagnoses) == 1 and diagnoses[0].data["cause"] == "double cause for question"


async def test_actions_need_a_loaded_entry(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    with pytest.raises(ServiceValidationError, match="not loaded"):
        await hass.services.async_call(DOMAIN, "replay_queue", {}, blocking=True, return_response=True)
