"""The voice evaluation's steps in a real Home Assistant core: the fixture home with BinMoE nodes, the
cases, one sentence through the BinMoE agent with its outcome and path, and the summary per path.

Used by benchmarks/voice_eval.py (the benchmark) and by tests/integration/test_voice_harness.py.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.conversation.agent_manager import get_agent_manager
from homeassistant.components.conversation.trace import async_get_traces
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent

from .voice_cases import (
    BINMOE_QUESTIONS,
    EXTRA_AREAS,
    HOME,
    HOME_DEVICES,
    NODES,
    PARAPHRASES,
    REFUSAL_WORDS,
    Case,
    expected_outcome,
    sample_template_sentences,
)
from .voice_home import Entity, SimulatedHome

ROOT = Path(__file__).resolve().parents[1]
SLOT_KEYS = ("name", "area", "domain", "device_class", "brightness", "position", "temperature", "state", "percentage")
PATHS = ("binmoe_intents", "ha_intents", "resolver", "llm", "not_understood", "unavailable", "unknown")
TOLERANCE = {"brightness": 3}  # a percentage read on the 0-255 scale rounds either way; other numbers are exact
_OPPOSITE = {"on": "off", "off": "on", "locked": "unlocked", "unlocked": "locked"}


async def async_prepare_home(hass: HomeAssistant) -> SimulatedHome:
    """The fixture home, registered as the assist dataset's homes are (SimulatedHome.add_home)."""
    home = SimulatedHome(hass)
    await home.async_setup()
    areas = [*dict.fromkeys(e.area for e in HOME if e.area), *EXTRA_AREAS]
    home.add_home(areas, HOME_DEVICES, HOME)
    return home


async def async_feed_nodes(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The fixture nodes report (as MQTT/ESPHome would), their devices get their areas, and the
    escalations' diagnoses are awaited."""
    example = json.loads((ROOT / "tests/fixtures/protocol/valid/escalation_mqtt.json").read_text())
    hub = entry.runtime_data.hub
    seq = 0
    for node_id, task, _area, messages in NODES:
        for kind, label, confidence in messages:
            seq += 1
            payload = {**example, "node_id": node_id, "task": task, "kind": kind, "class": label, "seq": seq}
            payload["confidence"] = confidence
            if kind == "detection":
                payload.pop("reason", None)
            hub.handle_payload(payload)
    await hass.async_block_till_done(wait_background_tasks=True)
    devices, areas = dr.async_get(hass), ar.async_get(hass)
    for node_id, _task, area, _messages in NODES:
        device = devices.async_get_device_by_identifier(("binmoe", f"{entry.entry_id}_{node_id}"), entry.entry_id)
        assert device is not None, f"no device for node {node_id}"
        area_entry = areas.async_get_area_by_name(area) or areas.async_create(area)
        devices.async_update_device(device.id, area_id=area_entry.id)


async def async_template_cases(hass: HomeAssistant, per_intent: int, seed: int = 0) -> list[Case]:
    """Sampled template sentences whose intent Home Assistant's recognizer reads in this home and whose
    outcome voice_cases.expected_outcome can tell; up to `per_intent` of each intent (TEMPLATE_INTENTS)."""
    agent = get_agent_manager(hass).default_agent
    assert agent is not None
    cases: list[Case] = []
    seen: set[str] = set()
    for intent_name, text in sample_template_sentences(seed):
        if text.lower() in seen or sum(c.intent == intent_name for c in cases) >= per_intent:
            continue
        result = await agent.async_recognize_intent(text_input(text), strict_intents_only=True)
        if result is None or result.intent.name != intent_name or result.unmatched_entities:
            continue
        slots = {k: v.value for k, v in result.entities.items() if k in SLOT_KEYS}
        if (case := expected_outcome(intent_name, slots, result.response)) is None:
            continue
        seen.add(text.lower())
        cases.append(replace(case, sentence=text))
    return cases


async def async_served_intents(hass: HomeAssistant, home: SimulatedHome, tries: int = 12) -> set[str]:
    """The intents of Home Assistant's English templates that this home serves: a sentence sampled from
    them (over the home's names and areas), read strictly by Home Assistant's recognizer as that intent
    and said to its own agent, is carried out or answered about entities of the home. Up to `tries`
    recognized sentences per intent; the home starts as the fixture before each."""
    from hassil import Intents
    from home_assistant_intents import get_intents

    english = get_intents("en")
    assert english is not None
    agent = get_agent_manager(hass).default_agent
    assert agent is not None
    home_ids = {entity.entity_id for entity in HOME}
    served: set[str] = set()
    counts: dict[str, int] = {}
    for intent_name, text in sample_template_sentences(0, sorted(Intents.from_dict(english).intents)):
        if intent_name in served or counts.get(intent_name, 0) >= tries:
            continue
        result = await agent.async_recognize_intent(text_input(text), strict_intents_only=True)
        if result is None or result.intent.name != intent_name or result.unmatched_entities:
            continue
        counts[intent_name] = counts.get(intent_name, 0) + 1
        for entity in HOME:
            home.set_state(entity)
        said = await conversation.async_converse(
            hass, text, None, Context(), language="en", agent_id=conversation.HOME_ASSISTANT_AGENT
        )
        response = said.response
        if response.response_type is not intent.IntentResponseType.ERROR and any(
            state.entity_id in home_ids for state in response.matched_states
        ):
            served.add(intent_name)
    return served


async def async_template_matches(hass: HomeAssistant, sentences: list[str]) -> list[str]:
    """Those of `sentences` that a template of Home Assistant's or BinMoE's matches strictly."""
    from hassil import recognize

    from custom_components.binmoe.intents import DATA_SENTENCES

    agent = get_agent_manager(hass).default_agent
    assert agent is not None
    ours = hass.data[DATA_SENTENCES].intents
    return [
        text
        for text in sentences
        if await agent.async_recognize_intent(text_input(text), strict_intents_only=True) is not None
        or recognize(text, ours) is not None
    ]


async def async_all_cases(hass: HomeAssistant, per_intent: int) -> list[Case]:
    return [*(await async_template_cases(hass, per_intent)), *BINMOE_QUESTIONS, *PARAPHRASES]


def text_input(text: str) -> conversation.ConversationInput:
    return conversation.ConversationInput(
        text=text, context=Context(), conversation_id=None, device_id=None, satellite_id=None,
        language="en", agent_id=conversation.HOME_ASSISTANT_AGENT,
    )  # fmt: skip


def last_path() -> str:
    """Which path the BinMoE agent says answered the last sentence (its conversation trace)."""
    for trace in reversed(async_get_traces()):
        for event in trace.as_dict()["events"]:
            if event["event_type"] == "agent_detail" and "binmoe_path" in (event.get("data") or {}):
                return str(event["data"]["binmoe_path"])
    return "unknown"


async def async_run_case(hass: HomeAssistant, home: SimulatedHome, agent_id: str, case: Case) -> dict[str, Any]:
    """Say the sentence in the home as it was set up, and judge what happened."""
    for entity in starting_home(case):
        home.set_state(entity)
    before = home.snapshot()
    started = time.perf_counter()
    result = await conversation.async_converse(hass, case.sentence, None, Context(), language="en", agent_id=agent_id)
    latency = (time.perf_counter() - started) * 1000
    await hass.async_block_till_done()
    reply = str(result.response.speech.get("plain", {}).get("speech", ""))
    correct, problem = judge(case, before, home.snapshot(), reply)
    return {
        "sentence": case.sentence,
        "kind": case.kind,
        "expects": case.expects,
        "path": last_path(),
        "correct": correct,
        "problem": problem,
        "latency_ms": round(latency, 1),
        "reply": reply[:300],
    }


def starting_home(case: Case) -> list[Entity]:
    """The fixture home for one case; an entity that already is as the case expects starts otherwise
    (switched the other way, its number moved away), so that doing nothing never passes."""
    return [
        _away_from(entity, case.changes[entity.entity_id])
        if entity.entity_id in case.changes and _holds(entity, case.changes[entity.entity_id])
        else entity
        for entity in HOME
    ]


def _holds(entity: Entity, expected: dict[str, Any]) -> bool:
    current = {"state": entity.state, **entity.attributes}
    return all(_close(key, current.get(key), want) for key, want in expected.items())


def _away_from(entity: Entity, expected: dict[str, Any]) -> Entity:
    state, attributes = entity.state, dict(entity.attributes)
    if expected.get("state") == state and state in _OPPOSITE:
        state = _OPPOSITE[state]
        if "brightness" in attributes:
            attributes["brightness"] = 255 if state == "on" else None
    if "brightness" in expected and _close("brightness", attributes.get("brightness"), expected["brightness"]):
        attributes["brightness"] = 26 if expected["brightness"] > 128 else 255
    if "current_position" in expected and _close("", attributes.get("current_position"), expected["current_position"]):
        attributes["current_position"] = 0 if expected["current_position"] >= 50 else 100
    if "percentage" in expected and _close("", attributes.get("percentage"), expected["percentage"]):
        attributes["percentage"] = 10 if expected["percentage"] >= 50 else 100
    if "temperature" in expected and _close("", attributes.get("temperature"), expected["temperature"]):
        attributes["temperature"] = float(expected["temperature"]) + 4
    return replace(entity, state=state, attributes=attributes)


def judge(case: Case, before: dict[str, Any], after: dict[str, Any], reply: str) -> tuple[bool, str]:
    """(correct, why not): the expected changes happened and nothing else in the home changed; the reply
    holds every fact; a refusal changed nothing and says it could not."""
    home_ids = {entity.entity_id for entity in HOME}
    for entity_id, expected in case.changes.items():
        for key, want in expected.items():
            have = after[entity_id].get(key)
            if not _close(key, have, want):
                return False, f"{entity_id} {key} is {have!r}, expected {want!r}"
    changed = sorted(e for e in (home_ids & set(before)) - set(case.changes) if before[e] != after.get(e))
    if changed:
        return False, f"changed {', '.join(changed)}"
    text = reply.lower()
    missing = [fact for fact in case.facts if not any(alt in text for alt in fact.lower().split("|"))]
    if missing:
        return False, f"the reply lacks {missing}"
    if case.refuse and not any(word in text for word in REFUSAL_WORDS):
        return False, "the reply does not say it could not"
    return True, ""


def _close(key: str, have: Any, want: Any) -> bool:
    if isinstance(want, int | float) and isinstance(have, int | float):
        return abs(float(have) - float(want)) <= TOLERANCE.get(key, 0.5)
    return str(have).lower() == str(want).lower()


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy and latency overall, per path (who answered) and per kind of sentence."""

    def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
        if not rows:
            return {"sentences": 0}
        latencies = sorted(r["latency_ms"] for r in rows)
        return {
            "sentences": len(rows),
            "correct": sum(r["correct"] for r in rows),
            "accuracy": round(sum(r["correct"] for r in rows) / len(rows), 3),
            "latency_ms_p50": round(statistics.median(latencies), 1),
            "latency_ms_p95": latencies[math.ceil(0.95 * len(latencies)) - 1],  # nearest rank: never below p50
        }

    kinds = ("ha_template", "binmoe", "paraphrase")
    return {
        "overall": stats(results),
        "by_path": {path: stats([r for r in results if r["path"] == path]) for path in PATHS},
        "by_kind": {kind: stats([r for r in results if r.get("kind") == kind]) for kind in kinds},
    }
