"""The per-machine baseline on a sound node: "unusual sound here", measured (issue #15, item 1's last sentence).

A sound node can learn a baseline like a vibration node (docs/esphome.md, "Per-machine baseline"); this says
what it would do, on the independent held-out sound generator (`node_factory.heldout.sound`, never used for
training or tuning). Nothing is chosen from it: the baseline and threshold are the vibration nodes', the
hysteresis the sound node's default (`SOUND_PERSISTENCE_MS`: 2 s of signal above the threshold, 3.5 s below 3/4
of it; 3 and 6 windows at the default hop, what this benchmark measured before the hysteresis was a length).

Each room: a microphone and a room drawn by the held-out generator, a steady bed of one or two of its
continuous background kinds (room tone, fans, HVAC, a fridge, mains hum, traffic, rain, a clock; no babble
or silence) at 25-60 dB SPL at the microphone, rendered continuously for the baseline's 10 minutes and the
test stretch after it. In the test stretch, every `--every` seconds, one of the held-out event classes
(smoke and CO alarms, appliance beeps, doorbells, knocks, running water, speech or TV) sounds in a slot of
10 s, at the level and distance the generator draws for it. The sound node's features (`sound-v1`) at a hop
of half a window, as the `baseline` command's; the integer reference the node matches bit for bit. Two
conditions over the same rooms: `steady`, and `cycling`, where one more source (a fridge, HVAC or a fan)
switches on and off every 3-20 minutes throughout, so that some baselines hear it in one state only.

Reported per room and over all: the anomaly AUC (windows that overlap an event's sound against windows
more than one window away from any slot), false anomalies per hour (anomalies that start outside every slot
and the window after it), and the share of events during which an anomaly starts (from the slot's start to
one window after its end), per class.

Usage: python -m benchmarks.sound_baseline [--rooms 6] [--test-minutes 20] [--every 40] [--seed 7] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

import benchmarks_md
from node_factory.corpus.families import FAMILIES
from node_factory.evaluation.node_stream import stream_signatures
from node_factory.evaluation.vibration import auc
from node_factory.heldout.common import float_to_int16
from node_factory.heldout.sound.acoustics import draw_microphone, draw_room, place, record
from node_factory.heldout.sound.ambient import SpeechPool, render_ambient
from node_factory.heldout.sound.generate import SAMPLE_RATE
from node_factory.heldout.sound.shared import active_mask
from node_factory.heldout.sound.targets import EVENT_CLASSES, make_target
from node_factory.reference.baseline import (
    SOUND_PERSISTENCE_MS,
    AnomalyDetector,
    BaselineLearner,
    digest8,
    persistence_windows,
)

SECTION = "sound_baseline"
BED_KINDS = ("room_tone", "hvac", "fan", "fridge", "traffic", "mains_hum", "clock", "rain")
CYCLING_KINDS = ("fridge", "hvac", "fan")
BASELINE_S = 600.0
SLOT_S = 10.0


def on_off(rng: np.random.Generator, n: int, sr: float) -> tuple[NDArray[np.float64], list[float]]:
    """An appliance's duty cycle: on and off in turn for 3-20 minutes each (a random first state; a fridge
    compressor or a heating system cycles on that scale), 1 s ramps; the gain per sample and the switching
    times (s). A 10-minute baseline may hear one state only."""
    gate = np.zeros(n)
    t, on, switches = 0.0, bool(rng.random() < 0.5), []
    while t * sr < n:
        dwell = float(rng.uniform(180, 1200))
        gate[round(t * sr) : round((t + dwell) * sr)] = 1.0 if on else 0.0
        t, on = t + dwell, not on
        switches.append(round(t, 1))
    ramp = np.ones(round(sr)) / round(sr)
    return np.convolve(gate, ramp, mode="same").astype(np.float64), switches[:-1]


def render_room(
    seed: int, room_index: int, test_s: float, every_s: float, cycling: bool = False
) -> tuple[NDArray[np.int16], list[tuple[str, float, NDArray[np.bool_]]], dict[str, Any]]:
    """The room's recording (baseline, then the test stretch) and its events: (class, slot start s, active mask
    over the whole recording). `cycling`: one more bed source (a fridge, HVAC or a fan) switches on and off
    throughout, as appliances do; the rest of the room is the same as without it."""
    rng = np.random.default_rng([seed, room_index])
    sr = SAMPLE_RATE
    n = round((BASELINE_S + test_s) * sr)
    mic, room = draw_microphone(rng), draw_room(rng)
    kinds = [str(k) for k in rng.choice(BED_KINDS, size=int(rng.integers(1, 3)), replace=False)]
    pool = SpeechPool(rng, sr, voices=1, seconds=1.0)  # render_ambient's signature; no bed kind speaks
    bed = np.zeros(n)
    for i, kind in enumerate(kinds):
        bed += render_ambient(kind, rng, n, sr, pool).signal * (10 ** (rng.uniform(-10, 0) / 20) if i else 1.0)
    about: dict[str, Any] = {}
    if cycling:  # its own generator: the room's other draws stay those of the steady condition
        cycle_rng = np.random.default_rng([seed, room_index, 1])
        kind = str(cycle_rng.choice([k for k in CYCLING_KINDS if k not in kinds]))
        gate, switches = on_off(cycle_rng, n, sr)
        level = float(cycle_rng.uniform(-6, 6))
        bed = bed + render_ambient(kind, cycle_rng, n, sr, pool).signal * gate * 10 ** (level / 20)
        about = {"cycling": kind, "cycling_db": round(level, 1), "switches_s": switches}
    distance = float(rng.uniform(2.0, 8.0))
    pressure = place(bed, 60.0, distance, room, sr, rng)
    spl = float(rng.uniform(25, 60))
    pressure *= 2e-5 * 10 ** (spl / 20) / float(np.sqrt(np.mean(pressure**2)))
    events = []
    slot_n = round(SLOT_S * sr)
    for k, start in enumerate(np.arange(BASELINE_S + 5.0, BASELINE_S + test_s - SLOT_S, every_s)):
        label = EVENT_CLASSES[k % len(EVENT_CLASSES)]
        target = make_target(label, rng, slot_n, sr, mic, {})
        offset = round(start * sr)
        for source in target.sources:
            pressure[offset : offset + slot_n] += place(source.rendered.signal, source.spl_1m, source.distance_m,
                                                        room, sr, rng)[:slot_n]  # fmt: skip
        mask = np.zeros(n, dtype=bool)
        mask[offset : offset + slot_n] = active_mask(target.intervals, slot_n, sr)
        events.append((label, float(start), mask))
    x, _recording = record(pressure, mic, sr, rng)
    about.update(bed=kinds, spl_at_mic_db=round(spl, 1), rt60_s=round(room.rt60_s, 2))
    return float_to_int16(x), events, about


def measure_room(seed: int, room_index: int, test_s: float, every_s: float, cycling: bool = False) -> dict[str, Any]:
    cfg = FAMILIES["sound"].features
    samples, events, about = render_room(seed, room_index, test_s, every_s, cycling)
    hop = cfg.frames // 2
    signatures = stream_signatures(samples, cfg, hop)
    start = np.arange(len(signatures)) * hop * cfg.frame  # first sample of each window
    end = start + cfg.window_samples
    learn = int(np.sum(end <= BASELINE_S * SAMPLE_RATE))
    start_ms, end_ms = SOUND_PERSISTENCE_MS  # the sound node's default hysteresis
    persistence = persistence_windows(
        cfg.window_samples, hop * cfg.frame, start_ms * SAMPLE_RATE // 1000, end_ms * SAMPLE_RATE // 1000
    )
    learner = BaselineLearner(cfg.bands, learn, digest8(cfg.digest()), *persistence)
    for sig in signatures[:learn]:
        learner.push(sig)
    detector = AnomalyDetector(learner.result())
    pushed = [detector.push(sig) for sig in signatures[learn:]]
    scores = np.array([s for s, _ in pushed], dtype=np.int64)
    starts = np.array([st for _, st in pushed], dtype=bool)
    t0, t1 = start[learn:], end[learn:]
    slot_n, window_n = round(SLOT_S * SAMPLE_RATE), cfg.window_samples
    sounding = np.zeros(len(t0), dtype=bool)
    near_slot = np.zeros(len(t0), dtype=bool)
    detected: dict[str, list[bool]] = defaultdict(list)
    for label, slot_s, mask in events:
        a, b = round(slot_s * SAMPLE_RATE), round(slot_s * SAMPLE_RATE) + slot_n
        active_before = np.concatenate([[0], np.cumsum(mask)])
        sounding |= active_before[t1] > active_before[t0]  # the event sounds somewhere in the window
        near_slot |= (t1 > a - window_n) & (t0 < b + window_n)
        in_slot = (t1 > a) & (t1 <= b + window_n)
        detected[label].append(bool(starts[in_slot].any()))
    background = ~near_slot
    hours = float(np.sum(background)) * hop * cfg.frame / SAMPLE_RATE / 3600
    false_starts = int(np.sum(starts & background))
    if cycling:  # which false anomalies start within 10 s of the cycling source switching, and the baseline's view
        switch_n = np.array(about["switches_s"]) * SAMPLE_RATE
        near_switch = np.array([bool(np.any((e >= switch_n) & (e <= switch_n + 10 * SAMPLE_RATE))) for e in t1])
        about["false_anomalies_at_a_switch"] = int(np.sum(starts & background & near_switch))
        about["baseline_heard_both_states"] = bool(np.any(np.array(about["switches_s"]) < BASELINE_S))
    return {
        **about,
        "baseline_windows": learn,
        "threshold": detector.baseline.threshold,
        "auc": round(auc(scores[background], scores[sounding]), 3),
        "false_anomalies": false_starts,
        "background_hours": round(hours, 3),
        "events_detected": {label: [int(sum(v)), len(v)] for label, v in detected.items()},
    }


def summarise(rooms: list[dict[str, Any]]) -> dict[str, Any]:
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rooms:
        for label, (hit, total) in r["events_detected"].items():
            per_class[label][0] += hit
            per_class[label][1] += total
    hours = sum(r["background_hours"] for r in rooms)
    false = sum(r["false_anomalies"] for r in rooms)
    return {
        "auc_mean": round(float(np.mean([r["auc"] for r in rooms])), 3),
        "auc_min": round(float(np.min([r["auc"] for r in rooms])), 3),
        "false_anomalies": false,
        "background_hours": round(hours, 2),
        "false_anomalies_per_hour": round(false / hours, 2) if hours else None,
        "events_detected": {label: v[0] / v[1] for label, v in per_class.items()},
        "events": {label: v for label, v in per_class.items()},
    }


CONDITIONS = ("steady", "cycling")


def table(rooms: list[dict[str, Any]], condition: str) -> str:
    def bed(r: dict[str, Any]) -> str:
        if condition == "steady":
            return ", ".join(r["bed"])
        heard = "both states" if r["baseline_heard_both_states"] else "one state"
        return f"{', '.join(r['bed'])} + {r['cycling']} on/off at {r['cycling_db']:+g} dB (baseline heard {heard})"

    def false(r: dict[str, Any]) -> str:
        at_switch = f" ({r['false_anomalies_at_a_switch']} at a switch)" if condition == "cycling" else ""
        return f"{r['false_anomalies']} in {r['background_hours']:.2f} h{at_switch}"

    events = [
        ", ".join(f"{label} {hit}/{total}" for label, (hit, total) in r["events_detected"].items()) for r in rooms
    ]
    return "\n".join(
        f"| {condition} | {i} | {bed(r)} | {r['spl_at_mic_db']:g} | {r['auc']:.3f} | {false(r)} | {events[i]} |"
        for i, r in enumerate(rooms)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=6)
    parser.add_argument("--test-minutes", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=40.0, help="seconds between event slots")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks alone")
    args = parser.parse_args()
    if args.rooms < 1 or args.test_minutes * 60 < args.every + SLOT_S or args.every < SLOT_S + 5:
        parser.error("need at least one room, a test stretch longer than one slot, and slots at least 15 s apart")
    began = time.monotonic()
    result: dict[str, Any] = {"args": vars(args)}
    for condition in CONDITIONS:
        rooms = []
        for i in range(args.rooms):
            r = measure_room(args.seed, i, args.test_minutes * 60, args.every, condition == "cycling")
            rooms.append(r)
            print(f"{condition} room {i}: {r}", file=sys.stderr, flush=True)
        result[condition] = {"summary": summarise(rooms), "rooms": rooms}
        print(condition, {k: v for k, v in result[condition]["summary"].items() if k != "events"}, flush=True)
    print(f"[{time.monotonic() - began:.0f} s]")
    if args.no_write:
        return 0
    benchmarks_md.write_json(SECTION, result)
    overall = []
    for condition in CONDITIONS:
        summary = result[condition]["summary"]
        classes = ", ".join(f"{label} {share:.2f}" for label, share in summary["events_detected"].items())
        overall.append(
            f"- **{condition}**: AUC mean {summary['auc_mean']:.3f} (min {summary['auc_min']:.3f}); "
            f"{summary['false_anomalies']} false anomalies in {summary['background_hours']:.2f} h of the bed alone "
            f"({summary['false_anomalies_per_hour']} / h); events flagged per class: {classes}."
        )
    body = (
        f"The per-machine baseline on the sound node's features (`sound-v1`, hop 512 ms), {args.rooms} rooms of "
        "the independent held-out sound generator: a 10-minute baseline of each room's bed, then "
        f"{args.test_minutes:g} minutes with an event slot of 10 s every {args.every:g} s (held-out event classes "
        "in turn, at the levels and distances the generator draws). `steady`: the bed does not change; "
        "`cycling`: the same rooms with one more bed source switching on and off every 3-20 minutes. The vibration "
        "nodes' threshold; the sound node's hysteresis (an anomaly after 2 s of signal above the threshold, 3 "
        "windows in a row at this hop; it ends after 3.5 s, 6 windows, under 3/4 of it); nothing was tuned on these "
        "rooms.\n\n"
        "| condition | room | bed | SPL at the mic (dB) | AUC | false anomalies | events during which an anomaly "
        "starts |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(table(result[c]["rooms"], c) for c in CONDITIONS)
        + "\n\n"
        + "\n".join(overall)
    )
    default = (6, 20.0, 40.0, 7)
    command = "python -m benchmarks.sound_baseline" + (
        "" if (args.rooms, args.test_minutes, args.every, args.seed) == default
        else f" --rooms {args.rooms} --test-minutes {args.test_minutes:g} --every {args.every:g} --seed {args.seed}"
    )  # fmt: skip
    benchmarks_md.write_section(SECTION, 'Sound node: the per-machine baseline ("unusual sound here")', command, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
