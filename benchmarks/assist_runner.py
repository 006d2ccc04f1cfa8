"""Runs assist-dataset tasks (benchmarks/assist_dataset.py) through a conversation agent, home by home, in
the simulated home of benchmarks/voice_home.py. Entities are placed in their areas directly (the dataset's
devices only carry names and areas, which the entities repeat)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er

from .assist_dataset import AssistTask, load_home, score, supported
from .voice_harness import PATHS, last_path, summarize
from .voice_home import SimulatedHome


async def async_run_assist(
    hass: HomeAssistant, agent_id: str, tasks: list[AssistTask], progress: Callable[[str], None] = lambda _: None
) -> list[dict[str, Any]]:
    home = SimulatedHome(hass)
    await home.async_setup()
    results = []
    current = None
    for task in tasks:
        if task.home != current:
            _clear(hass, home)
            fixture = load_home(task.home)
            areas = ar.async_get(hass)
            for name in fixture.areas:
                areas.async_get_area_by_name(name) or areas.async_create(name)
            home.add_entities(fixture.entities, platform="assist_dataset")
            current = task.home
        if not supported(task):
            results.append({"record": task.record, "sentence": task.sentence, "supported": False})
            continue
        for entity in load_home(task.home, task.setup).entities:
            home.set_state(entity)
        ids = {entity.entity_id for entity in fixture.entities}  # the dataset home's, not BinMoE's own
        before = {k: v for k, v in home.snapshot().items() if k in ids}
        started = time.perf_counter()
        reply_result = await conversation.async_converse(
            hass, task.sentence, None, Context(), language="en", agent_id=agent_id
        )
        latency = (time.perf_counter() - started) * 1000
        await hass.async_block_till_done()
        reply = str(reply_result.response.speech.get("plain", {}).get("speech", ""))
        after = {k: v for k, v in home.snapshot().items() if k in ids}
        correct, problem = score(task, before, after, reply)
        results.append(
            {
                "record": task.record,
                "category": task.category,
                "sentence": task.sentence,
                "supported": True,
                "path": last_path(),
                "correct": correct,
                "problem": problem,
                "latency_ms": round(latency, 1),
                "reply": reply[:300],
            }
        )
        progress(f"{'OK ' if correct else 'BAD'} {latency:7.0f} ms {results[-1]['path']:14} {task.sentence!r}")
    return results


def _clear(hass: HomeAssistant, home: SimulatedHome) -> None:
    """Remove the previous home's entities and areas (the BinMoE entry's own entities stay)."""
    registry = er.async_get(hass)
    for entry in list(registry.entities.values()):
        if entry.platform == "assist_dataset":
            registry.async_remove(entry.entity_id)
            hass.states.async_remove(entry.entity_id)
    areas = ar.async_get(hass)
    for area in list(areas.async_list_areas()):
        areas.async_delete(area.id)


def summarize_assist(results: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [r for r in results if r["supported"]]
    summary = summarize(scored)
    summary["unsupported"] = len(results) - len(scored)
    summary["by_category"] = {
        category: summarize([r for r in scored if r["category"] == category])["overall"]
        for category in sorted({r["category"] for r in scored})
    }
    assert set(summary["by_path"]) == set(PATHS)
    return summary
