"""queue.py: the offline queue's own contract. A bounded FIFO that drops the oldest request and counts it,
puts an interrupted request back in front (or drops it, on a full queue: it is the oldest), and persists
through Home Assistant's Store (the `hass_storage` fixture is Home Assistant's in-memory storage)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.binmoe.queue import STORAGE_VERSION, EscalationQueue, request_ref

ENTRY = "01JQUEUETESTENTRY000000000"
KEY = f"binmoe.{ENTRY}.queue"


def request(seq: int) -> dict[str, Any]:
    return {"v": 1, "escalation": {"node_id": "garage-sound", "boot": 7, "seq": seq}}


def seqs(queue: EscalationQueue) -> list[int]:
    """The queue's sequence numbers, front first (popping it empty)."""
    found = []
    while queue.peek() is not None:
        found.append(queue.pop()["escalation"]["seq"])
    return found


def stored(seq_list: list[int], dropped: int) -> dict[str, Any]:
    """A queue as Store writes it to disk."""
    data = {"items": [request(s) for s in seq_list], "dropped": dropped}
    return {"version": STORAGE_VERSION, "minor_version": 1, "key": KEY, "data": data}


def test_request_ref() -> None:
    assert request_ref(request(12)) == "garage-sound/7/12"
    assert request_ref({"v": 1}) == "None/None/None"  # a malformed request still gets a printable name


async def test_full_queue_drops_the_oldest_and_counts_it(hass: HomeAssistant) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=3)
    for seq in range(1, 6):
        queue.push(request(seq))
    assert len(queue) == 3 and queue.dropped == 2
    assert seqs(queue) == [3, 4, 5]
    assert len(queue) == 0 and queue.dropped == 2  # popping is not dropping


async def test_push_front_puts_back_before_the_queued(hass: HomeAssistant) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=3)
    queue.push(request(2))
    queue.push(request(3))
    queue.push_front(request(1))
    assert queue.dropped == 0 and seqs(queue) == [1, 2, 3]


async def test_push_front_on_a_full_queue_drops_the_pushed_request(hass: HomeAssistant) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=2)
    queue.push(request(2))
    queue.push(request(3))
    queue.push_front(request(1))
    assert queue.dropped == 1 and seqs(queue) == [2, 3]


async def test_peek_does_not_remove_and_clear_counts(hass: HomeAssistant) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=5)
    assert queue.peek() is None and queue.clear() == 0
    queue.push(request(1))
    queue.push(request(2))
    first = queue.peek()
    assert first is not None and first["escalation"]["seq"] == 1 and len(queue) == 2
    assert queue.clear() == 2 and len(queue) == 0 and queue.peek() is None
    assert queue.dropped == 0  # cleared by the user, not dropped for room


async def test_flush_and_load_round_trip(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=2)
    for seq in (1, 2, 3):
        queue.push(request(seq))
    await queue.async_flush()
    assert hass_storage[KEY]["version"] == STORAGE_VERSION
    assert hass_storage[KEY]["data"] == {"items": [request(2), request(3)], "dropped": 1}
    again = EscalationQueue(hass, ENTRY, max_size=2)
    await again.async_load()
    assert again.dropped == 1 and seqs(again) == [2, 3]


async def test_a_change_is_saved_after_a_short_delay(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """A change is saved without a flush, once the delay has passed (not at once: bursts become one write)."""
    queue = EscalationQueue(hass, ENTRY, max_size=5)
    queue.push(request(1))
    await hass.async_block_till_done()
    assert KEY not in hass_storage
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    assert hass_storage[KEY]["data"] == {"items": [request(1)], "dropped": 0}


async def test_load_trims_to_max_size(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    """The user lowered the queue size: the oldest stored requests are dropped and counted on load."""
    hass_storage[KEY] = stored([1, 2, 3, 4, 5], dropped=2)
    queue = EscalationQueue(hass, ENTRY, max_size=3)
    await queue.async_load()
    assert queue.dropped == 4 and seqs(queue) == [3, 4, 5]


async def test_load_without_stored_data(hass: HomeAssistant) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=3)
    await queue.async_load()
    assert len(queue) == 0 and queue.dropped == 0


async def test_entries_have_their_own_storage(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    hass_storage[KEY] = stored([1], dropped=0)
    other = EscalationQueue(hass, "01JOTHERENTRY0000000000000", max_size=3)
    await other.async_load()
    assert len(other) == 0


async def test_remove_storage(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    queue = EscalationQueue(hass, ENTRY, max_size=3)
    queue.push(request(1))
    await queue.async_flush()
    assert KEY in hass_storage
    await EscalationQueue.async_remove_storage(hass, ENTRY)
    assert KEY not in hass_storage
    again = EscalationQueue(hass, ENTRY, max_size=3)
    await again.async_load()
    assert len(again) == 0 and again.dropped == 0
