"""What the GPU tier's teacher (`serve --teacher`) makes of the default sound node's escalations, mostly on the
training side: how often it names a smoke or CO alarm in escalations of recordings without alarms, and how often
it names the alarm in escalations the node sends while one starts.

- Debian `dev` recordings (node_factory/corpus/debian_audio/SOURCES.md: music and speech of games, no alarms; each
  package back to back as one node's stream): every escalation the default node sends (its router reference, as in
  `benchmarks.node_traffic`), read by the teacher from the window's features; those named smoke or CO at the
  confidence the diagnosis takes from the teacher (`TEACHER_CRITICAL_MIN`) are diagnoses of a possible alarm.
- The training generator's alarm scenes (training ranges): the escalations the node sends within 10 s of the
  alarm's onset; a scene counts when the teacher names its alarm in one of them at that confidence, also among the
  scenes the node did not report itself within 10 s; and how many escalations it names as the other alarm.
- The Debian `eval` recordings, the same way: measured only (the two sets above chose the teacher's run and the
  diagnosis's rule, so their figures say how the cascade behaves where it was made); `benchmarks.node_traffic`
  counts, of these, the escalations Home Assistant actually has diagnosed.

Usage: python -m benchmarks.teacher_escalations [--scenes 120] [--teacher PATH] [--no-write]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import benchmarks_md
from benchmarks.alarm_code import FAMILY, PROTOCOL, debian, node_events
from benchmarks.node_traffic import MODEL, ROOT, names_alarm, node_messages, read_escalations
from gpu_backend.knowledge.expert import TEACHER_CRITICAL_MIN
from gpu_backend.serve import SHIPPED_TEACHER
from gpu_backend.teacher import TeacherClassifier, load_teacher
from node_factory.corpus import families, scenes
from node_factory.reference import model_format
from node_factory.reference.network import IntegerModel

SECTION = "teacher_escalations"


def recordings(
    model: IntegerModel, teacher: TeacherClassifier, streams: Iterable[tuple[str, NDArray[np.int16]]]
) -> dict[str, Any]:
    hours = 0.0
    escalations = 0
    named: Counter[str] = Counter()
    for name, audio in streams:
        hours += len(audio) / FAMILY.features.sample_rate / 3600
        read = read_escalations(teacher, audio, node_messages(model, name, audio)[0])
        escalations += len(read)
        named.update(label for _m, label, conf in read if names_alarm(label, conf))
        print(f"{name}: {len(read)} escalations, teacher's alarms so far {dict(named)}", flush=True)
    alarms = sum(named.values())
    return {
        "hours": round(hours, 2),
        "escalations": escalations,
        "named_smoke_or_co": alarms,
        "named_smoke_or_co_by_class": dict(sorted(named.items())),
        "named_smoke_or_co_per_hour": round(alarms / hours, 2) if hours else None,
    }


def alarm_scenes(model: IntegerModel, teacher: TeacherClassifier, alarm_scenes: Iterable[Any]) -> dict[str, Any]:
    count = named_scenes = missed = named_missed = other = sent = 0
    for scene in alarm_scenes:
        count += 1
        onset, label = float(scene.meta["onset_s"]), str(scene.meta["label"])
        within = PROTOCOL.report_within_s
        reported = any(FAMILY.classes[c] == label and onset <= t <= onset + within for c, t in node_events(scene.audio))
        messages = node_messages(model, "scene", scene.audio)[0]
        read = [  # a message's uptime is the end of its window (the stream starts at 0)
            (m, said, conf)
            for m, said, conf in read_escalations(teacher, scene.audio, messages)
            if onset <= int(m["uptime_ms"]) / 1000 <= onset + within
        ]
        sent += len(read)
        hit = any(said == label and names_alarm(said, conf) for _m, said, conf in read)
        other += sum(said != label and names_alarm(said, conf) for _m, said, conf in read)
        named_scenes += hit
        missed += not reported
        named_missed += hit and not reported
    return {
        "scenes": count,
        "escalations_within_10_s": sent,
        "scenes_alarm_named_in_an_escalation": named_scenes,
        "scenes_the_node_did_not_report": missed,
        "of_those_alarm_named_in_an_escalation": named_missed,
        "escalations_named_the_other_alarm": other,
    }


def shown(path: Path) -> str:
    """A path as the docs show it: relative to the repository when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=120, help="training generator's alarm scenes (default 120)")
    parser.add_argument("--teacher", type=Path, default=SHIPPED_TEACHER, help="the GPU tier's teacher")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    started = time.monotonic()
    model, _ = model_format.load(MODEL)
    teacher = load_teacher(args.teacher)
    result: dict[str, Any] = {
        "model": f"{MODEL.stem} ({str(model.meta['model_hash'])[:8]})",
        "teacher": shown(args.teacher),
        "teacher_critical_min": TEACHER_CRITICAL_MIN,
    }
    training = scenes.alarm_scenes(args.scenes, families.cache_dir())
    result["training_alarm_scenes"] = alarm_scenes(model, teacher, training)
    print("training generator's alarm scenes:", result["training_alarm_scenes"], flush=True)
    result["debian_dev"] = recordings(model, teacher, debian("dev"))
    print("Debian dev recordings:", result["debian_dev"], flush=True)
    result["debian_eval"] = recordings(model, teacher, debian("eval"))
    print("Debian eval recordings:", result["debian_eval"], flush=True)
    print(f"{time.monotonic() - started:.0f} s")
    if not args.no_write:
        write(result, args)
    return 0


def write(result: dict[str, Any], args: argparse.Namespace) -> None:
    benchmarks_md.write_json(SECTION, result)
    dev, alarms, evaluation = result["debian_dev"], result["training_alarm_scenes"], result["debian_eval"]

    def named(part: dict[str, Any]) -> str:
        by_class = ", ".join(f"{c.replace('_', ' ')} {n}" for c, n in part["named_smoke_or_co_by_class"].items())
        return (
            f"{part['escalations']:,}; {part['named_smoke_or_co']} ({part['named_smoke_or_co_per_hour']:g} an hour"
            + (f"; {by_class})" if by_class else ")")
        )

    body = (
        f"The default sound node with the shipped model ({result['model']}) and the GPU tier's teacher"
        f" (`{result['teacher']}`, what `serve --teacher shipped` loads), training side (these data chose the"
        " teacher's run and the diagnosis's rule) but the last row. An escalation the teacher names smoke or CO"
        f" at a confidence of at least {result['teacher_critical_min']:g} becomes a diagnosis of a possible alarm to"
        " check (`docs/diagnosis.md`, `teacher_only`).\n\n"
        "| data | measured | value |\n|---|---|---|\n"
        f"| Debian `dev` recordings ({dev['hours']:g} h, music and speech of games, no alarms) | escalations the"
        f" node sent; of them named smoke or CO | {named(dev)} |\n"
        f"| the training generator's alarm scenes (training ranges, {alarms['scenes']}) | scenes whose alarm the"
        " teacher names in an escalation the node sent within 10 s of the onset |"
        f" {alarms['scenes_alarm_named_in_an_escalation']} (of {alarms['escalations_within_10_s']} escalations) |\n"
        f"| | of the {alarms['scenes_the_node_did_not_report']} scenes the node did not report within 10 s |"
        f" {alarms['of_those_alarm_named_in_an_escalation']} |\n"
        f"| | escalations named the other alarm (smoke for CO or the reverse) |"
        f" {alarms['escalations_named_the_other_alarm']} |\n"
        f"| Debian `eval` recordings ({evaluation['hours']:g} h, no alarms; measured only) | escalations the node"
        f" sent; of them named smoke or CO (`benchmarks.node_traffic`: those Home Assistant diagnoses) |"
        f" {named(evaluation)} |"
    )
    command = "python -m benchmarks.teacher_escalations" + (f" --scenes {args.scenes}" if args.scenes != 120 else "")
    benchmarks_md.write_section(SECTION, "Sound: the GPU tier's teacher on the node's escalations (training side)",
                                command, body)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
