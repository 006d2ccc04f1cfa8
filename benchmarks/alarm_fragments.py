"""How many of the windows a sound node escalates while an alarm sounds Home Assistant takes as part of the
alarm (docs/integration.md, "An alarm and its fragments"), and how many escalations of other sounds it takes
with them.

Per alarm scene (the training generator's alarm sounds from its onset to the scene's end, the independent
generator's for `duration_s`, 10 s, with other sounds after it), the shipped model's escalated windows
(the node at its default hop) and the node's alarm reports: the code detector's events, repeated once per
detection interval (10 s, the node's default) while its code keeps matching, as the node's router does. The
hub's rule, read from `custom_components/binmoe/router.py` so the two cannot drift: an escalation is part of
the alarm when it was made from ALARM_BEFORE_MS before the alarm's first report to ALARM_AFTER_MS after its
latest. Escalations after the alarm's onset that the rule does not cover still reach the GPU tier as what the
model called them; escalations before the onset are of the scene's other sounds.

Data: the training generator's alarm scenes (the rule's 10 s came from them, `docs/integration.md`) and the
independent generator's (`node_factory.heldout`; measured after the rule was fixed, nothing chosen on them).

Usage: python -m benchmarks.alarm_fragments [--scenes 60] [--no-write]   (--scenes: the training generator's; the
independent generator's are the evaluation protocol's 100, as in benchmarks.alarm_code)
"""

from __future__ import annotations

import argparse
import ast
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

import benchmarks_md
from benchmarks.alarm_code import FAMILY, PROTOCOL
from node_factory.corpus import families, scenes
from node_factory.evaluation.generalization import code_classes
from node_factory.evaluation.node_stream import code_windows, run_node, stream_features, tone_feed
from node_factory.heldout import generate_alarm_events
from node_factory.reference import model_format
from node_factory.reference.network import IntegerModel

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "esphome/components/binmoe/models/sound_v1.bin"
SECTION = "alarm_fragments"
DETECTION_INTERVAL_S = 10.0  # the node's default `detection_interval`


def hub_rule() -> tuple[float, float]:
    """(before, after) in seconds: the hub's ALARM_BEFORE_MS and ALARM_AFTER_MS, from its source."""
    tree = ast.parse((ROOT / "custom_components/binmoe/router.py").read_text(encoding="utf-8"))
    values = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in ("ALARM_BEFORE_MS", "ALARM_AFTER_MS")
    }
    return values["ALARM_BEFORE_MS"] / 1000, values["ALARM_AFTER_MS"] / 1000


def alarm_reports(audio: np.ndarray) -> list[float]:
    """When the node reports an alarm (s): each event's start and its repeats, one per detection interval while
    the code keeps matching (an alarm is over after the rule's span without a match)."""
    cfg, hop = FAMILY.features, PROTOCOL.hop_frames
    frames = stream_features(audio, cfg)
    tone, bands = tone_feed(audio, cfg, PROTOCOL.co_tone) if PROTOCOL.alarm_tone else (None, None)
    matches = code_windows(frames, cfg, hop, code_classes(FAMILY.classes), tone, bands)
    window_s = hop * cfg.frame / cfg.sample_rate
    span_s = max(4.1, 6.1)  # the longer of the default code rules (smoke 4.1 s, CO 6.1 s): an alarm still on
    reports: list[float] = []
    last_match = -np.inf
    for index, c in enumerate(matches):
        if c < 0:
            continue
        t = (index * hop + cfg.frames) * cfg.frame / cfg.sample_rate
        if not reports or t - last_match > span_s + window_s or t - reports[-1] >= DETECTION_INTERVAL_S:
            reports.append(t)
        last_match = t
    return reports


def covered(t: float, reports: list[float], before: float, after: float) -> bool:
    """The hub's rule for reports of one node: each report starts or extends an alarm."""
    first = last = None
    for r in reports:
        if first is None or last is None or r > last + after:
            first = last = r
        else:
            last = r
        if first - before <= t <= last + after:
            return True
    return False


def measure(model: IntegerModel, alarm_scenes: Iterable[Any], before: float, after: float) -> dict[str, Any]:
    """Escalated windows of the alarm (ending from its onset to one window after its end) and of the scene's other
    sounds (before the onset, after the end), and which of them the hub's rule takes."""
    cfg = FAMILY.features
    window_s = cfg.frames * cfg.frame / cfg.sample_rate
    totals = {f"{part}{taken}": 0 for part in ("during", "before_onset", "after_end") for taken in ("", "_taken")}
    count = reported = clean_scenes = stray_reported = 0
    lead: list[float] = []
    for scene in alarm_scenes:
        count += 1
        onset = float(scene.meta["onset_s"])
        end = onset + float(scene.meta.get("duration_s", np.inf))  # the training generator's sound to the end
        run = run_node(model, cfg, scene.audio, PROTOCOL.hop_frames)
        reports = alarm_reports(scene.audio)
        reported += bool(reports)
        stray = 0
        for i in np.flatnonzero(run.escalate):
            t = float(run.end_s[i])
            taken = covered(t, reports, before, after)
            part = "before_onset" if t < onset else "during" if t <= end + window_s else "after_end"
            totals[part] += 1
            totals[f"{part}_taken"] += taken
            stray += part == "during" and not taken
            if part == "during" and reports and t < reports[0]:
                lead.append(reports[0] - t)
        clean_scenes += stray == 0
        stray_reported += stray if reports else 0
    return {
        "scenes": count,
        "scenes_with_an_alarm_report": reported,
        "escalations_during_alarm": totals["during"],
        "taken_as_part_of_alarm": totals["during_taken"],
        "share_taken": round(totals["during_taken"] / totals["during"], 3) if totals["during"] else None,
        "scenes_without_a_stray_diagnosis": clean_scenes,
        "stray_in_scenes_with_a_report": stray_reported,
        "escalations_before_onset": totals["before_onset"],
        "escalations_before_onset_taken": totals["before_onset_taken"],
        "escalations_after_end": totals["after_end"],
        "escalations_after_end_taken": totals["after_end_taken"],
        "lead_before_first_report_s_median": round(float(np.median(lead)), 2) if lead else None,
        "lead_before_first_report_s_max": round(float(max(lead)), 2) if lead else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=60, help="training generator's alarm scenes (default 60)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    before, after = hub_rule()
    started = time.monotonic()
    model, _ = model_format.parse_payload(model_format.read_blob(MODEL.read_bytes()))
    name = f"{MODEL.stem} ({model.meta['model_hash'][:8]})"
    result: dict[str, Any] = {"rule_s": {"before": before, "after": after}, "model": name}
    training = scenes.alarm_scenes(args.scenes, families.cache_dir())
    result["training_scenes"] = measure(model, training, before, after)
    print("training generator:", result["training_scenes"], flush=True)
    independent = generate_alarm_events(PROTOCOL.seed, PROTOCOL.scenes)  # the evaluation protocol's whole set
    result["independent_scenes"] = measure(model, independent, before, after)
    print("independent generator:", result["independent_scenes"], flush=True)
    print(f"{time.monotonic() - started:.0f} s")
    if not args.no_write:
        write(result, args)
    return 0


def write(result: dict[str, Any], args: argparse.Namespace) -> None:
    benchmarks_md.write_json(SECTION, result)
    lines = [
        "| data | scenes (with a report) | escalations while the alarm sounds | taken as part of it | stray, in scenes"
        " with a report | scenes without a stray diagnosis | other sounds' escalations taken: before the onset, after"
        " the end |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, key in (
        ("training generator (the rule's 10 s came from here)", "training_scenes"),
        ("independent generator (measured after the rule was fixed)", "independent_scenes"),
    ):
        r = result[key]
        share = f"{r['taken_as_part_of_alarm']} ({r['share_taken']:.0%})" if r["share_taken"] is not None else "—"
        lines.append(
            f"| {title} | {r['scenes']} ({r['scenes_with_an_alarm_report']}) | {r['escalations_during_alarm']} | "
            f"{share} | {r['stray_in_scenes_with_a_report']} | {r['scenes_without_a_stray_diagnosis']} | "
            f"{r['escalations_before_onset_taken']} of {r['escalations_before_onset']}, "
            f"{r['escalations_after_end_taken']} of {r['escalations_after_end']} |"
        )
    rule = result["rule_s"]
    body = (
        f"Home Assistant takes a sound node's escalations from {rule['before']:g} s before its alarm report to"
        f' {rule["after"]:g} s after its latest as part of the alarm (`docs/integration.md`, "An alarm and its'
        f" fragments\"). Per alarm scene (the training generator's alarm sounds from its onset to the scene's end"
        " at 20 s, the independent generator's for 10 s in scenes of about 40 s), the shipped"
        f" model ({result['model']}) at the node's hop and the default node's alarm reports (the code detectors,"
        " repeated once per 10 s detection interval while they match). A stray diagnosis is an escalation after"
        " the onset that the rule does not take: the GPU tier diagnoses it as what the model called it; in a scene"
        " without a report (the node missed the alarm) every escalation is one. Escalations before the onset and"
        " after the alarm's end are of the scene's other sounds: those the rule takes are lost diagnoses.\n\n"
        + "\n".join(lines)
    )
    command = "python -m benchmarks.alarm_fragments" + (f" --scenes {args.scenes}" if args.scenes != 60 else "")
    benchmarks_md.write_section(SECTION, "Sound: an alarm and its fragments (Home Assistant's rule)", command, body)


if __name__ == "__main__":
    raise SystemExit(main())
