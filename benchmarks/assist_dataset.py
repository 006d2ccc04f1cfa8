"""Home Assistant's own LLM benchmark set (`datasets/assist/` of a user's home-assistant-datasets checkout)
read into this repository's voice harness: nothing of that dataset is copied here.

Its layout: one folder per home with `_fixtures.yaml` (areas, devices, entities with their states and
attributes, enum names such as `cover.CoverDeviceClass.GARAGE`) and record files (`category`, a name or a
list, and `tests`: `sentences`, `setup` state overrides, `expect_changes`, `ignore_changes`, optionally
`expect_response`, `context_device`). Each sentence is one task, scored as the dataset's own evaluation
(home_assistant_datasets/tool/assist/eval and entity_state/diff.py) scores it:
- with `expect_changes`: every entity of the home, after the sentence, must equal its state before with
  the expected changes applied (values compared exactly, as strings when types differ), ignoring the keys
  of `ignore_changes` and the derived cover/valve flags; and the reply must not say "Sorry";
- with `expect_response`: the reply holds one of its strings (case-insensitive);
- with neither (an empty `expect_changes: {}`), the dataset scores nothing: counted, not scored.
`context_device` is the device the request comes from (a satellite in its area). The devices are
simulated (benchmarks/assist_devices.py, after the dataset's synthetic home), not run by the dataset's
own integration, so the figures are this harness's, comparable in kind only.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .voice_home import Device, Entity

FIXTURES = "_fixtures.yaml"


@dataclass
class AssistTask:
    """One sentence of a record, with the home it runs in."""

    home: Path  # the folder holding _fixtures.yaml
    record: str  # the record file, relative to the dataset root
    index: int  # the sentence's place among the record's sentences (its id with `record`)
    categories: list[str]
    sentence: str
    setup: dict[str, dict[str, Any]] = field(default_factory=dict)
    expect_changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignore_changes: dict[str, list[str]] = field(default_factory=dict)
    expect_response: list[str] = field(default_factory=list)
    context_device: str | None = None
    expect_tool_call: bool = False  # checked on the LLM's trace by the dataset; not by this harness

    @property
    def task_id(self) -> str:
        return f"{self.record}#{self.index}"


@dataclass
class FixtureHome:
    areas: list[str]
    devices: list[Device]  # keyed by the dataset's device ids
    entities: list[Entity]


def load_tasks(root: Path) -> list[AssistTask]:
    """Every task under `root` (the dataset's `datasets/assist` folder, or one home folder of it)."""
    tasks = []
    for fixture in sorted(root.rglob(FIXTURES)):
        for record_file in sorted(fixture.parent.glob("*.yaml")):
            if record_file.name == FIXTURES:
                continue
            record = yaml.safe_load(record_file.read_text(encoding="utf-8")) or {}
            category = record.get("category", "")
            categories = [str(c) for c in category] if isinstance(category, list) else [str(category)]
            index = 0
            for test in record.get("tests") or []:
                expect_response = test.get("expect_response") or []
                for sentence in test.get("sentences") or []:
                    tasks.append(
                        AssistTask(
                            home=fixture.parent,
                            record=str(record_file.relative_to(root)),
                            index=index,
                            categories=categories,
                            sentence=str(sentence),
                            setup=test.get("setup") or {},
                            expect_changes=test.get("expect_changes") or {},
                            ignore_changes=_ignored(test.get("ignore_changes") or {}),
                            expect_response=[expect_response] if isinstance(expect_response, str) else expect_response,
                            context_device=test.get("context_device"),
                            expect_tool_call=bool(test.get("expect_tool_call")),
                        )
                    )
                    index += 1
    return tasks


def _ignored(spec: dict[str, Any]) -> dict[str, list[str]]:
    """`ignore_changes` maps an entity to the keys to ignore ('state' is one): a list, or a mapping read as
    its keys (the dataset's loader reads `{color_mode: brightness, brightness: 100}` as those two keys)."""
    return {entity_id: [str(k) for k in keys] for entity_id, keys in spec.items()}


def load_home(folder: Path, setup: dict[str, dict[str, Any]] | None = None) -> FixtureHome:
    """The home of `folder`'s _fixtures.yaml, with a task's `setup` applied."""
    spec = yaml.safe_load((folder / FIXTURES).read_text(encoding="utf-8")) or {}
    area_names = {area["id"]: area["name"] for area in spec.get("areas") or []}
    devices = {
        device["id"]: Device(device["id"], device["name"], area_names.get(device.get("area", "")))
        for device in spec.get("devices") or []
    }
    entities = []
    for item in spec.get("entities") or []:
        override = (setup or {}).get(item["id"], {})
        attributes = {**(item.get("attributes") or {}), **(override.get("attributes") or {})}
        raw_state = override.get("state", item.get("state"))
        attributes = {key: _value(value) for key, value in attributes.items()}
        domain = item["id"].split(".")[0]
        device = devices.get(item.get("device", ""))
        area = area_names.get(item.get("area", "")) or (device.area if device else None)
        state = _state(domain, raw_state, attributes)
        attributes.pop("native_value", None)
        if "native_unit_of_measurement" in attributes:
            attributes["unit_of_measurement"] = attributes.pop("native_unit_of_measurement")
        entities.append(Entity(item["id"], item["name"], area, state, attributes, device.key if device else None))
    return FixtureHome(sorted(area_names.values()), list(devices.values()), entities)


def _value(value: Any) -> Any:
    """Enum names such as `cover.CoverDeviceClass.GARAGE` become their values; lists of flags are OR-ed."""
    if isinstance(value, list) and value and all(isinstance(v, str) and v.count(".") == 2 for v in value):
        flags = [_value(v) for v in value]
        if all(isinstance(flag, int) for flag in flags):
            total = 0
            for flag in flags:
                total |= flag
            return total
        return flags
    if isinstance(value, str) and value.count(".") == 2 and " " not in value:
        domain, enum_name, member = value.split(".")
        try:
            enum = getattr(importlib.import_module(f"homeassistant.components.{domain}"), enum_name)
            resolved = getattr(enum, member).value
        except (ImportError, AttributeError):
            return value
        return int(resolved) if isinstance(resolved, int) else resolved
    return value


def _state(domain: str, raw: Any, attributes: dict[str, Any]) -> str:
    if isinstance(raw, bool):
        if domain == "cover":
            return "open" if raw else "closed"
        if domain == "lock":
            return "locked" if raw else "unlocked"
        return "on" if raw else "off"
    if raw is not None:
        return str(raw)
    if domain == "light":
        return "on" if attributes.get("brightness") else "off"
    if domain in ("switch", "fan", "input_boolean", "binary_sensor", "media_player"):
        return "off"
    if domain in ("cover", "valve"):
        return "closed"
    if domain == "lock":
        return "locked"
    if domain == "climate":
        return str(attributes.get("hvac_mode", "off"))
    if domain == "todo":  # a list's state is its number of open items
        return str(sum(1 for item in attributes.get("todo_items") or [] if item.get("status") != "completed"))
    if domain == "sensor" and "native_value" in attributes:
        return str(attributes["native_value"])
    return "unknown"


def scored(task: AssistTask) -> bool:
    """Whether the dataset's evaluation scores the task at all (it skips one with no expectation)."""
    return bool(task.expect_changes or task.expect_response)


def supported(task: AssistTask, domains: Collection[str]) -> bool:
    """Whether the simulated devices (`domains`) can make the task's changes and the harness can check all
    it expects (others are reported, not scored)."""
    return not task.expect_tool_call and all(entity_id.split(".")[0] in domains for entity_id in task.expect_changes)


# Derived from state and position, never declared by a record (entity_state/diff.py ignores them too)
DERIVED = frozenset({"is_closed", "is_opening", "is_closing"})


def score(
    task: AssistTask, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], reply: str
) -> tuple[bool, str]:
    """(passed, why not) for one task, from the home's states before and after and the spoken reply."""
    if task.expect_changes:
        for entity_id in task.expect_changes:
            if entity_id not in before:
                return False, f"the record expects {entity_id}, which the home does not have"
        expected = {entity_id: dict(state) for entity_id, state in before.items()}
        for entity_id, change in task.expect_changes.items():
            if change.get("state") is not None:
                expected[entity_id]["state"] = change["state"]
            expected[entity_id].update(change.get("attributes") or {})
        for entity_id, want in expected.items():
            have = after.get(entity_id, {})
            ignored = set(task.ignore_changes.get(entity_id, [])) | DERIVED
            differs = {k for k in want if not _same(have.get(k), want[k])} | {k for k in have if k not in want}
            if differs := differs - ignored:
                key = sorted(differs)[0]
                return False, f"{entity_id} {key} is {have.get(key)!r}, expected {want.get(key)!r}"
        if "Sorry" in reply:
            return False, "the state is right but the reply says Sorry"
    if task.expect_response and not any(word.lower() in reply.lower() for word in task.expect_response):
        return False, f"the reply holds none of {task.expect_response}"
    return True, ""


def _same(have: Any, want: Any) -> bool:
    """The dataset's comparison: sequences element by element, otherwise equal or equal as strings."""
    if isinstance(have, list | tuple) or isinstance(want, list | tuple):
        return isinstance(have, list | tuple) and isinstance(want, list | tuple) and list(have) == list(want)
    return bool(have == want) or str(have) == str(want)
