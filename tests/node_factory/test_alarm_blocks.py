"""The training side's block check (benchmarks/alarm_blocks.py): the default node hears the first two alarm scenes
(a T3 and a T4) within 10 s, and fresh rooms change a scene's room and nothing else of it."""

from __future__ import annotations

from benchmarks import alarm_blocks
from node_factory.corpus import scenes


def test_the_first_scenes_are_heard() -> None:
    missed, totals = alarm_blocks.alarm_block(0, 2)
    assert totals == {"smoke_alarm": 1, "co_alarm": 1} and missed == {}


def test_fresh_rooms_change_the_room_only() -> None:
    shipped = [s.meta for s in scenes.alarm_scenes(2, alarm_blocks.CACHE / "scenes")]
    fresh = [s.meta for s in scenes.alarm_scenes(2, alarm_blocks.CACHE / "scenes", rooms=(7, 3))]
    assert alarm_blocks.rooms_of(None) == scenes.ROOMS and alarm_blocks.rooms_of(7) == (7, alarm_blocks.FRESH_ROOMS)
    assert [m["rt60_s"] for m in fresh] != [m["rt60_s"] for m in shipped]
    assert [{k: v for k, v in m.items() if k != "rt60_s"} for m in fresh] == [
        {k: v for k, v in m.items() if k != "rt60_s"} for m in shipped
    ]
