"""The training side's block check (benchmarks/alarm_blocks.py): the default node hears the first two alarm scenes
(a T3 and a T4) within 10 s, and fresh rooms change a scene's room and nothing else of it."""

from __future__ import annotations

import pytest

from benchmarks import alarm_blocks
from node_factory.corpus import scenes


def test_the_first_scenes_are_heard() -> None:
    missed, totals = alarm_blocks.alarm_block(0, 2)
    assert totals == {"smoke_alarm": 1, "co_alarm": 1} and missed == {}


def test_fresh_rooms_change_the_room_only(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = [s.meta for s in scenes.alarm_scenes(2, alarm_blocks.CACHE / "scenes")]
    monkeypatch.setattr(alarm_blocks, "FRESH_ROOMS", 3)
    monkeypatch.setattr(scenes, "sources", scenes.sources)  # restored after the test
    alarm_blocks.with_fresh_rooms(7)
    fresh = [s.meta for s in scenes.alarm_scenes(2, alarm_blocks.CACHE / "scenes")]
    assert [m["rt60_s"] for m in fresh] != [m["rt60_s"] for m in shipped]
    assert [{k: v for k, v in m.items() if k != "rt60_s"} for m in fresh] == [
        {k: v for k, v in m.items() if k != "rt60_s"} for m in shipped
    ]
