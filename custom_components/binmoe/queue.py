"""Offline queue: escalations wait here while the GPU tier is unreachable, persisted across restarts."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1


def request_ref(request: dict[str, Any]) -> str:
    """`node_id/boot/seq` of a diagnosis request's escalation: the node's own name for the message."""
    escalation = request.get("escalation") or {}
    return f"{escalation.get('node_id')}/{escalation.get('boot')}/{escalation.get('seq')}"


class EscalationQueue:
    """FIFO of diagnosis requests, bounded: when full, the OLDEST entry is dropped and counted.

    Dropping the oldest keeps the most recent situation (the one a user cares about now) answerable.
    Every change is saved with a short delay (Store coalesces bursts); unload flushes at once.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str, max_size: int) -> None:
        self._store = _store(hass, entry_id)
        self._items: deque[dict[str, Any]] = deque()
        self.max_size = max_size
        self.dropped = 0

    async def async_load(self) -> None:
        data = await self._store.async_load()
        if data:
            self._items = deque(data.get("items", []))
            self.dropped = int(data.get("dropped", 0))
            while len(self._items) > self.max_size:
                self._drop(self._items.popleft())

    def _data(self) -> dict[str, Any]:
        return {"items": list(self._items), "dropped": self.dropped}

    def _save(self) -> None:
        self._store.async_delay_save(self._data, 1.0)

    async def async_flush(self) -> None:
        await self._store.async_save(self._data())

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, request: dict[str, Any]) -> None:
        self.dropped += 1
        LOGGER.debug("queue full, dropped %s", request_ref(request))

    def push(self, request: dict[str, Any]) -> None:
        if len(self._items) >= self.max_size:
            self._drop(self._items.popleft())
        self._items.append(request)
        self._save()

    def push_front(self, request: dict[str, Any]) -> None:
        """Put back a request that was being sent when it had to stop (it is older than every queued one)."""
        if len(self._items) >= self.max_size:
            self._drop(request)  # it is the oldest: the one a full queue drops
        else:
            self._items.appendleft(request)
        self._save()

    def peek(self) -> dict[str, Any] | None:
        return self._items[0] if self._items else None

    def pop(self) -> dict[str, Any]:
        item = self._items.popleft()
        self._save()
        return item

    @staticmethod
    async def async_remove_storage(hass: HomeAssistant, entry_id: str) -> None:
        """Delete an entry's stored queue (the entry itself was deleted)."""
        await _store(hass, entry_id).async_remove()

    def remove_if(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        """Remove the requests `predicate` picks (not counted as dropped: nobody needs them); returns how many."""
        kept = deque(request for request in self._items if not predicate(request))
        removed = len(self._items) - len(kept)
        if removed:
            self._items = kept
            self._save()
        return removed

    def clear(self) -> int:
        count = len(self._items)
        self._items.clear()
        self._save()
        return count


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.queue")
