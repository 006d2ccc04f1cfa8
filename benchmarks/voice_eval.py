"""Voice evaluation: sentences -> BinMoE conversation agent -> tool calls, in a real Home Assistant.

Run it with `python -m gpu_backend eval-voice` (starts a GPU tier if none is given, then runs this file
with pytest inside the Home Assistant environment, only to get HA's test harness: a real `hass` core).

Sentences come from Home Assistant's own intent templates (the `home-assistant-intents` package), sampled
with hassil over the fixture home's names and areas; the expected tool call for each sentence is what
Home Assistant's built-in agent recognizes in that home (intent + slots). BinMoE-specific questions are
added. A sentence scores when the agent's first tool call has the expected tool and the expected
arguments (case-insensitive; lists compare as sets).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.conversation.agent_manager import get_agent_manager
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

import benchmarks_md
import custom_components.binmoe  # noqa: F401  (before HA's test helpers shadow custom_components)

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ["HassTurnOn", "HassTurnOff", "HassLightSet", "HassSetPosition", "HassClimateSetTemperature"]
SLOT_KEYS = ("name", "area", "domain", "device_class", "brightness", "position", "temperature")

# The fixture home: (entity_id, friendly name, area, extra attributes)
HOME = [
    ("light.kitchen", "Kitchen light", "Kitchen", {"supported_color_modes": ["brightness"]}),
    ("light.living_room_lamp", "Living room lamp", "Living Room", {"supported_color_modes": ["brightness"]}),
    ("light.bedroom", "Bedroom light", "Bedroom", {"supported_color_modes": ["brightness"]}),
    (
        "cover.living_room_blinds",
        "Living room blinds",
        "Living Room",
        {"device_class": "blind", "supported_features": 15},
    ),
    ("cover.garage_door", "Garage door", "Garage", {"device_class": "garage", "supported_features": 3}),
    (
        "climate.thermostat",
        "Thermostat",
        "Living Room",
        {"temperature": 20, "current_temperature": 19.5, "supported_features": 1, "hvac_modes": ["heat", "off"]},
    ),
    (
        "sensor.outside_temperature",
        "Outside temperature",
        "Garage",
        {"unit_of_measurement": "°C", "device_class": "temperature"},
    ),
]
BINMOE_QUESTIONS = [
    ("Why did the garage sensor alarm?", "BinMoERecentEvents", {"node_id": "garage-sound"}),
    ("What did the BinMoE nodes hear recently?", "BinMoERecentEvents", {}),
    ("Which BinMoE nodes are online?", "BinMoENodeStatus", {}),
    ("How is the lathe vibration node doing?", "BinMoENodeStatus", {}),
]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load custom_components/binmoe."""


async def build_home(hass: HomeAssistant) -> None:
    for domain in ("homeassistant", "intent", "conversation", "light", "cover", "climate", "sensor"):
        assert await async_setup_component(hass, domain, {})
    areas, entities = ar.async_get(hass), er.async_get(hass)
    for entity_id, name, area, attrs in HOME:
        area_id = (areas.async_get_area_by_name(area) or areas.async_create(area)).id
        domain, object_id = entity_id.split(".")
        entry = entities.async_get_or_create(domain, "eval", object_id, suggested_object_id=object_id)
        entities.async_update_entity(entry.entity_id, area_id=area_id)
        state = (
            "off"
            if domain in ("light",)
            else "closed"
            if domain == "cover"
            else "heat"
            if domain == "climate"
            else "12"
        )
        hass.states.async_set(entity_id, state, {"friendly_name": name, **attrs})
        async_expose_entity(hass, conversation.DOMAIN, entity_id, True)
    for domain, services in {
        "light": ("turn_on", "turn_off"),
        "cover": ("open_cover", "close_cover", "set_cover_position"),
        "climate": ("set_temperature",),
    }.items():
        for service in services:
            async_mock_service(hass, domain, service)


def sample_sentences(hass: HomeAssistant, per_intent: int, seed: int) -> list[str]:
    from hassil import Intents
    from hassil.intents import TextSlotList
    from hassil.sample import sample_intents
    from home_assistant_intents import get_intents

    intents = Intents.from_dict(get_intents("en"))
    names = [name for _, name, _, _ in HOME]
    area_names = sorted({area for _, _, area, _ in HOME})
    slot_lists = {"name": TextSlotList.from_strings(names), "area": TextSlotList.from_strings(area_names)}
    rng = random.Random(seed)
    chosen: list[str] = []
    for intent_name in INTENTS:
        pool = [
            text
            for _, text in sample_intents(intents, slot_lists, intent_names={intent_name}, max_sentences_per_intent=400)
        ]
        rng.shuffle(pool)
        chosen.extend(pool[: per_intent * 4])
    return chosen


async def expected_call(hass: HomeAssistant, text: str) -> tuple[str, dict[str, Any]] | None:
    """What Home Assistant's built-in agent understands from `text` in this home."""
    agent = get_agent_manager(hass).default_agent
    assert agent is not None
    user_input = conversation.ConversationInput(
        text=text, context=Context(), conversation_id=None, device_id=None, satellite_id=None,
        language="en", agent_id=conversation.HOME_ASSISTANT_AGENT,
    )  # fmt: skip
    result = await agent.async_recognize_intent(user_input)
    if result is None or result.intent.name not in INTENTS:
        return None
    slots = {k: v.value for k, v in result.entities.items() if k in SLOT_KEYS}
    return result.intent.name, slots


def _norm(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return frozenset(_norm(v) for v in value)
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def matches(expected: tuple[str, dict[str, Any]], actual: tuple[str, dict[str, Any]] | None) -> bool:
    if actual is None:
        return False
    tool = actual[0].rsplit("__", 1)[-1]  # HA prefixes tool names by API when several are merged
    if tool != expected[0]:
        return False
    got = {k: _norm(v) for k, v in actual[1].items()}
    for key, value in expected[1].items():
        want = _norm(value)
        have = got.get(key)
        if isinstance(have, frozenset) and not isinstance(want, frozenset):
            have = next(iter(have)) if len(have) == 1 else have
        if have != want:
            return False
    return True


async def test_voice_eval(hass: HomeAssistant, socket_enabled: Any) -> None:
    url, key = os.environ["BINMOE_EVAL_URL"], os.environ.get("BINMOE_EVAL_KEY") or None
    per_intent = int(os.environ.get("BINMOE_EVAL_PER_INTENT", "4"))
    await build_home(hass)
    entry = MockConfigEntry(
        domain="binmoe", data={CONF_URL: url, CONF_API_KEY: key}, options={"temperature": 0, "max_tokens": 256}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub = entry.runtime_data.hub
    for node, label in (("garage-sound", "smoke_alarm"), ("lathe-vibration", "bearing_outer")):
        example = json.loads((ROOT / "tests/fixtures/protocol/valid/escalation_mqtt.json").read_text())
        hub.handle_payload(
            {**example, "node_id": node, "class": label, "task": "vibration" if "lathe" in node else "sound"}
        )
    await hass.async_block_till_done()

    calls: list[tuple[str, dict[str, Any]]] = []
    original = llm.APIInstance.async_call_tool

    async def recording(self: llm.APIInstance, tool_input: llm.ToolInput) -> llm.ToolResult:
        calls.append((tool_input.tool_name, dict(tool_input.tool_args)))
        return await original(self, tool_input)

    llm.APIInstance.async_call_tool = recording  # type: ignore[method-assign]
    agent_id = er.async_get(hass).async_get_entity_id("conversation", "binmoe", f"{entry.entry_id}_conversation")
    cases: list[tuple[str, tuple[str, dict[str, Any]]]] = []
    for text in sample_sentences(hass, per_intent, seed=0):
        expected = await expected_call(hass, text)
        if expected is not None and len([c for c in cases if c[1][0] == expected[0]]) < per_intent:
            cases.append((text, expected))
    cases += [(text, (tool, args)) for text, tool, args in BINMOE_QUESTIONS]

    results = []
    for text, expected in cases:
        calls.clear()
        started = time.perf_counter()
        reply = await conversation.async_converse(hass, text, None, Context(), language="en", agent_id=agent_id)
        latency = (time.perf_counter() - started) * 1000
        actual = calls[0] if calls else None
        results.append(
            {
                "sentence": text,
                "expected": {"tool": expected[0], "args": expected[1]},
                "actual": {"tool": actual[0], "args": actual[1]} if actual else None,
                "correct": matches(expected, actual),
                "latency_ms": round(latency, 1),
                "reply": reply.response.speech.get("plain", {}).get("speech", "")[:200],
            }
        )
        print(f"{'OK ' if results[-1]['correct'] else 'BAD'} {latency:7.0f} ms  {text!r} -> {actual}")
    llm.APIInstance.async_call_tool = original  # type: ignore[method-assign]

    latencies = sorted(r["latency_ms"] for r in results)
    info = entry.runtime_data.backend.info
    assert info is not None, "the GPU tier never answered"
    summary = {
        "model": info.model,
        "profile": info.profile,
        "device": os.environ.get("BINMOE_EVAL_DEVICE", "unknown"),
        "sentences": len(results),
        "tool_accuracy": round(sum(r["correct"] for r in results) / len(results), 3),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p95": latencies[int(0.95 * (len(latencies) - 1))],
        "results": results,
    }
    if os.environ.get("BINMOE_BENCH_WRITE", "1") == "1":
        name = "voice" if summary["profile"] == "cpu-default" else f"voice-{summary['profile']}"
        benchmarks_md.write_json(name, summary)
        table = "\n".join(
            f"| `{k}` | {summary[k]} |"
            for k in ("model", "profile", "device", "sentences", "tool_accuracy", "latency_ms_p50", "latency_ms_p95")
        )
        body = (
            f"{len(cases) - len(BINMOE_QUESTIONS)} sentences sampled from Home Assistant's intent templates "
            f"({', '.join(INTENTS)}), with the expected tool call recognized by HA's built-in agent in the fixture "
            f"home, plus {len(BINMOE_QUESTIONS)} BinMoE questions; each goes through `conversation.async_converse` "
            f"(the pipeline's intent stage) to the BinMoE agent. Per-sentence results: `docs/benchmarks/{name}.json`."
            f"\n\n| metric | value |\n|---|---|\n{table}"
        )
        benchmarks_md.write_section(
            name, f"Voice agent — {summary['profile']}", "python -m gpu_backend eval-voice", body
        )
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=2))
    assert len(results) >= 10
