"""Spoken answers from the hub's state: which node a name means, what it heard, why it went off, whether it
looks fine, today's escalations, baseline learning (not started by voice), and the answers to bad input."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.binmoe import answers
from custom_components.binmoe.runtime import BinMoERuntimeData

from .backend_double import BackendDouble
from .helpers import fire


def data(entry: MockConfigEntry) -> BinMoERuntimeData:
    runtime: BinMoERuntimeData = entry.runtime_data
    return runtime


async def place(hass: HomeAssistant, entry: MockConfigEntry, node_id: str, area: str, name: str | None = None) -> None:
    """Put a node's device in an area (and give it a name of the user's), as the user would in the UI."""
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(("binmoe", f"{entry.entry_id}_{node_id}"), entry.entry_id)
    assert device is not None
    area_id = ar.async_get(hass).async_get_or_create(area).id
    devices.async_update_device(device.id, area_id=area_id, name_by_user=name)


async def test_no_node_yet(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert "No BinMoE node has reported yet" in answers.answer_heard(hass, data(loaded_entry), "garage sensor")


async def test_heard_finds_the_node_by_its_words_and_lists_earlier_sounds(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await fire(hass, "detection", node_id="garage-sound", seq=1, **{"class": "doorbell", "confidence": 0.97})
    await fire(hass, "detection", node_id="garage-sound", seq=2, **{"class": "knock", "confidence": 0.91})
    await fire(hass, "detection", node_id="lathe-vibration", task="vibration", **{"class": "healthy"})
    text = answers.answer_heard(hass, data(loaded_entry), "the garage sensor")
    assert text == (
        "The garage sound last heard a knock (91% sure) just now, handled on the node. Before that: the doorbell."
    )
    both = answers.answer_heard(hass, data(loaded_entry), "the sensors")
    assert "garage sound" in both and "lathe vibration last heard normal running" in both


async def test_names_areas_and_bad_input(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    await fire(hass, "detection", node_id="garage-sound", **{"class": "knock", "confidence": 0.9})
    await place(hass, loaded_entry, "garage-sound", "Kitchen", name="Kitchen listener")
    ar.async_get(hass).async_get_or_create("Bedroom")
    runtime = data(loaded_entry)
    assert answers.find_nodes(hass, runtime, "kitchen alarm").nodes[0].node.node_id == "garage-sound"
    assert answers.find_nodes(hass, runtime, "Kitchen Listener").nodes[0].name == "Kitchen listener"
    assert answers.answer_heard(hass, runtime, "bedroom sensor") == (
        "There is no BinMoE node in the Bedroom. The nodes I know are: Kitchen listener."
    )
    assert answers.answer_why(hass, runtime, "attic sensor") == (
        "I don't know a BinMoE node called attic sensor. The nodes I know are: Kitchen listener."
    )


async def test_an_alarm_recognised_by_its_pattern_is_said_so(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await fire(hass, "detection", node_id="garage-sound", seq=1,
               **{"class": "smoke_alarm", "confidence": 1.0, "event_windows": 1, "event_span_ms": 4096,
                  "alarm_code": "T3"})  # fmt: skip
    assert answers.answer_why(hass, data(loaded_entry), "garage sensor") == (
        "The garage sound heard a smoke alarm (its temporal-three alarm pattern), handled on the node."
    )


async def test_an_escalation_within_an_alarm_is_said_to_be_part_of_it(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await fire(hass, "detection", node_id="garage-sound", seq=1,
               **{"class": "smoke_alarm", "confidence": 1.0, "event_windows": 1, "event_span_ms": 4096,
                  "alarm_code": "T3"})  # fmt: skip
    await fire(hass, node_id="garage-sound", seq=2, **{"class": "appliance_beep", "class_idx": 3})
    assert answers.answer_heard(hass, data(loaded_entry), "garage sensor") == (
        "The garage sound last heard an appliance beeping (55% sure) just now, taken as part of the alarm it "
        "reported. Before that: a smoke alarm."
    )


async def test_why_prefers_a_critical_alarm_and_gives_the_diagnosis(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    await fire(hass, node_id="garage-sound", seq=1)  # smoke alarm escalated, diagnosed by the double
    await fire(hass, "detection", node_id="garage-sound", seq=2, **{"class": "water_running", "confidence": 0.9})
    text = answers.answer_why(hass, data(loaded_entry), "garage sensor")
    assert text == (
        "The garage sound heard a smoke alarm (55% sure), sent to the GPU tier for a diagnosis. The GPU tier's "
        "diagnosis: double cause for smoke_alarm (severity warning). Recommended: check it."
    )
    await fire(hass, "detection", node_id="pump-vibration", task="vibration", **{"class": "healthy"})
    assert "has not reported anything unusual" in answers.answer_why(hass, data(loaded_entry), "pump")


async def test_why_says_when_the_diagnosis_waits(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    await backend.stop()
    await fire(hass, node_id="garage-sound")
    assert "waiting in the queue: the GPU tier is offline" in answers.answer_why(hass, data(loaded_entry), "garage")


async def test_why_while_the_diagnosis_runs(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    hub = data(loaded_entry).hub
    hub.recent.append({"type": "escalation", "decision": "diagnose", "node_id": "garage-sound", "class": "knock"})
    await fire(hass, "detection", node_id="garage-sound", seq=1, **{"class": "background"})
    hub.recent.rotate(1)  # the escalation is the newest message, its diagnosis not yet back
    assert "Its diagnosis has not come back yet." in answers.answer_why(hass, data(loaded_entry), "garage")


async def test_status(hass: HomeAssistant, loaded_entry: MockConfigEntry, freezer: FrozenDateTimeFactory) -> None:
    await fire(hass, "detection", node_id="pump-vibration", task="vibration", **{"class": "healthy", "confidence": 1})
    freezer.tick(timedelta(minutes=12))
    assert answers.answer_status(hass, data(loaded_entry), "the pump") == (
        "The pump vibration looks fine: its last report 12 minutes ago was normal running; "
        "0 % of its reports needed the GPU tier."
    )
    await fire(hass, node_id="lathe-vibration", task="vibration", **{"class": "bearing_outer"})
    freezer.tick(timedelta(hours=3))
    text = answers.answer_status(hass, data(loaded_entry), "lathe")
    assert text.startswith("The lathe vibration may need attention: it last reported an outer-race bearing fault")
    assert "3 hours ago" in text and "double cause for bearing_outer" in text
    freezer.tick(timedelta(days=3))
    assert " on " in answers.answer_status(hass, data(loaded_entry), "lathe")
    runtime = data(loaded_entry)
    runtime.hub.recent.clear()
    assert "I have no report from the lathe vibration" in answers.answer_status(hass, runtime, "lathe")
    assert "has reported nothing since" in answers.answer_heard(hass, runtime, "lathe")


async def test_escalations_today(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    runtime = data(loaded_entry)
    assert answers.answer_escalations_today(runtime) == "No BinMoE node has reported anything today."
    await fire(hass, node_id="garage-sound", seq=1)
    await fire(hass, "detection", node_id="garage-sound", seq=2, **{"class": "knock", "confidence": 0.9})
    assert answers.answer_escalations_today(runtime) == (
        "Today 1 detection was escalated to the GPU tier, and the nodes handled 1 on their own."
    )
    freezer.tick(timedelta(days=1))
    assert answers.answer_escalations_today(runtime) == "No BinMoE node has reported anything today."


async def test_escalations_waiting_in_the_queue(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """(Without a frozen clock: the link's retries wait in real time.)"""
    runtime = data(loaded_entry)
    await backend.stop()
    await fire(hass, node_id="lathe-vibration", task="vibration", seq=3)
    assert answers.answer_escalations_today(runtime).endswith(" 1 is waiting in the queue.")
    await fire(hass, node_id="pump-vibration", task="vibration", seq=4)
    assert answers.answer_escalations_today(runtime) == (
        "Today 2 detections were escalated to the GPU tier, and the nodes handled 0 on their own. "
        "2 are waiting in the queue."
    )


async def test_learn_baseline_is_honest(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    """Voice does not start learning; the answer says where it is started, or that the node cannot learn."""
    await fire(hass, "detection", node_id="lathe-vibration", task="vibration", **{"class": "healthy"})
    text = answers.answer_learn_baseline(hass, data(loaded_entry), "lathe sensor")
    assert text == (
        "I can't start baseline learning by voice yet, so nothing was changed. The lathe vibration cannot learn "
        "a baseline: its node does not declare that action."
    )
    async_mock_service(hass, "esphome", "lathe_vibration_learn_baseline")
    text = answers.answer_learn_baseline(hass, data(loaded_entry), "lathe sensor")
    assert text == (
        "I can't start baseline learning by voice yet, so nothing was changed. To learn the lathe vibration's "
        "baseline, press its Learn baseline button or run the action BinMoE: Learn baseline while the machine "
        "runs normally."
    )
    assert "don't know" in answers.answer_learn_baseline(hass, data(loaded_entry), "boiler")


def test_spoken_classes() -> None:
    assert answers.spoken_class("co_alarm") == "a carbon monoxide alarm"
    assert answers.spoken_class("glass_break") == "glass break"
