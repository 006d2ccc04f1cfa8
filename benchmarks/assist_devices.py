"""Devices of home-assistant-datasets' homes as that benchmark runs them: its `synthetic_home` integration
moves covers instantly during an evaluation, opens a valve to 100 %, runs a fan at 100 % when turned on,
counts tracks on media players and keeps real to-do lists (the state is the number of open items). The
`assist` records expect exactly these results (e.g. a fan turned on at `percentage: 100`), so the harness
simulates them for those homes; this repository's own fixture home keeps benchmarks/voice_home.py's rules.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from homeassistant.components.todo.const import TodoItemStatus, TodoListEntityFeature
from homeassistant.components.todo.entity import TodoItem, TodoListEntity
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.entity_platform import EntityPlatform

from .voice_home import RULES, Rule

PLATFORM = "assist_dataset"


def _open_to(position: int, closed: str = "closed") -> Rule:
    return lambda old, data: ("open" if position else closed, {**old.attributes, "current_position": position})


def _set_position(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    position = int(data["position"])
    return ("open" if position else "closed"), {**old.attributes, "current_position": position}


def _fan(percentage_of: Any) -> Rule:
    def rule(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        percentage = int(percentage_of(data))
        return ("on" if percentage else "off"), {**old.attributes, "percentage": percentage}

    return rule


def _track(step: int) -> Rule:
    return lambda old, data: (
        "playing",
        {**old.attributes, "media_track": int(old.attributes.get("media_track", 0)) + step},
    )


def _volume_step(step: float) -> Rule:
    def rule(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        level = min(1.0, max(0.0, float(old.attributes.get("volume_level", 1.0)) + step))
        return old.state, {**old.attributes, "volume_level": round(level, 2)}

    return rule


def _media_off(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "off", {**old.attributes, "media_track": None}


SYNTHETIC_RULES: dict[str, dict[str, Rule]] = {
    **RULES,
    "cover": {
        "open_cover": _open_to(100),
        "close_cover": _open_to(0),
        "set_cover_position": _set_position,
        "stop_cover": lambda old, data: (old.state, dict(old.attributes)),
    },
    "valve": {"open_valve": _open_to(100), "close_valve": _open_to(0), "set_valve_position": _set_position},
    "fan": {
        "turn_on": _fan(lambda data: 100),
        "turn_off": _fan(lambda data: 0),
        "set_percentage": _fan(lambda data: data["percentage"]),
    },
    "media_player": {
        **RULES["media_player"],
        "turn_on": lambda old, data: ("playing", {**old.attributes, "media_track": 0}),
        "turn_off": _media_off,
        "media_stop": _media_off,
        "media_next_track": _track(1),
        "media_previous_track": _track(-1),
        "volume_up": _volume_step(0.1),
        "volume_down": _volume_step(-0.1),
    },
}
SIMULATED_DOMAINS = frozenset({*SYNTHETIC_RULES, "todo"})


class DatasetTodoList(TodoListEntity):
    """A to-do list of a dataset home: a real entity, since Home Assistant's list intents call it directly."""

    _attr_should_poll = False
    _attr_supported_features = (
        TodoListEntityFeature.CREATE_TODO_ITEM
        | TodoListEntityFeature.DELETE_TODO_ITEM
        | TodoListEntityFeature.UPDATE_TODO_ITEM
    )

    def __init__(self, entity_id: str, name: str, items: list[dict[str, Any]]) -> None:
        self.entity_id = entity_id
        self._attr_unique_id = entity_id  # the registry entry SimulatedHome.add_entities made
        self._attr_name = name
        self._initial = items
        self.reset()

    def reset(self) -> None:
        """Back to the fixture's items (each task starts from a fresh home)."""
        self._attr_todo_items = [
            TodoItem(
                summary=str(i.get("summary", "")), uid=f"{n}", status=TodoItemStatus(i.get("status", "needs_action"))
            )
            for n, i in enumerate(self._initial)
        ]

    async def async_create_todo_item(self, item: TodoItem) -> None:
        items = self._attr_todo_items or []
        self._attr_todo_items = [*items, TodoItem(summary=item.summary, uid=f"{len(items)}", status=item.status)]
        self.async_write_ha_state()

    async def async_delete_todo_items(self, uids: list[str]) -> None:
        self._attr_todo_items = [i for i in self._attr_todo_items or [] if i.uid not in uids]
        self.async_write_ha_state()

    async def async_update_todo_item(self, item: TodoItem) -> None:
        self._attr_todo_items = [item if i.uid == item.uid else i for i in self._attr_todo_items or []]
        self.async_write_ha_state()


class TodoLists:
    """The current home's to-do lists, on an entity platform of their own."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.platform = EntityPlatform(
            hass=hass,
            logger=logging.getLogger(__name__),
            domain="todo",
            platform_name=PLATFORM,
            platform=None,
            scan_interval=timedelta(hours=1),
            entity_namespace=None,
        )
        self.lists: dict[str, DatasetTodoList] = {}

    async def async_add(self, entity_id: str, name: str, items: list[dict[str, Any]]) -> None:
        self.lists[entity_id] = DatasetTodoList(entity_id, name, items)
        await self.platform.async_add_entities([self.lists[entity_id]])

    def reset(self) -> None:
        for todo in self.lists.values():
            todo.reset()
            todo.async_write_ha_state()

    async def async_clear(self) -> None:
        await self.platform.async_reset()
        self.lists = {}
