"""Each blueprint loaded into a real Home Assistant automation and run.

Lights, notify and TTS services are recorded by HA's async_mock_service (test doubles of those outside
services); the BinMoE events come from the real integration (with the backend test double) or are fired
the way the ESPHome integration fires them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "binmoe"
EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures/protocol/valid/escalation_esphome_strings.json").read_text()
)
NOTIFY = [{"action": "notify.test", "data": {"title": "{{ title | default('BinMoE') }}", "message": "{{ message }}"}}]


@pytest.fixture(autouse=True)
async def install_blueprints(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "persistent_notification", {})
    target = hass.config.path("blueprints/automation/binmoe")
    await hass.async_add_executor_job(lambda: shutil.copytree(BLUEPRINTS, target, dirs_exist_ok=True))


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    config = {
        "automation": [
            {"alias": name.removesuffix(".yaml"), "use_blueprint": {"path": f"binmoe/{name}", "input": inputs}}
        ]
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{name.removesuffix('.yaml')}")
    assert state is not None and state.state == "on", f"blueprint {name} did not load"


def test_every_blueprint_is_tested() -> None:
    assert {p.name for p in BLUEPRINTS.glob("*.yaml")} == {
        "smoke_co_alarm.yaml",
        "vibration_diagnosis.yaml",
        "announce_diagnosis.yaml",
        "doorbell_knock.yaml",
    }


async def test_smoke_alarm_blueprint_without_gpu_tier(hass: HomeAssistant) -> None:
    lights = async_mock_service(hass, "light", "turn_on")
    notify = async_mock_service(hass, "notify", "test")
    await use_blueprint(
        hass, "smoke_co_alarm.yaml", {"lights": {"entity_id": "light.hallway"}, "notify_actions": NOTIFY}
    )
    hass.bus.async_fire("esphome.binmoe_detection", {**EXAMPLE, "kind": "detection", "class": "knock"})
    await hass.async_block_till_done()
    assert not lights and not notify
    hass.bus.async_fire("esphome.binmoe_escalation", {**EXAMPLE, "class": "co_alarm", "confidence": "0.4"})
    await hass.async_block_till_done()
    assert lights[0].data["entity_id"] == ["light.hallway"] and lights[0].data["brightness_pct"] == 100
    assert notify[0].data["message"] == "Co alarm heard by hallway-sound."


async def test_vibration_blueprint_notifies_the_recommended_action(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    notify = async_mock_service(hass, "notify", "test")
    await use_blueprint(hass, "vibration_diagnosis.yaml", {"notify_actions": NOTIFY})
    vibration = {**EXAMPLE, "node_id": "lathe", "task": "vibration", "class": "bearing_outer", "model": "vibration-v1"}
    hass.bus.async_fire("esphome.binmoe_escalation", vibration)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.async_block_till_done()
    assert len(notify) == 1
    assert notify[0].data["message"] == "check it"  # the backend double's recommended action
    assert notify[0].data["title"] == "lathe: double cause for bearing_outer (warning)"


async def test_announce_blueprint(hass: HomeAssistant) -> None:
    speak = async_mock_service(hass, "tts", "speak")
    await use_blueprint(
        hass,
        "announce_diagnosis.yaml",
        {"tts_entity": "tts.piper", "media_player": "media_player.kitchen", "severities": ["critical"]},
    )
    hass.bus.async_fire("binmoe_diagnosis", {"severity": "info", "summary": "Nothing to worry about."})
    hass.bus.async_fire("binmoe_diagnosis", {"severity": "critical", "summary": "The hallway smoke alarm is sounding."})
    await hass.async_block_till_done()
    assert [c.data["message"] for c in speak] == ["The hallway smoke alarm is sounding."]
    assert speak[0].data["media_player_entity_id"] == "media_player.kitchen"
    assert speak[0].data["entity_id"] == ["tts.piper"]


async def test_doorbell_blueprint_is_quiet_while_media_plays_and_cools_down(hass: HomeAssistant) -> None:
    notify = async_mock_service(hass, "notify", "test")
    hass.states.async_set("media_player.living_room_tv", "playing")
    await use_blueprint(
        hass,
        "doorbell_knock.yaml",
        {"quiet_while_playing": ["media_player.living_room_tv"], "nodes": ["hallway-sound"], "cooldown": 60,
         "notify_actions": NOTIFY},
    )  # fmt: skip
    knock = {**EXAMPLE, "kind": "detection", "class": "knock", "handled_by": "node"}
    hass.bus.async_fire("binmoe_detection", knock)  # the TV plays: as likely the TV as a knock
    hass.bus.async_fire("binmoe_detection", {**knock, "class": "speech_tv"})
    hass.bus.async_fire("binmoe_detection", {**knock, "node_id": "garage-sound"})  # not a node it listens to
    await hass.async_block_till_done()
    assert notify == []
    hass.states.async_set("media_player.living_room_tv", "paused")
    await hass.async_block_till_done()
    hass.bus.async_fire("binmoe_detection", {**knock, "class": "doorbell"})
    await hass.async_block_till_done()
    assert [c.data["message"] for c in notify] == ["Doorbell heard by hallway-sound."]
    hass.bus.async_fire("binmoe_detection", knock)  # within the cooldown
    await hass.async_block_till_done()
    assert len(notify) == 1


DIAGNOSIS = {"node_id": "hallway-sound", "seq": 7, "class": "speech_tv", "severity": "info", "summary": "TV."}


async def test_doorbell_blueprint_hears_what_the_gpu_tiers_teacher_names(hass: HomeAssistant) -> None:
    notify = async_mock_service(hass, "notify", "test")
    await use_blueprint(hass, "doorbell_knock.yaml", {"cooldown": 0, "notify_actions": NOTIFY})
    teacher = {"class": "doorbell", "confidence": 0.8, "agrees_with_node": False}
    hass.bus.async_fire("binmoe_diagnosis", {**DIAGNOSIS, "teacher": None})  # no teacher on the GPU tier
    hass.bus.async_fire(
        "binmoe_diagnosis", {**DIAGNOSIS, "class": "doorbell", "teacher": {**teacher, "class": "speech_tv"}}
    )
    await hass.async_block_till_done()
    assert notify == []  # the node's unsure doorbell, which the teacher calls speech/TV, is not one
    hass.bus.async_fire("binmoe_diagnosis", {**DIAGNOSIS, "teacher": teacher})
    await hass.async_block_till_done()
    assert [c.data["message"] for c in notify] == ["Doorbell heard by hallway-sound (named by the GPU tier)."]
    hass.bus.async_fire("binmoe_detection", {**EXAMPLE, "kind": "detection", "class": "knock"})
    await hass.async_block_till_done()
    assert notify[-1].data["message"] == "Knock heard by hallway-sound."


async def test_doorbell_blueprint_without_the_gpu_tier(hass: HomeAssistant) -> None:
    notify = async_mock_service(hass, "notify", "test")
    await use_blueprint(hass, "doorbell_knock.yaml", {"gpu_tier": False, "cooldown": 0, "notify_actions": NOTIFY})
    teacher = {"class": "knock", "confidence": 0.9, "agrees_with_node": True}
    hass.bus.async_fire("binmoe_diagnosis", {**DIAGNOSIS, "class": "knock", "teacher": teacher})
    await hass.async_block_till_done()
    assert notify == []
