"""What a sound node in a real home sends, and what Home Assistant then asks of the GPU tier, per hour: the shipped
model and the default node on recorded speech and music, routed by the node's router reference and then by the
integration's own router.

Per stream (a node hearing it from a fresh start): the shipped model's windows at the node's hop and the code
detectors' alarm events (`alarm_tone` and `co_tone` on), routed into messages by
`node_factory.reference.router.route_codes` with the default node's settings (every class but background reported,
a doorbell on its second window of it in a row (`confirm_windows`, since 2026-12-08), a detection interval of 10 s,
at most 6 escalations a minute; the reference is tested window by window against the
C++ router); each message as the node sends it (docs/protocol.md: class, scores, margin, confidence, level, event
fields, `alarm_active`). Those messages are then replayed through Home Assistant's `Router` with the default
options (`benchmarks/hub_replay.py`, inside Home Assistant's environment): it handles detections locally, asks the
GPU tier to diagnose escalations and detections under the minimum confidence (0.6), and drops repeats of a class
within 30 s and more than 6 diagnoses a minute. So the figures are the load a node puts on the hub and the GPU
tier, and how many diagnoses a user's logbook shows, in rooms without alarms.

With a GPU tier that has a teacher (here the shipped sound model's, what `serve --teacher shipped` loads;
`--teacher PATH|none`), the teacher reads each escalation the hub has diagnosed (escalations carry their window's
features; the hub's own diagnoses of unsure detections do not): how many it names doorbell or knock is what the
doorbell/knock blueprint notifies on top of the `binmoe_detection` events (its *Also when the GPU tier hears it*),
and how many it names smoke or CO at the confidence the diagnosis takes it from (`TEACHER_CRITICAL_MIN`) are
diagnoses of a possible alarm the node did not hear (a warning to check whether one is sounding).

Data: the Debian `eval` recordings (node_factory/corpus/debian_audio/SOURCES.md; speech, music and effects of
games, no alarms; each package back to back as one node's stream) and the independent generator's alarm-free
scenes (its alarm scenes' twins, back to back). Measured only: nothing here chooses a setting.

Usage: python -m benchmarks.node_traffic [--no-real-audio] [--no-write] [--teacher PATH|none]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import benchmarks_md
from benchmarks.alarm_code import FAMILY, PROTOCOL, debian
from gpu_backend.knowledge.expert import TEACHER_CRITICAL_MIN
from gpu_backend.serve import SHIPPED_TEACHER
from gpu_backend.teacher import TeacherClassifier, load_teacher
from node_factory.bench import node_model
from node_factory.evaluation.generalization import code_classes, code_event_rules
from node_factory.evaluation.node_stream import NodeDecisions, routed_windows, stream_features, window_features
from node_factory.heldout import generate_negative_scenes
from node_factory.reference import model_format
from node_factory.reference.network import IntegerModel, confidence
from node_factory.reference.router import Report, confirmed_classes, route_codes

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "esphome/components/binmoe/models/sound_v1.bin"
SECTION = "node_traffic"
DETECTION_INTERVAL_MS = 10_000  # the node's default `detection_interval`
MAX_ESCALATIONS_PER_MINUTE = 6  # the node's default `max_escalations_per_minute`
IDLE_CLASSES = ("background",)  # not reported by default (the ESPHome component's IDLE_CLASSES)
CRITICAL_CLASSES = ("smoke_alarm", "co_alarm")  # the knowledge base's critical sound classes
HOP_MS = round(PROTOCOL.hop_frames * FAMILY.features.frame * 1000 / FAMILY.features.sample_rate)


def default_node(model: IntegerModel, audio: NDArray[np.int16]) -> tuple[NodeDecisions, list[Report]]:
    """The default sound node on a stream from a fresh start: its decision for every window, and what its router
    makes of them (`route_codes`: messages sent, escalations dropped over its limit)."""
    cfg, hop = FAMILY.features, PROTOCOL.hop_frames
    classes = code_classes(FAMILY.classes)
    run, windows = routed_windows(model, cfg, audio, hop, classes, PROTOCOL)
    reported = {i for i, c in enumerate(FAMILY.classes) if c not in IDLE_CLASSES}
    rules = code_event_rules(FAMILY.classes)
    confirmed = confirmed_classes(FAMILY.classes)  # doorbell: its second window in a row
    return run, route_codes(
        windows, rules, reported, DETECTION_INTERVAL_MS, HOP_MS, MAX_ESCALATIONS_PER_MINUTE, confirmed
    )


def node_messages(model: IntegerModel, name: str, audio: NDArray[np.int16]) -> tuple[list[dict[str, Any]], int]:
    """The payloads the default node sends for the stream, and how many escalations its limit dropped."""
    cfg = FAMILY.features
    run, routed = default_node(model, audio)
    sent = [r for r in routed if r.kind != "dropped"]
    conf = confidence(run.logits, model.logit_scale)
    level = window_levels_db(audio, len(run))
    window_ms = round(cfg.frames * cfg.frame * 1000 / cfg.sample_rate)
    node = re.sub(r"[^a-z0-9_-]", "-", name.lower())[:64]  # the protocol's node_id: [a-z0-9_-]{1,64}
    messages = [
        payload(model, node, seq, r, run, conf, level, window_ms + r.window * HOP_MS) for seq, r in enumerate(sent)
    ]
    return messages, len(routed) - len(sent)


def window_levels_db(audio: NDArray[np.int16], count: int) -> NDArray[np.float64]:
    """Each window's level as the node reports it (reference.features.window_mean_square: 10 log10(ms / 2^30))."""
    cfg, hop = FAMILY.features, PROTOCOL.hop_frames
    n = len(audio) // cfg.frame
    x = audio[: n * cfg.frame].reshape(n, cfg.frame).astype(np.int64)
    per_frame = (x**2).sum(axis=1) // cfg.frame
    sums = np.concatenate([[0], np.cumsum(per_frame)])
    starts = np.arange(count) * hop
    mean_square = (sums[starts + cfg.frames] - sums[starts]) // cfg.frames
    return np.asarray(10 * np.log10(np.maximum(mean_square, 1) / 2**30))


def payload(
    model: IntegerModel,
    node: str,
    seq: int,
    report: Report,
    run: NodeDecisions,
    conf: NDArray[np.float64],
    level: NDArray[np.float64],
    uptime_ms: int,
) -> dict[str, Any]:
    """One message (docs/protocol.md) for a report of window `report.window`, which ended at `uptime_ms`."""
    i = report.window
    code_event = report.code_class is not None
    label = int(report.code_class) if code_event else int(run.top[i])  # type: ignore[arg-type]
    message: dict[str, Any] = {
        "v": 1, "kind": report.kind, "node_id": node, "task": "sound", "boot": "0000b007", "seq": seq,
        "uptime_ms": uptime_ms, "class": FAMILY.classes[label], "class_idx": label,
        "scores": [int(v) for v in run.logits[i]], "margin": int(run.margin[i]),
        "confidence": 1.0 if code_event else round(float(conf[i]), 4), "model": "sound-v1",
        "model_hash": str(model.meta["model_hash"])[:8], "level_db": round(float(level[i]), 1),
    }  # fmt: skip
    if report.kind == "escalation":
        message["reason"] = "low_margin"
    if report.event_windows is not None and report.event_span is not None:
        message["event_windows"] = report.event_windows
        message["event_span_ms"] = report.event_span * HOP_MS
    if code_event:
        message["alarm_code"] = "T3" if label == code_classes(FAMILY.classes)[0] else "T4"
    if report.alarm_active is not None:
        message["alarm_active"] = report.alarm_active
    return message


def message_window(message: dict[str, Any]) -> int:
    """The index of the window a message reports (`payload`: its uptime is the end of that window)."""
    cfg = FAMILY.features
    window_ms = round(cfg.frames * cfg.frame * 1000 / cfg.sample_rate)
    return (int(message["uptime_ms"]) - window_ms) // HOP_MS


def read_escalations(
    teacher: TeacherClassifier, audio: NDArray[np.int16], messages: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], str, float]]:
    """Each escalation with the teacher's class and confidence for its window (what the GPU tier reads from its
    features), the confidence rounded as the gateway sends it (TeacherClassifier.classify_array)."""
    escalations = [m for m in messages if m["kind"] == "escalation"]
    if not escalations:
        return []
    windows = window_features(stream_features(audio, FAMILY.features), FAMILY.features, PROTOCOL.hop_frames)
    best, conf = teacher.classify_windows(windows[[message_window(m) for m in escalations]])
    return [(m, FAMILY.classes[int(b)], round(float(c), 4)) for m, b, c in zip(escalations, best, conf, strict=True)]


def names_alarm(label: str, conf: float) -> bool:
    """Whether the diagnosis takes the teacher's class over a non-critical node class: a critical class at
    TEACHER_CRITICAL_MIN."""
    return label in CRITICAL_CLASSES and conf >= TEACHER_CRITICAL_MIN


def teacher_classes(
    teacher: TeacherClassifier, audio: NDArray[np.int16], messages: list[dict[str, Any]]
) -> dict[int, str]:
    """The teacher's class of each escalation's window, by `seq`; a smoke or CO class the diagnosis would take over
    the node's as `possible: <class>`."""
    said = {}
    for m, label, conf in read_escalations(teacher, audio, messages):
        possible = m["class"] not in CRITICAL_CLASSES and names_alarm(label, conf)
        said[int(m["seq"])] = f"possible: {label}" if possible else label
    return said


def hub_replay(streams: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Home Assistant's router on every stream's messages (benchmarks/hub_replay.py in its environment); each
    stream's counts also hold `diagnosed_seqs`."""
    lines = []
    for name, messages in streams.items():
        lines.append(json.dumps({"stream": name}))
        lines += [json.dumps(m) for m in messages]
    done = subprocess.run(
        [str(ROOT / "scripts/ha-env"), "python", "-m", "benchmarks.hub_replay", "--seqs"],
        input="\n".join(lines), capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"hub replay failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(
    model: IntegerModel, streams: Iterable[tuple[str, NDArray[np.int16]]], teacher: TeacherClassifier | None = None
) -> dict[str, Any]:
    """Per stream and in all: hours, the node's messages and drops, the hub's decisions and, with a teacher, its
    classes of the escalations the hub diagnosed."""
    messages: dict[str, list[dict[str, Any]]] = {}
    node: dict[str, dict[str, Any]] = {}
    named: dict[str, dict[int, str]] = {}
    for name, audio in streams:
        sent, dropped = node_messages(model, name, audio)
        messages[name] = sent
        if teacher is not None:
            named[name] = teacher_classes(teacher, audio, sent)
        kinds = Counter(m["kind"] for m in sent)
        node[name] = {
            "hours": len(audio) / FAMILY.features.sample_rate / 3600,
            "detections": kinds["detection"],
            "detections_by_class": dict(Counter(m["class"] for m in sent if m["kind"] == "detection").most_common()),
            "escalations": kinds["escalation"],
            "escalations_dropped_by_the_node": dropped,
            "alarm_events": sum("alarm_code" in m for m in sent),
        }
        print(f"{name}: {node[name]}", flush=True)
    hub = hub_replay(messages)
    refused = {name: counts["invalid"] for name, counts in hub.items() if counts.get("invalid")}
    if refused:  # every message is built as the node builds it: one the hub refuses is this script's error
        raise RuntimeError(f"the hub refused messages of these streams: {refused}")
    diagnosed = {name: counts.pop("diagnosed_seqs", []) for name, counts in hub.items()}
    per_stream = {name: {**node[name], "hub": hub.get(name, {})} for name in messages}
    if teacher is not None:
        for name in messages:
            said = Counter(named[name][s] for s in diagnosed.get(name, []) if s in named[name])
            per_stream[name]["gpu_tier_teacher"] = dict(said.most_common())
    return {"streams": per_stream, "total": total(per_stream)}


def total(per_stream: dict[str, dict[str, Any]]) -> dict[str, Any]:
    hours = sum(s["hours"] for s in per_stream.values())
    hub: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for s in per_stream.values():
        hub.update(s["hub"])
        classes.update(s["detections_by_class"])
    keys = ("detections", "escalations", "escalations_dropped_by_the_node", "alarm_events")
    out: dict[str, Any] = {"hours": round(hours, 3)}
    for key in keys:
        count = sum(s[key] for s in per_stream.values())
        out[key], out[f"{key}_per_hour"] = count, round(count / hours, 1)
    out["detections_by_class_per_hour"] = {c: round(n / hours, 1) for c, n in classes.most_common()}
    out["hub"] = dict(sorted(hub.items()))
    out["hub_per_hour"] = {k: round(v / hours, 1) for k, v in sorted(hub.items())}
    if all("gpu_tier_teacher" in s for s in per_stream.values()):
        said: Counter[str] = Counter()
        for s in per_stream.values():
            said.update(s["gpu_tier_teacher"])
        out["gpu_tier_teacher_per_hour"] = {c: round(n / hours, 1) for c, n in said.most_common()}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-real-audio", action="store_true", help="skip the Debian recordings")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--teacher", default=str(SHIPPED_TEACHER), help="the GPU tier's teacher, or 'none'")
    args = parser.parse_args()
    started = time.monotonic()
    model, _ = model_format.load(MODEL)
    teacher = None if args.teacher.lower() == "none" else load_teacher(Path(args.teacher))
    result: dict[str, Any] = {"model": f"{MODEL.stem} ({str(model.meta['model_hash'])[:8]})"}
    if teacher is not None:
        result["teacher"] = args.teacher if args.teacher != str(SHIPPED_TEACHER) else "`--teacher shipped`"
    twins = generate_negative_scenes(PROTOCOL.seed, PROTOCOL.scenes)
    result["independent_alarm_free"] = measure(
        model, [("independent-twins", np.concatenate([s.audio for s in twins]).astype(np.int16))], teacher
    )
    print("independent generator:", result["independent_alarm_free"]["total"], flush=True)
    if not args.no_real_audio:
        result["real_recordings"] = measure(model, debian("eval"), teacher)
        print("real recordings:", result["real_recordings"]["total"], flush=True)
    print(f"{time.monotonic() - started:.0f} s")
    if not args.no_write:
        write(result)
        command = "python -m benchmarks.node_traffic"
        if node_model.refresh_node_traffic(
            result, str(model.meta["model_hash"]), f"{benchmarks_md.now_stamp()} by `{command}`"
        ):
            print("node_model.json and its section: the rows of what reaches Home Assistant refreshed from this run")
        else:
            print(
                "node_model.json not refreshed: its sound report is of another model, or this run lacks the recordings"
            )
    return 0


def _row(title: str, t: dict[str, Any]) -> str:
    hub = t["hub_per_hour"]
    diagnoses = hub.get("diagnose", 0.0)
    return (
        f"| {title} | {t['hours']:.2f} | {t['detections_per_hour']} | {t['escalations_per_hour']} | "
        f"{t['escalations_dropped_by_the_node_per_hour']} | {hub.get('local', 0.0)} | {diagnoses} "
        f"({hub.get('diagnose_by_node', 0.0)} / {hub.get('diagnose_by_hub', 0.0)}) | {hub.get('drop', 0.0)} | "
        f"{hub.get('critical', 0.0)} |"
    )


def _per(counts: dict[str, float], prefix: str) -> str:
    """ "name value, ..." of the counts whose key starts with `prefix` (the rest of the key), most first."""
    kept = sorted(((k[len(prefix) :], v) for k, v in counts.items() if k.startswith(prefix)), key=lambda i: -i[1])
    return ", ".join(f"{name} {value}" for name, value in kept)


def write(result: dict[str, Any]) -> None:
    benchmarks_md.write_json(SECTION, result)
    lines = [
        "| data | hours | node: detections / h | escalations / h | escalations dropped by the node's limit / h |"
        " hub: handled locally / h | diagnoses / h (asked by the node / by the hub) | dropped / h (repeats within"
        " 30 s, over 6 a minute) | critical notifications / h |",
        "|---|---|---|---|---|---|---|---|---|",
        _row("independent generator, alarm-free scenes back to back", result["independent_alarm_free"]["total"]),
    ]
    if "real_recordings" in result:
        lines.append(_row("real recordings (Debian `eval` packages)", result["real_recordings"]["total"]))
    notes = []
    for key, title in (("independent_alarm_free", "independent generator"), ("real_recordings", "real recordings")):
        if key in result:
            t = result[key]["total"]
            by_class = ", ".join(f"{c} {n}" for c, n in t["detections_by_class_per_hour"].items())
            hub = t["hub_per_hour"]
            local, asked, drops = (_per(hub, prefix) for prefix in ("local: ", "diagnose: ", "drop: "))
            notes.append(
                f"- {title}, per hour: the node's detections by class: {by_class}; `binmoe_detection` events (handled"
                f" locally) by class: {local}; diagnoses by the message's class: {asked}; the hub's drops: {drops}."
            )
            if "gpu_tier_teacher_per_hour" in t:
                said = t["gpu_tier_teacher_per_hour"]
                classes = ", ".join(f"{c} {n}" for c, n in said.items()) or "none"
                notes.append(
                    f"- {title}, per hour: the GPU tier's teacher ({result.get('teacher')}) on the diagnosed"
                    f" escalations: {classes}; so the doorbell/knock blueprint (*Also when the GPU tier hears it*, on"
                    f" by default) notifies a doorbell {said.get('doorbell', 0.0)} and a knock {said.get('knock', 0.0)}"
                    " times an hour more than the `binmoe_detection` events above (before its cooldown and"
                    " media-player condition); `possible: …` are smoke or CO at the teacher's confidence of at least"
                    f" {TEACHER_CRITICAL_MIN}, which the diagnosis takes over the node's class as a possible alarm to"
                    " check (a warning, cause `teacher_only`, which the announce blueprint speaks by default);"
                    " with the doorbell and knock figures, why `serve` does not load the shipped teacher by default."
                )
    if "real_recordings" in result:
        per = result["real_recordings"]["streams"]
        long = [n for n in per if per[n]["hours"] >= 0.5] or list(per)  # a few minutes make no rate
        worst = max(long, key=lambda n: per[n]["hub"].get("diagnose", 0) / per[n]["hours"])
        rate = per[worst]["hub"].get("diagnose", 0) / per[worst]["hours"]
        notes.append(f"- The busiest package of at least half an hour for the GPU tier: {worst}, {rate:.0f} diagnoses"
                     f" an hour ({per[worst]['hours']:.2f} h).")  # fmt: skip
        packages = "; ".join(
            f"{n} ({per[n]['hours']:.2f} h) doorbell {per[n]['hub'].get('local: doorbell', 0) / per[n]['hours']:.0f},"
            f" knock {per[n]['hub'].get('local: knock', 0) / per[n]['hours']:.0f}"
            for n in sorted(per)
        )
        where = "node_factory/corpus/debian_audio/SOURCES.md says what each holds"
        notes.append(f"- Doorbell and knock `binmoe_detection` events an hour per package ({where}): {packages}.")
    body = (
        "The default sound node (the shipped model "
        f"{result['model']}, the code detectors, every class but background reported, a doorbell on its second"
        " window in a row (`confirm_windows`), 10 s detection interval, at most 6 escalations a minute) routed by"
        " the node's router reference (`node_factory/reference/router.py`,"
        " tested against the C++ router), then by Home Assistant's own `Router` with the default options"
        " (`benchmarks/hub_replay.py`, run in Home Assistant's environment): what a node in a room without alarms"
        " sends and what the GPU tier is asked, per hour. Each stream is one node from a fresh start; the hub"
        " diagnoses escalations and detections under 0.6 confidence, and drops repeats of a class within 30 s and"
        " more than 6 diagnoses a minute. Measured only, nothing chosen here.\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "\n".join(notes)
    )
    command = "python -m benchmarks.node_traffic"
    title = "Sound node in rooms without alarms: what reaches Home Assistant and the GPU tier"
    benchmarks_md.write_section(SECTION, title, command, body)


if __name__ == "__main__":
    raise SystemExit(main())
