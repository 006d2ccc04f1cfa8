"""The sound-baseline benchmark (benchmarks/sound_baseline.py): its rooms hold the events it says, at the
slots it says, and its counting separates the bed from the events."""

from __future__ import annotations

import itertools

import numpy as np

from benchmarks.sound_baseline import BASELINE_S, CYCLING_KINDS, SLOT_S, measure_room, on_off, render_room, summarise
from node_factory.heldout.sound.generate import SAMPLE_RATE
from node_factory.heldout.sound.targets import EVENT_CLASSES


def test_a_room_is_a_steady_bed_with_an_event_in_each_slot() -> None:
    samples, events, about = render_room(3, 0, 70.0, 20.0)
    assert len(samples) == round((BASELINE_S + 70.0) * SAMPLE_RATE)
    assert [label for label, _s, _m in events] == list(EVENT_CLASSES[:3])  # slots at 605, 625 and 645 s
    assert [start for _l, start, _m in events] == [605.0, 625.0, 645.0]
    for _label, start, mask in events:  # each event sounds inside its own slot only
        active = np.flatnonzero(mask) / SAMPLE_RATE
        assert active.size and start <= active.min() and active.max() < start + SLOT_S
    assert about["bed"] and 25 <= about["spl_at_mic_db"] <= 60


def test_measuring_counts_every_event_once_and_the_bed_apart() -> None:
    room = measure_room(3, 0, 70.0, 20.0)
    assert {label: total for label, (_hit, total) in room["events_detected"].items()} == {
        label: 1 for label in EVENT_CLASSES[:3]
    }
    assert 0.0 <= room["auc"] <= 1.0 and room["baseline_windows"] == 1170  # 10 min at a 512 ms hop
    # bed alone: before the first slot (605 s minus a window) and after the last (655 s plus a window)
    assert 0.0 < room["background_hours"] < 70.0 / 3600
    summary = summarise([room, room])
    assert summary["false_anomalies"] == 2 * room["false_anomalies"]
    assert summary["events"]["smoke_alarm"] == [2 * room["events_detected"]["smoke_alarm"][0], 2]


def test_the_cycling_condition_is_the_same_room_with_one_source_switching() -> None:
    _s, steady_events, steady = render_room(3, 0, 70.0, 20.0)
    samples, events, cycling = render_room(3, 0, 70.0, 20.0, cycling=True)
    assert (cycling["bed"], cycling["spl_at_mic_db"]) == (steady["bed"], steady["spl_at_mic_db"])
    assert [(label, start) for label, start, _m in events] == [(label, start) for label, start, _m in steady_events]
    assert cycling["cycling"] in CYCLING_KINDS and cycling["cycling"] not in cycling["bed"]
    assert all(0 < t < BASELINE_S + 70.0 for t in cycling["switches_s"])
    assert len(samples) == round((BASELINE_S + 70.0) * SAMPLE_RATE)


def test_an_appliance_switches_every_3_to_20_minutes() -> None:
    sr = 10.0  # the gate alone, over 5 hours: a low rate keeps it cheap
    gate, switches = on_off(np.random.default_rng(5), round(5 * 3600 * sr), sr)
    dwells = np.diff([0.0, *switches])
    assert len(dwells) >= 15 and np.all((dwells >= 180) & (dwells <= 1200))
    states = [round(float(gate[round((a + b) / 2 * sr)]), 6) for a, b in itertools.pairwise([0.0, *switches])]
    assert set(states) == {0.0, 1.0} and all(x != y for x, y in itertools.pairwise(states))
