"""Runs assist-dataset tasks (benchmarks/assist_dataset.py) through a conversation agent, home by home, in
a simulated home (benchmarks/voice_home.py with benchmarks/assist_devices.py's device rules). Each home's
areas, devices (a request's `context_device` is one of them) and entities go into Home Assistant's
registries (SimulatedHome.add_home, the same path as this repository's fixture home); every task starts
from the home's fixture states with the task's `setup` applied."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar

from .assist_dataset import AssistTask, FixtureHome, load_home, score, scored, supported
from .assist_devices import PLATFORM, SIMULATED_DOMAINS, SYNTHETIC_RULES, TodoLists
from .voice_harness import PATHS, last_path, summarize
from .voice_home import Entity, SimulatedHome


class AssistHome:
    """The simulated home the tasks run in; `async_load` swaps in a dataset home."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.home = SimulatedHome(hass, SYNTHETIC_RULES, PLATFORM)
        self.todo = TodoLists(hass)
        self.fixture: FixtureHome | None = None

    @property
    def devices(self) -> dict[str, str]:
        """The dataset's device id -> device registry id (a request's `context_device`)."""
        return self.home.devices

    async def async_setup(self) -> None:
        """Set Home Assistant's components up (before any agent, which needs them)."""
        await self.home.async_setup(extra_domains=("todo",))

    async def async_load(self, task: AssistTask) -> None:
        await self._async_clear()
        self.fixture = fixture = load_home(task.home)
        simulated = [e for e in fixture.entities if not e.entity_id.startswith("todo.")]
        self.home.add_home(fixture.areas, fixture.devices, simulated)
        for entity in fixture.entities:
            if entity.entity_id.startswith("todo."):
                await self._async_add_todo(entity)

    async def _async_add_todo(self, entity: Entity) -> None:
        """A real to-do list entity (its state is its own), registered and exposed like the others."""
        self.home.register_entity(entity)
        await self.todo.async_add(entity.entity_id, entity.name, list(entity.attributes.get("todo_items") or []))

    def set_up(self, task: AssistTask) -> None:
        """The home's fixture states with the task's `setup` (a fresh home, as the dataset starts each task)."""
        for entity in load_home(task.home, task.setup).entities:
            if not entity.entity_id.startswith("todo."):
                self.home.set_state(entity)
        self.todo.reset()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        ids = {entity.entity_id for entity in self.fixture.entities} if self.fixture else set()
        return {k: v for k, v in self.home.snapshot().items() if k in ids}  # the dataset home's, not BinMoE's

    async def _async_clear(self) -> None:
        """Remove the previous home's entities, devices and areas (the BinMoE entry's own entities stay)."""
        await self.todo.async_clear()
        self.home.clear()
        areas = ar.async_get(self.hass)
        for area in list(areas.async_list_areas()):
            areas.async_delete(area.id)


async def async_run_assist(
    hass: HomeAssistant,
    home: AssistHome,
    agent_id: str,
    tasks: list[AssistTask],
    progress: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """One row per task: its id, categories and, when scored, the path that answered, pass/fail, latency."""
    results = []
    current = None
    for task in tasks:
        row: dict[str, Any] = {"task": task.task_id, "categories": task.categories, "sentence": task.sentence}
        if not scored(task):
            results.append({**row, "scored": False, "supported": True})
            continue
        if not supported(task, SIMULATED_DOMAINS):
            results.append({**row, "scored": True, "supported": False})
            continue
        if task.home != current:
            await home.async_load(task)
            current = task.home
        home.set_up(task)
        await hass.async_block_till_done()
        before = home.snapshot()
        device_id = home.devices.get(task.context_device) if task.context_device else None
        started = time.perf_counter()
        result = await conversation.async_converse(
            hass, task.sentence, None, Context(), language="en", agent_id=agent_id, device_id=device_id
        )
        latency = (time.perf_counter() - started) * 1000
        await hass.async_block_till_done()
        reply = str(result.response.speech.get("plain", {}).get("speech", ""))
        correct, problem = score(task, before, home.snapshot(), reply)
        results.append(
            {
                **row,
                "scored": True,
                "supported": True,
                "path": last_path(),
                "correct": correct,
                "problem": problem,
                "latency_ms": round(latency, 1),
                "reply": reply[:300],
            }
        )
        verdict = f"{'OK ' if correct else 'BAD'} {latency:7.0f} ms {results[-1]['path']:14}"
        progress(f"{verdict} {task.sentence!r} {problem} -> {reply[:150]!r}")  # the console only
    return results


def summarize_assist(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy and latency per path, per category (a task counts in each of its categories) and overall."""
    run = [r for r in results if r["scored"] and r["supported"]]
    summary = summarize(run)
    del summary["by_kind"]  # the fixture home's kinds of sentence; a dataset task has categories instead
    summary["not_scored_by_dataset"] = sum(1 for r in results if not r["scored"])
    summary["unsupported"] = sum(1 for r in results if r["scored"] and not r["supported"])
    categories = sorted({c for r in run for c in r["categories"]})
    summary["by_category"] = {c: summarize([r for r in run if c in r["categories"]])["overall"] for c in categories}
    assert set(summary["by_path"]) == set(PATHS)
    return summary
