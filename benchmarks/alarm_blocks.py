"""Training side: the default node's smoke and CO alarms within 10 s on a block of the training generator's long
alarm scenes, and its false alarms on a block of their alarm-free scenes. The alarm-code detector's rules are
developed on these scenes (`scenes.py`); a block nobody has read says what a rule is worth on new scenes of the
same generator (docs/node-model.md, "A second fresh block"). Nothing held-out is read here.

`--fresh-rooms SEED`: the same scenes in 64 other rooms of the same RT60 range (`synth.room_impulse_responses`
with that seed) instead of the 16 the scenes are made in; every other draw of a scene stays the same.

Usage: python -m benchmarks.alarm_blocks [--first 0] [--count 200] [--fresh-rooms SEED] [--alarm-free]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.alarm_code import CACHE, FAMILY, false_alarms, node_events
from node_factory.corpus import scenes

FRESH_ROOMS = 64


def rooms_of(fresh_seed: int | None) -> tuple[int, int]:
    """The rooms' (seed, count): the scenes' own 16, or `FRESH_ROOMS` rooms of `fresh_seed`."""
    return scenes.ROOMS if fresh_seed is None else (fresh_seed, FRESH_ROOMS)


def alarm_block(
    first: int, count: int, rooms: tuple[int, int] = scenes.ROOMS
) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Per class, the scenes of `first`..`first + count - 1` whose alarm was not reported within 10 s; scenes per
    class."""
    missed: dict[str, list[int]] = {}
    totals: dict[str, int] = {}
    for index, scene in enumerate(scenes.alarm_scenes(first + count, CACHE / "scenes", rooms=rooms)):
        if index < first:
            continue
        onset, label = float(scene.meta["onset_s"]), str(scene.meta["label"])
        totals[label] = totals.get(label, 0) + 1
        heard = any(FAMILY.classes[c] == label and onset <= t <= onset + 10.0 for c, t in node_events(scene.audio))
        if not heard:
            missed.setdefault(label, []).append(index)
    return missed, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=int, default=0, help="first scene of the block")
    parser.add_argument("--count", type=int, default=200, help="scenes in the block")
    parser.add_argument("--fresh-rooms", type=int, metavar="SEED", help="64 other rooms, drawn with this seed")
    parser.add_argument("--alarm-free", action="store_true", help="also the alarm-free scenes of the same block")
    args = parser.parse_args()
    if args.first < 0 or args.count < 1:
        parser.error("--first must be >= 0 and --count >= 1")
    rooms = rooms_of(args.fresh_rooms)
    start = time.monotonic()
    missed, totals = alarm_block(args.first, args.count, rooms)
    where = "16 shipped rooms" if args.fresh_rooms is None else f"{FRESH_ROOMS} rooms of seed {args.fresh_rooms}"
    print(f"alarm scenes {args.first}-{args.first + args.count - 1} ({where}), reported within 10 s:")
    for label, total in sorted(totals.items()):
        miss = missed.get(label, [])
        print(f"  {label}: {total - len(miss)} of {total}; missed: {miss}")
    if args.alarm_free:
        free = scenes.negative_scenes(args.first + args.count, CACHE / "scenes", rooms=rooms)
        block = ((f"scene {i}", s.audio) for i, s in enumerate(free) if i >= args.first)
        print(f"alarm-free scenes {args.first}-{args.first + args.count - 1}: {false_alarms(block)}")
    print(f"({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
