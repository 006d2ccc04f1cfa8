"""Home Assistant's own LLM benchmark set (`datasets/assist/` of a user's home-assistant-datasets checkout)
read into this repository's voice harness: nothing of that dataset is copied here.

Its layout: one folder per home with `_fixtures.yaml` (areas, devices, entities with their states and
attributes, enum names such as `cover.CoverDeviceClass.GARAGE`) and record files (`category`, and `tests`:
`sentences`, `setup` state overrides, `expect_changes`, `ignore_changes`, optionally `expect_response`).
Each sentence is one task: the home is set up with the overrides, the sentence goes to the agent, and the
task passes when every expected change happened, no other entity changed (ignoring `ignore_changes`) and
the reply holds one of `expect_response`. The devices are simulated by benchmarks/voice_home.py, not by
the dataset's own synthetic-home integration, so the figures are this harness's, comparable in kind only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .voice_home import RULES, Entity

FIXTURES = "_fixtures.yaml"


@dataclass
class AssistTask:
    """One sentence of a record, with the home it runs in."""

    home: Path  # the folder holding _fixtures.yaml
    record: str  # the record file, relative to the dataset root
    category: str
    sentence: str
    setup: dict[str, dict[str, Any]] = field(default_factory=dict)
    expect_changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignore_changes: dict[str, list[str]] = field(default_factory=dict)
    expect_response: list[str] = field(default_factory=list)


@dataclass
class FixtureHome:
    areas: list[str]
    devices: dict[str, dict[str, Any]]  # device id -> name, area
    entities: list[Entity]


def load_tasks(root: Path) -> list[AssistTask]:
    """Every task under `root` (the dataset's `datasets/assist` folder, or one home folder of it)."""
    tasks = []
    for fixture in sorted(root.rglob(FIXTURES)):
        for record_file in sorted(fixture.parent.glob("*.yaml")):
            if record_file.name == FIXTURES:
                continue
            record = yaml.safe_load(record_file.read_text(encoding="utf-8")) or {}
            for test in record.get("tests") or []:
                expect_response = test.get("expect_response") or []
                for sentence in test.get("sentences") or []:
                    tasks.append(
                        AssistTask(
                            home=fixture.parent,
                            record=str(record_file.relative_to(root)),
                            category=str(record.get("category", "")),
                            sentence=str(sentence),
                            setup=test.get("setup") or {},
                            expect_changes=test.get("expect_changes") or {},
                            ignore_changes=_ignored(test.get("ignore_changes") or {}),
                            expect_response=[expect_response] if isinstance(expect_response, str) else expect_response,
                        )
                    )
    return tasks


def _ignored(spec: dict[str, Any]) -> dict[str, list[str]]:
    """`ignore_changes` comes as entity -> [keys] or entity -> {attributes: [keys]} ('state' is a key)."""
    ignored: dict[str, list[str]] = {}
    for entity_id, keys in spec.items():
        if isinstance(keys, dict):
            keys = [*keys.get("attributes", []), *(["state"] if keys.get("state") else [])]
        ignored[entity_id] = [str(k) for k in keys]
    return ignored


def load_home(folder: Path, setup: dict[str, dict[str, Any]] | None = None) -> FixtureHome:
    """The home of `folder`'s _fixtures.yaml, with a task's `setup` applied."""
    spec = yaml.safe_load((folder / FIXTURES).read_text(encoding="utf-8")) or {}
    area_names = {area["id"]: area["name"] for area in spec.get("areas") or []}
    devices = {
        device["id"]: {"name": device["name"], "area": area_names.get(device.get("area", ""))}
        for device in spec.get("devices") or []
    }
    entities = []
    for item in spec.get("entities") or []:
        override = (setup or {}).get(item["id"], {})
        attributes = {**(item.get("attributes") or {}), **(override.get("attributes") or {})}
        raw_state = override.get("state", item.get("state"))
        attributes = {key: _value(value) for key, value in attributes.items()}
        domain = item["id"].split(".")[0]
        area = area_names.get(item.get("area", "")) or (devices.get(item.get("device", ""), {}).get("area"))
        state = _state(domain, raw_state, attributes)
        attributes.pop("native_value", None)
        if "native_unit_of_measurement" in attributes:
            attributes["unit_of_measurement"] = attributes.pop("native_unit_of_measurement")
        entities.append(Entity(item["id"], item["name"], area, state, attributes))  # devices: areas only
    return FixtureHome(sorted(area_names.values()), devices, entities)


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
    if domain == "sensor" and "native_value" in attributes:
        return str(attributes["native_value"])
    return "unknown"


def supported(task: AssistTask) -> bool:
    """Whether the simulated devices can make the task's changes (others are reported, not scored)."""
    return all(entity_id.split(".")[0] in RULES for entity_id in task.expect_changes)


def score(
    task: AssistTask, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], reply: str
) -> tuple[bool, str]:
    """(passed, why not) for one task, from the home's states before and after and the spoken reply."""
    for entity_id, expected in task.expect_changes.items():
        flat = {**({"state": expected["state"]} if "state" in expected else {}), **(expected.get("attributes") or {})}
        for key, want in flat.items():
            have = after.get(entity_id, {}).get(key)
            if not _same(have, want):
                return False, f"{entity_id} {key} is {have!r}, expected {want!r}"
    for entity_id, state in after.items():
        if entity_id in task.expect_changes or entity_id not in before:
            continue
        changed = {k for k in set(state) | set(before[entity_id]) if state.get(k) != before[entity_id].get(k)}
        changed -= set(task.ignore_changes.get(entity_id, [])) | {"last_changed", "last_updated"}
        if changed:
            return False, f"{entity_id} changed ({', '.join(sorted(changed))}) though it should not"
    if task.expect_response and not any(word.lower() in reply.lower() for word in task.expect_response):
        return False, f"the reply holds none of {task.expect_response}"
    return True, ""


def _same(have: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return bool(have) == bool(want) and type(have) is type(want)
    if isinstance(want, int | float) and isinstance(have, int | float):
        return abs(float(have) - float(want)) <= max(1.0, abs(float(want)) * 0.02)
    if isinstance(want, list | tuple) and isinstance(have, list | tuple):
        return len(want) == len(have) and all(_same(h, w) for h, w in zip(have, want, strict=True))
    return str(have).lower() == str(want).lower()
