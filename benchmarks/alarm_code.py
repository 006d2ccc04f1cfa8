"""How well the node's alarm-code detector hears smoke (T3) and CO (T4) alarms, and how often it hears one
that is not there, on every kind of data the project has: no model involved (the detector reads the frame
features only), so it runs without a trained run.

- training side (what the detector's settings were chosen on): alarm scenes of the training generator in
  the training ranges, alarm-free scenes of its other classes, and the Debian `train` recordings;
- held-out conditions: the training generator's alarm scenes drawn from `synth.HELD_OUT` only;
- the independent generator (`node_factory.heldout`): its alarm scenes and their alarm-free twins;
- real recordings: the Debian `eval` packages (speech and music, no alarms), per package back to back.
An event is the node's: the code detector's matches through the event rules (a window every 0.512 s).
Nothing of the held-out sets was used to choose anything. The node is the default one: the tone-following T3/T4
detector (`alarm_tone`, reference/alarm_tone.py) feeds the smoke and CO events too. `--no-alarm-tone`: the node with
`alarm_tone: false` (the band detector alone), `--no-co-tone` the node with `co_tone: false` (the tone detector's
T3 only), `--no-alarm-pitch` the node with `alarm_pitch: false` (codes on tones of any pitch); printed only.

Usage: python -m benchmarks.alarm_code [--scenes 60] [--no-real-audio] [--no-write] [--no-alarm-tone]
       [--no-co-tone] [--no-alarm-pitch] [--skip-training]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.io import wavfile

import benchmarks_md
from node_factory.bench import node_model
from node_factory.corpus import debian_audio, scenes, synth
from node_factory.corpus.families import FAMILIES
from node_factory.evaluation.generalization import Protocol, node_alarm_events
from node_factory.evaluation.node_stream import stream_features
from node_factory.heldout import generate_alarm_events, generate_negative_scenes

FAMILY = FAMILIES["sound"]
PROTOCOL = Protocol()
CACHE = Path.home() / ".cache" / "binmoe"
SECTION = "alarm_code"


def node_events(audio: NDArray[np.int16], tone_detector: bool | None = None) -> list[tuple[int, float]]:
    """(class, time in s) of each alarm event the node reports for this stream; `tone_detector`: with the
    tone-following T3/T4 detector too (None: as `PROTOCOL.alarm_tone`)."""
    cfg, hop = FAMILY.features, PROTOCOL.hop_frames
    frames = stream_features(audio, cfg)
    node = PROTOCOL if tone_detector is None else replace(PROTOCOL, alarm_tone=tone_detector)
    fired = node_alarm_events(audio, frames, FAMILY.classes, cfg, node)
    return [(c, (i * hop + cfg.frames) * cfg.frame / cfg.sample_rate) for c, i in fired]


SNR_BANDS = ((-np.inf, 0.0, "<0"), (0.0, 10.0, "0-10"), (10.0, 20.0, "10-20"), (20.0, np.inf, ">=20"))


def snr_band(meta: dict[str, Any]) -> str:
    """The scene's SNR band in dB (`snr_db` of its meta), "clean" for a scene without noise or SNR."""
    snr = meta.get("snr_db")
    if snr is None or not np.isfinite(snr):
        return "clean"
    return next(name for low, high, name in SNR_BANDS if low <= float(snr) < high)


def recall(alarms: Iterable[Any]) -> dict[str, Any]:
    """Alarm scenes (meta: label, onset_s): the share reported as their class within 10 s of the onset."""
    found: dict[str, list[bool]] = defaultdict(list)
    by_snr: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    latencies, wrong = [], 0
    for scene in alarms:
        onset, label = float(scene.meta["onset_s"]), str(scene.meta["label"])
        events = node_events(scene.audio)
        hits = [t for c, t in events if FAMILY.classes[c] == label and onset <= t <= onset + PROTOCOL.report_within_s]
        wrong += sum(FAMILY.classes[c] != label for c, _t in events)
        found[label].append(bool(hits))
        by_snr[snr_band(scene.meta)][label].append(bool(hits))
        if hits:
            latencies.append(hits[0] - onset)
    every = [hit for hits in found.values() for hit in hits]
    return {
        "scenes": len(every),
        "event_recall": round(float(np.mean(every)), 3),
        "event_recall_by_class": {label: round(float(np.mean(h)), 3) for label, h in sorted(found.items())},
        "event_recall_by_snr_db": {
            band: {
                "scenes": sum(len(h) for h in per.values()),
                "event_recall": round(float(np.mean([x for h in per.values() for x in h])), 3),
                **{label: round(float(np.mean(h)), 3) for label, h in sorted(per.items())},
            }
            for band, per in sorted(by_snr.items(), key=lambda item: _band_order(item[0]))
        },
        "report_latency_s_median": round(float(np.median(latencies)), 2) if latencies else None,
        "events_of_the_other_alarm_class": wrong,
    }


def _band_order(band: str) -> int:
    names = [name for _low, _high, name in SNR_BANDS] + ["clean"]
    return names.index(band)


def false_alarms(streams: Iterable[tuple[str, NDArray[np.int16]]]) -> dict[str, Any]:
    """Alarm-free streams: alarm events per hour (and where)."""
    seconds, count, examples = 0.0, 0, []
    for name, audio in streams:
        events = node_events(audio)
        seconds += len(audio) / FAMILY.features.sample_rate
        count += len(events)
        examples += [{"stream": name, "class": FAMILY.classes[c], "at_s": round(t, 1)} for c, t in events][:3]
    hours = seconds / 3600
    return {"hours": round(hours, 3), "false_alarms": count, "false_alarms_per_hour": round(count / hours, 2),
            "examples": examples[:10]}  # fmt: skip


def add_recordings_argument(parser: argparse.ArgumentParser) -> None:
    """The training-side scripts' `--recordings [train|dev]`: which Debian recordings rule development hears."""
    parser.add_argument(
        "--recordings",
        nargs="?",
        const="train",
        choices=("train", "dev"),
        help="also the Debian recordings marked `train` (14.5 h; the default) or `dev` (6.1 h of music-heavy games)",
    )


def debian(purpose: debian_audio.Purpose) -> Iterable[tuple[str, NDArray[np.int16]]]:
    cache = CACHE / "real-audio"
    debian_audio.fetch(purpose, cache, progress=print)
    by_package: dict[str, list[debian_audio.Clip]] = defaultdict(list)
    for clip in debian_audio.load_clips(purpose, cache):
        by_package[clip.package].append(clip)
    for package, members in sorted(by_package.items()):
        yield package, np.concatenate([wavfile.read(c.path)[1] for c in sorted(members, key=lambda c: c.source)])


def window_rule_comparison() -> str:
    """The shipped model's own event rule on the same sets, as `generalize` last measured it (node_model.json)."""
    sound = benchmarks_md.read_json("node_model").get("sound", {})
    figures = sound.get("generalization", {})
    recall, per_hour = (figures.get(k) for k in ("critical_event_recall_window_rule",
                                                  "critical_false_alarms_per_hour_window_rule"))  # fmt: skip
    if recall is None or per_hour is None:
        return "The shipped model's window rule (`alarm_code: false`) has not been measured on these sets."
    model = str(sound.get("model_hash", "?"))[:8]
    return (
        f'For comparison, the shipped model\'s window rule (`alarm_code: false`; section "Node models (BNN)", model '
        f"{model}) reported {recall * 100:.0f} % of the independent alarm scenes and raised {per_hour} false alarms "
        "per hour on the same real recordings."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=60, help="alarm and alarm-free scenes per synthetic set")
    parser.add_argument("--no-real-audio", action="store_true", help="skip the Debian recordings")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--no-alarm-tone",
        "--no-smoke-tone",
        action="store_true",
        dest="no_alarm_tone",
        help="the node with alarm_tone: false (print only; --no-smoke-tone: its name until 2026-12-05)",
    )
    parser.add_argument("--no-co-tone", action="store_true", help="the node with co_tone: false (print only)")
    parser.add_argument("--no-alarm-pitch", action="store_true", help="the node with alarm_pitch: false (print only)")
    parser.add_argument("--skip-training", action="store_true", help="only the held-out and real-recording rows")
    args = parser.parse_args()
    global PROTOCOL  # the node's configuration for this run: node_events reads it
    if args.no_alarm_tone or args.no_co_tone or args.no_alarm_pitch or args.skip_training:
        PROTOCOL = Protocol(
            alarm_tone=not args.no_alarm_tone, co_tone=not args.no_co_tone, alarm_pitch=not args.no_alarm_pitch
        )
        args.no_write = True
    corpus_cache = CACHE / "corpus"
    started = time.monotonic()
    result: dict[str, Any] = {}

    def step(name: str, value: dict[str, Any]) -> None:
        result[name] = value
        print(f"[{time.monotonic() - started:6.0f} s] {name}: {value}", flush=True)

    negatives = scenes.negative_scenes(args.scenes, corpus_cache)
    twins = generate_negative_scenes(PROTOCOL.seed, PROTOCOL.scenes)
    if not args.skip_training:
        step("training_scenes", recall(scenes.alarm_scenes(args.scenes, corpus_cache)))
        step("training_alarm_free_scenes", false_alarms((f"scene {i}", s.audio) for i, s in enumerate(negatives)))
    if not args.no_real_audio and not args.skip_training:
        step("training_recordings", false_alarms(debian("train")))
        step("dev_recordings", false_alarms(debian("dev")))
    step("heldout_conditions_scenes", recall(scenes.alarm_scenes(args.scenes, corpus_cache, ranges=synth.HELD_OUT)))
    step("independent_alarm_scenes", recall(generate_alarm_events(PROTOCOL.seed, PROTOCOL.scenes)))
    step("independent_alarm_free_twins", false_alarms((f"twin {i}", s.audio) for i, s in enumerate(twins)))
    if not args.no_real_audio:
        step("real_recordings", false_alarms(debian("eval")))
    if not args.no_write:
        write(result, args)
    return 0


def write(result: dict[str, Any], args: argparse.Namespace) -> None:
    benchmarks_md.write_json(SECTION, result)
    rows = [
        ("training generator, training ranges (settings chosen here)", "training_scenes", "training_alarm_free_scenes"),
        ("Debian `train` recordings (training side)", None, "training_recordings"),
        ("Debian `dev` recordings (training side: music the detectors' rules were read on)", None, "dev_recordings"),
        ("training generator, held-out conditions", "heldout_conditions_scenes", None),
        ("independent generator: alarm scenes, alarm-free twins", "independent_alarm_scenes",
         "independent_alarm_free_twins"),
        ("real recordings (Debian `eval` packages)", None, "real_recordings"),
    ]  # fmt: skip
    lines = ["| data | event recall (smoke / CO) | median report latency | false alarms |", "|---|---|---|---|"]
    for title, pos, neg in rows:
        p, n = result.get(pos or ""), result.get(neg or "")
        if p is None and n is None:
            continue
        rec = (f"{p['event_recall']:.2f} ({p['event_recall_by_class'].get('smoke_alarm', 0):.2f} / "
               f"{p['event_recall_by_class'].get('co_alarm', 0):.2f}), {p['scenes']} scenes" if p else "—")  # fmt: skip
        lat = f"{p['report_latency_s_median']} s" if p and p["report_latency_s_median"] is not None else "—"
        fa = f"{n['false_alarms']} in {n['hours']:.2f} h ({n['false_alarms_per_hour']:.2f}/h)" if n else "—"
        lines.append(f"| {title} | {rec} | {lat} | {fa} |")
    snr_lines = [
        "| data | " + " | ".join(f"SNR {name} dB" for _l, _h, name in SNR_BANDS) + " | no noise |",
        "|---|---|---|---|---|---|",
    ]
    for title, pos, _neg in rows:
        p = result.get(pos or "")
        if p is None:
            continue
        by_snr = p.get("event_recall_by_snr_db", {})
        cells = []
        for name in [n for _l, _h, n in SNR_BANDS] + ["clean"]:
            cell = by_snr.get(name)
            if cell is None:
                cells.append("—")
                continue
            smoke, co = (f"{cell[c]:.2f}" if c in cell else "—" for c in ("smoke_alarm", "co_alarm"))
            cells.append(f"{cell['event_recall']:.2f} ({smoke} / {co}), {cell['scenes']}")
        snr_lines.append(f"| {title} | " + " | ".join(cells) + " |")
    body = (
        "The default node's alarm events from the temporal-code detector (`node_factory/reference/alarm_code.py`, the"
        " C++ `binmoe_alarm_code.cpp` matches it bit for bit) with the tone-following T3/T4 detector (`alarm_tone`,"
        " `reference/alarm_tone.py`, `binmoe_alarm_tone.cpp`; its codes only on a smoke or CO sounder's pitch,"
        " `alarm_pitch`, since 2026-12-07) feeding the smoke and CO events too: an alarm sounding"
        " from its onset, reported as its class within 10 s; false alarms are events in audio without alarms. No model"
        " is involved. The detectors' settings come from the standards' timing and were checked on the training side"
        " only (first three rows). "
        + window_rule_comparison()
        + "\n\n"
        + "\n".join(lines)
        + "\n\nEvent recall by the scene's SNR (all, smoke / CO, and the number of scenes):\n\n"
        + "\n".join(snr_lines)
    )
    command = "python -m benchmarks.alarm_code" + (f" --scenes {args.scenes}" if args.scenes != 60 else "")
    benchmarks_md.write_section(SECTION, "Sound: the alarm-code detector (T3 / T4)", command, body)
    # the same figures in the node model's report ("Node models (BNN)", node_model.json), which `generalize` last
    # measured with the detector of its day
    if node_model.refresh_code_detector(result, f"{benchmarks_md.now_stamp()} by `{command}`"):
        print("node_model.json and its section: the code detector's rows refreshed from this run")
    else:
        print("node_model.json not refreshed: it has no sound report, or this run lacks its real recordings")


if __name__ == "__main__":
    raise SystemExit(main())
