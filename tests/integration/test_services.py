"""The actions: binmoe.diagnose (response data), binmoe.replay_queue, binmoe.clear_queue, binmoe.learn_baseline,
binmoe.set_baseline."""

from __future__ import annotations

import base64
from typing import Any

import hypothesis
import probatio as vol
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from hypothesis import given
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.binmoe.const import DOMAIN
from custom_components.binmoe.services import DIAGNOSE_SCHEMA, QUEUE_SCHEMA

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


# ---- wrong types and hostile values in the actions' data ---------------------------------------------------
WRONG_VALUES: list[Any] = [
    None, 0, -1, 3.5, float("nan"), True, [], ["x"], {}, {"a": 1}, "", " ", "x" * 5000, "\x00", "☃" * 10,
]  # fmt: skip
FIELDS = ["question", "node_id", "config_entry_id", "surprise"]


@pytest.mark.parametrize("field", FIELDS)
async def test_actions_with_wrong_types_fail_cleanly(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, field: str
) -> None:
    """Every value of every type in every field: an answer, or a validation error that says why; never
    another exception (a crash of the action)."""
    await fire(hass, "detection", **{"class": "knock", "confidence": 0.9})
    for action in ("diagnose", "replay_queue", "clear_queue"):
        for value in WRONG_VALUES:
            try:
                await hass.services.async_call(DOMAIN, action, {field: value}, blocking=True, return_response=True)
            except (vol.Invalid, ServiceValidationError) as err:
                assert str(err), (action, field, value)
    assert loaded_entry.runtime_data.backend.online  # nothing of it reached the GPU tier as garbage


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@hypothesis.settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from([*FIELDS, "x"]), JSON_LIKE, max_size=4))
def test_fuzzed_action_data_is_validated(data: dict[str, Any]) -> None:
    """The actions' schemas accept exactly strings of the right length, and say why they refuse the rest."""
    for schema in (DIAGNOSE_SCHEMA, QUEUE_SCHEMA):
        try:
            valid = schema(data)
        except vol.Invalid as err:
            assert str(err)
        else:
            assert all(isinstance(v, str) for v in valid.values())
            assert len(valid.get("question", "x")) in range(1, 2001)


async def test_learn_baseline_calls_the_nodes_action(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """binmoe.learn_baseline calls the node's native-API action (as Home Assistant's esphome integration offers
    it: esphome.<node>_learn_baseline) with the duration in seconds; a node without it, or a bad duration, is
    refused before anything is sent."""
    calls = async_mock_service(hass, "esphome", "workshop_vibration_learn_baseline")
    await hass.services.async_call(DOMAIN, "learn_baseline", {"node_id": "workshop-vibration"}, blocking=True)
    await hass.services.async_call(
        DOMAIN, "learn_baseline", {"node_id": "workshop-vibration", "duration": 1800}, blocking=True
    )
    assert [call.data for call in calls] == [{"seconds": 600}, {"seconds": 1800}]
    with pytest.raises(ServiceValidationError, match=r"esphome\.garage_sound_learn_baseline"):
        await hass.services.async_call(DOMAIN, "learn_baseline", {"node_id": "garage-sound"}, blocking=True)
    for duration in (0, 59, 8 * 24 * 3600, "ten minutes"):
        with pytest.raises(vol.Invalid):
            await hass.services.async_call(
                DOMAIN, "learn_baseline", {"node_id": "workshop-vibration", "duration": duration}, blocking=True
            )
    assert len(calls) == 2


async def test_set_baseline_calls_the_nodes_action(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """binmoe.set_baseline passes base64 of a saved baseline (wrapping removed) to the node's native-API action
    esphome.<node>_set_baseline (a service double here; the host end-to-end test drives the node's action); a
    node without it, text that is not base64 or not a baseline's size is refused before anything is sent."""
    calls = async_mock_service(hass, "esphome", "workshop_vibration_set_baseline")
    text = base64.b64encode(bytes(range(200)) * 2).decode()  # 400 bytes: too long
    good = base64.b64encode(bytes(396)).decode()
    wrapped = "\n".join(good[i : i + 76] for i in range(0, len(good), 76))  # as `base64` prints it
    await hass.services.async_call(
        DOMAIN, "set_baseline", {"node_id": "workshop-vibration", "baseline": wrapped}, blocking=True
    )
    assert [call.data for call in calls] == [{"baseline": good}]
    with pytest.raises(ServiceValidationError, match=r"esphome\.garage_sound_set_baseline"):
        await hass.services.async_call(
            DOMAIN, "set_baseline", {"node_id": "garage-sound", "baseline": good}, blocking=True
        )
    bad = {"not base64!": "not base64", text: "has 400 bytes", base64.b64encode(bytes(8)).decode(): "has 8 bytes"}
    for baseline, message in bad.items():
        with pytest.raises(vol.Invalid, match=message):
            await hass.services.async_call(
                DOMAIN, "set_baseline", {"node_id": "workshop-vibration", "baseline": baseline}, blocking=True
            )
    assert len(calls) == 1
