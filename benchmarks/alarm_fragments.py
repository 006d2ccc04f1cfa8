"""How many of the windows a sound node escalates while an alarm sounds Home Assistant takes as part of the
alarm (docs/integration.md, "An alarm and its fragments"), and how many escalations of other sounds it takes
with them.

Per alarm scene (the training generator's alarm sounds from its onset to the scene's end, the independent
generator's for `duration_s`, 10 s, with other sounds after it), the shipped model's escalated windows (the node at
its default hop) and the node's alarm events (the code detectors' matches), routed into messages by the node's
router reference (`node_factory.reference.router.route_codes`, with the node's defaults: a detection interval of 10
s, at most 6 escalations a minute): an alarm event is reported when it starts and again once per detection interval
while it goes on, every message says whether one is going on (the protocol's `alarm_active`), and a window whose top
class is an alarm class is never escalated. The hub's rule, `AlarmEpisode.takes` (`benchmarks/alarm_rule.py`: its two
constants read from `custom_components/binmoe/router.py`, the rule checked against the real `Router` in
tests/integration/test_router.py, so the two cannot drift): an escalation made up to ALARM_BEFORE_MS before an
alarm's first report is part of it; from the first report on, one the node made while it said its alarm was going
on, or, for nodes without `alarm_active` (measured too), one made up to ALARM_AFTER_MS after the alarm's latest
report. Escalations after the alarm's onset that the rule does not cover still reach the GPU tier as what the model
called them; escalations before the onset are of the scene's other sounds.

Data: the training generator's alarm scenes (the rule's 10 s came from them, `docs/integration.md`) and the
independent generator's (`node_factory.heldout`; measured after the rule was fixed, nothing chosen on them).

Usage: python -m benchmarks.alarm_fragments [--scenes 60] [--no-write]   (--scenes: the training generator's; the
independent generator's are the evaluation protocol's 100, as in benchmarks.alarm_code)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

import benchmarks_md
from benchmarks.alarm_code import FAMILY, PROTOCOL
from benchmarks.alarm_rule import covered, hub_min_confidence, hub_rule
from benchmarks.node_traffic import MAX_ESCALATIONS_PER_MINUTE, MODEL, default_node
from node_factory.corpus import families, scenes
from node_factory.heldout import generate_alarm_events
from node_factory.reference import model_format
from node_factory.reference.network import IntegerModel, confidence

SECTION = "alarm_fragments"


Sent = list[tuple[float, bool]]  # (time in s of the window's end, the message's alarm_active)


def node_messages(model: IntegerModel, audio: np.ndarray, min_confidence: float) -> tuple[list[float], Sent, Sent]:
    """What the default node sends for a scene (`benchmarks.node_traffic.default_node`: the node's router reference,
    which the host node's messages are tested against): the times (s, window ends) of its alarm reports (a code
    event's start, and a repeat once per detection interval while it goes on), of its escalations, and of the
    detections the hub sends for a diagnosis itself (confidence under `min_confidence`; with the default options
    no class is under *Escalate*, and the node never reports an alarm class as a plain detection). A window whose
    top class is an alarm class is never sent (the code events report alarms), and escalations over the node's
    limit (6 a minute by default; each scene is a freshly started node, its bucket full) are dropped: neither is
    counted."""
    run, routed = default_node(model, audio)
    conf = confidence(run.logits, model.logit_scale)
    alarm_reports = [float(run.end_s[r.window]) for r in routed if r.code_class is not None]
    escalations = [(float(run.end_s[r.window]), bool(r.alarm_active)) for r in routed if r.kind == "escalation"]
    unsure = [
        (float(run.end_s[r.window]), bool(r.alarm_active))
        for r in routed
        if r.kind == "detection" and r.code_class is None and conf[r.window] < min_confidence
    ]
    return alarm_reports, escalations, unsure


RULES = ("alarm_active", "time_rule")  # the node says whether its alarm goes on; nodes before that field


def measure(
    model: IntegerModel, alarm_scenes: Iterable[Any], before: float, after: float, min_confidence: float
) -> dict[str, Any]:
    """Per rule: escalated windows of the alarm (ending from its onset to one window after its end) and of the
    scene's other sounds (before the onset, after the end), and which of them the hub's rule takes; the same for
    the detections the hub escalates itself (`hub_*`). A stray diagnosis is either kind, not taken, after the
    onset."""
    cfg = FAMILY.features
    window_s = cfg.frames * cfg.frame / cfg.sample_rate
    parts = ("during", "before_onset", "after_end")
    keys = [f"{who}{part}{taken}" for who in ("", "hub_") for part in parts for taken in ("", "_taken")]
    totals = {rule: dict.fromkeys(keys, 0) for rule in RULES}
    clean_scenes = dict.fromkeys(RULES, 0)
    stray_reported = dict.fromkeys(RULES, 0)
    count = reported = 0
    lead: list[float] = []
    for scene in alarm_scenes:
        count += 1
        onset = float(scene.meta["onset_s"])
        end = onset + float(scene.meta.get("duration_s", np.inf))  # the training generator's sound to the end
        reports, escalations, unsure = node_messages(model, scene.audio, min_confidence)
        reported += bool(reports)
        stray = dict.fromkeys(RULES, 0)
        for who, sent in (("", escalations), ("hub_", unsure)):
            for t, active in sent:
                part = "before_onset" if t < onset else "during" if t <= end + window_s else "after_end"
                for rule in RULES:
                    taken = covered(t, reports, before, after, active if rule == "alarm_active" else None)
                    totals[rule][f"{who}{part}"] += 1
                    totals[rule][f"{who}{part}_taken"] += taken
                    stray[rule] += part == "during" and not taken
                if not who and part == "during" and reports and t < reports[0]:
                    lead.append(reports[0] - t)
        for rule in RULES:
            clean_scenes[rule] += stray[rule] == 0
            stray_reported[rule] += stray[rule] if reports else 0
    result: dict[str, Any] = {
        "scenes": count,
        "scenes_with_an_alarm_report": reported,
        "lead_before_first_report_s_median": round(float(np.median(lead)), 2) if lead else None,
        "lead_before_first_report_s_max": round(float(max(lead)), 2) if lead else None,
    }
    for rule in RULES:
        counts = totals[rule]
        result[rule] = {
            "escalations_during_alarm": counts["during"],
            "taken_as_part_of_alarm": counts["during_taken"],
            "share_taken": round(counts["during_taken"] / counts["during"], 3) if counts["during"] else None,
            "scenes_without_a_stray_diagnosis": clean_scenes[rule],
            "stray_in_scenes_with_a_report": stray_reported[rule],
            "escalations_before_onset": counts["before_onset"],
            "escalations_before_onset_taken": counts["before_onset_taken"],
            "escalations_after_end": counts["after_end"],
            "escalations_after_end_taken": counts["after_end_taken"],
            "hub_escalations_during_alarm": counts["hub_during"],
            "hub_taken_as_part_of_alarm": counts["hub_during_taken"],
            "hub_escalations_before_onset": counts["hub_before_onset"],
            "hub_escalations_before_onset_taken": counts["hub_before_onset_taken"],
            "hub_escalations_after_end": counts["hub_after_end"],
            "hub_escalations_after_end_taken": counts["hub_after_end_taken"],
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=60, help="training generator's alarm scenes (default 60)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    before, after = hub_rule()
    min_confidence = hub_min_confidence()
    started = time.monotonic()
    model, _ = model_format.load(MODEL)
    name = f"{MODEL.stem} ({model.meta['model_hash'][:8]})"
    result: dict[str, Any] = {
        "rule_s": {"before": before, "after": after},
        "hub_min_confidence": min_confidence,
        "model": name,
    }
    training = scenes.alarm_scenes(args.scenes, families.cache_dir())
    result["training_scenes"] = measure(model, training, before, after, min_confidence)
    print("training generator:", result["training_scenes"], flush=True)
    independent = generate_alarm_events(PROTOCOL.seed, PROTOCOL.scenes)  # the evaluation protocol's whole set
    result["independent_scenes"] = measure(model, independent, before, after, min_confidence)
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
        " the end | the hub's own escalations (unsure detections): while the alarm sounds, taken; other sounds',"
        " taken before the onset, after the end |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for title, key in (
        ("training generator (the rule's 10 s came from here)", "training_scenes"),
        ("independent generator (measured after the rule was fixed)", "independent_scenes"),
    ):
        scenes_of = result[key]
        for rule, how in (("alarm_active", "node says `alarm_active`"), ("time_rule", "time rule only")):
            r = scenes_of[rule]
            share = f"{r['taken_as_part_of_alarm']} ({r['share_taken']:.0%})" if r["share_taken"] is not None else "—"
            lines.append(
                f"| {title}, {how} | {scenes_of['scenes']} ({scenes_of['scenes_with_an_alarm_report']}) | "
                f"{r['escalations_during_alarm']} | {share} | {r['stray_in_scenes_with_a_report']} | "
                f"{r['scenes_without_a_stray_diagnosis']} | {r['escalations_before_onset_taken']} of "
                f"{r['escalations_before_onset']}, {r['escalations_after_end_taken']} of "
                f"{r['escalations_after_end']} | "
                f"{r['hub_taken_as_part_of_alarm']} of {r['hub_escalations_during_alarm']}; "
                f"{r['hub_escalations_before_onset_taken']} of {r['hub_escalations_before_onset']}, "
                f"{r['hub_escalations_after_end_taken']} of {r['hub_escalations_after_end']} |"
            )
    rule = result["rule_s"]
    body = (
        f"Home Assistant takes a sound node's escalations made up to {rule['before']:g} s before one of its alarm"
        " reports as part of the alarm, and after the first report those the node made while it said its alarm was"
        " going on (`alarm_active`: the node's alarm event, over after its rule's span without the code); for a"
        f" node without that field (the time rule), from {rule['before']:g} s before the first report to"
        f' {rule["after"]:g} s after the latest (`docs/integration.md`, "An alarm and its'
        f" fragments\"). Per alarm scene (the training generator's alarm sounds from its onset to the scene's end"
        " at 20 s, the independent generator's for 10 s in scenes of about 40 s), the shipped"
        f" model ({result['model']}) at the node's hop and the default node's alarm events (the code detectors, the"
        " code event rules, reported when they start and once per 10 s detection interval while they go on),"
        " routed as the node routes them (`node_factory/reference/router.py`, which the host-built node is tested"
        " against): a window whose top class is smoke or CO is never escalated (code events report the alarms),"
        f" and escalations over the default limit of {MAX_ESCALATIONS_PER_MINUTE} a minute are dropped (each scene"
        " a freshly started node). The hub also sends for a diagnosis the detections the node reports under its"
        f" *Minimum confidence* ({result['hub_min_confidence']:g} by default; since 2026-12-07 the rule takes them"
        " like the node's escalations): counted apart, in the last column. A"
        " stray diagnosis is an escalation of either kind after the onset that the rule does not take: the GPU tier"
        " diagnoses it as what the model called it; in a scene without a report (the node missed the alarm) every"
        " escalation is one. Not modelled: the hub's dedupe window and rate limit, which drop some of these before"
        " a diagnosis. Escalations before the onset and after the alarm's end are of the scene's other sounds:"
        " those the rule takes are lost diagnoses.\n\n" + "\n".join(lines)
    )
    command = "python -m benchmarks.alarm_fragments" + (f" --scenes {args.scenes}" if args.scenes != 60 else "")
    benchmarks_md.write_section(SECTION, "Sound: an alarm and its fragments (Home Assistant's rule)", command, body)


if __name__ == "__main__":
    raise SystemExit(main())
