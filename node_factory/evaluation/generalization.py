"""The generalisation protocol of the sound node: what a trained model does on data it was not made from.

Four kinds of data, reported side by side (docs/node-model.md, "Generalisation"):
- own test split: the training generator, training ranges, other seeds, rooms and sentences (in the run's
  metrics; says little on its own);
- held-out conditions: the training generator drawing only from ranges it never trains on
  (`synth.HELD_OUT`: piezo frequencies, the top of the 520 Hz tolerance, SNR below 0 dB, large reverberant
  rooms, two noise types, one sounder waveform, five voices);
- the independent generator (`node_factory.heldout`), written from the standards without the training
  generator's code, and its alarm scenes (event recall) and alarm-free twin scenes;
- real recordings from the Debian packages marked `eval` (no alarms in them): false alarms per hour.
None of these is used for training, calibration, early stopping or model selection: this module only reads
a finished run. Every number says which data it comes from.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.io import wavfile

from ..atomic_write import write_atomic
from ..corpus import debian_audio
from ..corpus.families import Family, dataset, dataset_meta
from ..heldout import generate_alarm_events, generate_negative_scenes, generate_sound_clips
from ..reference.events import EventRule
from ..reference.features import FeatureConfig
from ..reference.network import IntegerModel, decide, forward
from ..training.configs import CONFIGS
from ..training.saved_model import load_model
from ..training.teacher import load_teacher_network
from .node_stream import (
    NodeDecisions,
    ToneOptions,
    code_events,
    decisions,
    events,
    stream_features,
    tone_feed,
    window_features,
)
from .windows import labelled_windows

CRITICAL = ("smoke_alarm", "co_alarm")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Protocol(ToneOptions):
    """Sizes and seeds of the evaluation (the held-out seeds are used for nothing else), and the node's tone-detector
    options it evaluates (`ToneOptions`, the node's defaults)."""

    seed: int = 20_261_202
    clips_per_class: int = 60
    clip_seconds: float = 4.0
    scenes: int = 100
    hop_frames: int = 16  # the sound node's hop: a window every 0.512 s
    report_within_s: float = 10.0
    min_real_hours: float = 2.0


# The node's alarm events (ESPHome `binmoe` component, docs/esphome.md): with a window every 0.512 s, a T3
# cycle (4 s) gives about 5 windows with tone, a T4 burst (0.7 s every 5.8 s) about 2. Two windows of the class
# within the span make an event: 8 windows (4.1 s, one T3 cycle) for smoke, 12 (6.1 s, one T4 cycle) for CO.
# Fixed from the patterns' timing, not fitted to any data.
def default_event_rules(classes: tuple[str, ...], need: int = 2) -> tuple[EventRule, ...]:
    spans = {"smoke_alarm": 8, "co_alarm": 12}
    return tuple(EventRule(classes.index(name), need, span) for name, span in spans.items() if name in classes)


# With the alarm-code detector (the node's default for a model with both alarm classes) the rules count
# windows in which the class's code completed, and one is enough: a code match is five pulses of it. An event
# holds for CODE_EVENT_SPAN windows without the code (9.7 s, since 2026-12-07; one T3 / T4 cycle before): the
# longest whole number of windows under the node's default 10 s detection interval, so that a code lost for a
# cycle or two does not end the alarm (and start a second one), while a repeat report still means the code was
# heard again since the last report (docs/esphome.md, "Alarm events").
CODE_EVENT_SPAN = 19


def code_event_rules(classes: tuple[str, ...]) -> tuple[EventRule, ...]:
    return tuple(EventRule(rule.class_idx, 1, CODE_EVENT_SPAN) for rule in default_event_rules(classes))


def code_classes(classes: tuple[str, ...]) -> tuple[int, int]:
    """The classes the T3 and T4 codes report."""
    return classes.index("smoke_alarm"), classes.index("co_alarm")


def node_alarm_events(
    audio: NDArray[np.int16], frames: NDArray[np.int8], classes: tuple[str, ...], config: FeatureConfig,
    protocol: Protocol,
) -> list[tuple[int, int]]:  # fmt: skip
    """(class, window index) of each alarm event a sound node configured as `protocol` says reports for this
    stream (`frames`: its `stream_features`, a window every `hop_frames`): the code detector driving the code
    event rules, fed by the tone-following T3/T4 detector too when `alarm_tone` is on (its T4 path with `co_tone`,
    whose followed tones the band detector's T4 then needs) and its pitch gate with `alarm_pitch`."""
    tone, bands = tone_feed(audio, config, protocol)
    return code_events(
        frames, config, protocol.hop_frames, code_classes(classes), code_event_rules(classes), tone, bands
    )


def _teacher_predict(teacher: torch.nn.Module, x: NDArray[np.int8]) -> NDArray[np.int64]:
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    with torch.no_grad():
        return np.concatenate(
            [
                teacher(torch.tensor(x[i : i + 4096], dtype=torch.float32)).argmax(1).numpy()
                for i in range(0, len(x), 4096)
            ]
        )


def class_f1(y: NDArray[np.int64], pred: NDArray[np.int64], c: int) -> float:
    tp = np.sum((pred == c) & (y == c))
    fp = np.sum((pred == c) & (y != c))
    fn = np.sum((pred != c) & (y == c))
    return 0.0 if tp == 0 else float(2 * tp / (2 * tp + fp + fn))


def macro_f1_present(y: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    """Macro-F1 over the classes that occur in `y` (a set without some class does not score it as 0)."""
    present = sorted({int(v) for v in y})
    return float(np.mean([class_f1(y, pred, c) for c in present])) if present else float("nan")


def window_metrics(
    model: IntegerModel, teacher: torch.nn.Module, x: NDArray[np.int8], y: NDArray[np.int64], snr: NDArray[np.float64]
) -> dict[str, Any]:
    """The node alone (BNN), the teacher, and the cascade (the teacher answers what the node escalates)."""
    classes = model.classes
    pred, _margin, escalate = decide(model, forward(model, x))
    t_pred = _teacher_predict(teacher, x)
    cascade = np.where(escalate, t_pred, pred)
    bnn, teach, casc = (macro_f1_present(y, p) for p in (pred, t_pred, cascade))
    critical = np.isin(y, [classes.index(c) for c in CRITICAL if c in classes]) & (snr >= 0)
    per_class = {}
    for c in sorted({int(v) for v in y}):
        rows = y == c
        per_class[classes[c]] = {
            "windows": int(rows.sum()),
            "recall": round(float(np.mean(pred[rows] == c)), 4),
            "f1": round(class_f1(y, pred, c), 4),
            "predicted_as": dict(Counter(classes[int(v)] for v in pred[rows]).most_common(3)),
        }
    return {
        "windows": len(y),
        "bnn_macro_f1": round(bnn, 4),
        "teacher_macro_f1": round(teach, 4),
        "cascade_macro_f1": round(casc, 4),
        "cascade_vs_teacher": round(casc / teach, 4) if teach else None,
        "escalation_rate": round(float(escalate.mean()), 4),
        "critical_window_recall_snr_ge_0": round(float(np.mean(pred[critical] == y[critical])), 4)
        if critical.any()
        else None,
        "per_class": per_class,
    }


# ---- the four kinds of data ----------------------------------------------------------------------------


def heldout_conditions(
    family: Family, model: IntegerModel, teacher: torch.nn.Module, per_class: int, real_audio: bool
) -> dict[str, Any]:
    """The training generator drawing only from its held-out ranges (split `heldout`)."""
    x, y, _w = dataset("heldout", per_class, family, real_audio)
    snr = np.array([m.get("snr_db", 99.0) for m in dataset_meta("heldout", per_class, family, real_audio)])
    return window_metrics(model, teacher, x, y, snr)


def independent_generator(
    family: Family, model: IntegerModel, teacher: torch.nn.Module, protocol: Protocol
) -> dict[str, Any]:
    """The independent generator's clips, windowed at the node's hop; windows labelled by what they show."""
    cfg = family.features
    clips = generate_sound_clips(protocol.seed, protocol.clips_per_class, seconds=protocol.clip_seconds)
    xs, ys, snrs = [], [], []
    for clip in clips:
        if clip.label not in family.classes:
            continue
        windows = window_features(stream_features(clip.audio, cfg), cfg, protocol.hop_frames)
        for _start, index in labelled_windows(clip.audio, clip.label, clip.meta, cfg, protocol.hop_frames):
            xs.append(windows[index])
            ys.append(family.classes.index(clip.label))
            snrs.append(float(clip.meta.get("snr_db", 99.0)))
    return window_metrics(model, teacher, np.stack(xs), np.array(ys), np.array(snrs))


def alarm_scenes(family: Family, model: IntegerModel, protocol: Protocol) -> dict[str, Any]:
    """Event recall (an alarm sounding 10 s reported within 10 s of its onset) and false events on the
    alarm-free twins of the same scenes: the node's events (the alarm-code detector) and, for comparison,
    the window rule over the model's top classes."""
    cfg, classes = family.features, family.classes
    window_rules = default_event_rules(classes)
    found: dict[str, dict[str, list[bool]]] = {"code": defaultdict(list), "window_rule": defaultdict(list)}
    latencies: dict[str, list[float]] = {"code": [], "window_rule": []}
    false_events, negative_s = {"code": 0, "window_rule": 0}, 0.0

    def node_events(audio: NDArray[np.int16]) -> tuple[NodeDecisions, dict[str, list[tuple[int, int]]]]:
        frames = stream_features(audio, cfg)
        run = decisions(model, window_features(frames, cfg, protocol.hop_frames), cfg, protocol.hop_frames)
        code = node_alarm_events(audio, frames, classes, cfg, protocol)
        return run, {"code": code, "window_rule": events(run, window_rules)}

    for scene in generate_alarm_events(protocol.seed, protocol.scenes):
        run, by_source = node_events(scene.audio)
        onset, label = float(scene.meta["onset_s"]), str(scene.meta["label"])
        for source, fired in by_source.items():
            times = [run.end_s[i] for c, i in fired if classes[c] == label]
            hits = [t for t in times if onset <= t <= onset + protocol.report_within_s]
            found[source][label].append(bool(hits))
            if hits:
                latencies[source].append(hits[0] - onset)
    for scene in generate_negative_scenes(protocol.seed, protocol.scenes):
        _run, by_source = node_events(scene.audio)
        for source, fired in by_source.items():
            false_events[source] += len(fired)
        negative_s += len(scene.audio) / cfg.sample_rate

    def figures(source: str) -> dict[str, Any]:
        every = [hit for hits in found[source].values() for hit in hits]
        lat = latencies[source]
        return {
            "event_recall": round(float(np.mean(every)), 4),
            "event_recall_by_class": {label: round(float(np.mean(h)), 4) for label, h in sorted(found[source].items())},
            "report_latency_s_median": round(float(np.median(lat)), 2) if lat else None,
            "report_latency_s_max": round(float(np.max(lat)), 2) if lat else None,
            "false_events_in_alarm_free_twins": false_events[source],
        }

    return {
        "scenes": protocol.scenes,
        **figures("code"),
        "window_rule": figures("window_rule"),
        "alarm_free_hours": round(negative_s / 3600, 3),
    }


def real_recordings(
    family: Family,
    model: IntegerModel,
    protocol: Protocol,
    cache: Path,
    progress: Progress,
    code_detectors: bool = True,
) -> dict[str, Any]:
    """Hours of recorded speech and music without alarms (Debian `eval` packages), each package played back to
    back as one stream: critical detections and alarm events per hour, and the classes the node hears.
    `code_detectors=False` leaves out the alarm-code detectors (they do not use the model, so a comparison of
    models need not spend minutes on them) and their keys."""
    if not (cache / "eval").exists():
        debian_audio.fetch("eval", cache, progress=progress)
    clips = debian_audio.load_clips("eval", cache)
    classes, cfg = family.classes, family.features
    rules = default_event_rules(classes)
    critical = [classes.index(c) for c in CRITICAL]
    code_fired = 0
    histogram: Counter[str] = Counter()
    seconds, windows, local_critical, all_events, local_events = 0.0, 0, 0, 0, 0
    by_package: dict[str, list[Any]] = defaultdict(list)
    for clip in clips:
        by_package[clip.package].append(clip)
    examples: list[dict[str, Any]] = []
    for package, members in sorted(by_package.items()):
        audio = np.concatenate([_read(c.path) for c in sorted(members, key=lambda c: c.source)])
        progress(f"real recordings: {package} ({len(audio) / cfg.sample_rate / 3600:.2f} h)")
        frames = stream_features(audio, cfg)
        run = decisions(model, window_features(frames, cfg, protocol.hop_frames), cfg, protocol.hop_frames)
        fired_code = node_alarm_events(audio, frames, classes, cfg, protocol) if code_detectors else []
        code_fired += len(fired_code)
        for c, index in fired_code:
            if len(examples) < 20:
                examples.append({"package": package, "class": classes[c], "at_s": round(float(run.end_s[index]), 1)})
        seconds += len(audio) / cfg.sample_rate
        windows += len(run)
        histogram.update(classes[int(c)] for c in run.top)
        is_critical = np.isin(run.top, critical)
        local_critical += int(np.sum(is_critical & ~run.escalate))
        fired = events(run, rules)
        all_events += len(fired)
        for _c, index in fired:
            local_events += int(not run.escalate[index])
    hours = seconds / 3600
    if hours < protocol.min_real_hours:
        progress(f"warning: only {hours:.2f} h of real recordings (the protocol asks for {protocol.min_real_hours} h)")
    report: dict[str, Any] = {
        "packages": sorted(by_package),
        "real_negative_hours": round(hours, 3),
        "windows": windows,
        "window_rule": {
            "critical_false_alarms_per_hour": round(all_events / hours, 3),
            "critical_false_alarms_handled_locally_per_hour": round(local_events / hours, 3),
        },
        "critical_windows_handled_locally_per_hour": round(local_critical / hours, 2),
        "class_histogram": {c: round(histogram[c] / max(windows, 1), 4) for c in classes},
    }
    if code_detectors:
        report.update(
            {"critical_false_alarms_per_hour": round(code_fired / hours, 3), "false_alarm_examples": examples}
        )
    return report


def _read(path: Path) -> NDArray[np.int16]:
    rate, data = wavfile.read(path)
    if rate != 16000 or data.dtype != np.int16:
        raise ValueError(f"{path}: expected 16 kHz int16, got {rate} Hz {data.dtype}")
    return np.asarray(data)


# ---- the report ----------------------------------------------------------------------------------------


def evaluate(
    run_dir: Path,
    family: Family,
    protocol: Protocol = Protocol(),
    real_audio_cache: Path | None = None,
    progress: Progress = print,
) -> dict[str, Any]:
    """All generalisation figures of a trained sound model; written to `<stem>_generalization.json`."""
    metrics = json.loads((run_dir / f"{family.stem}_metrics.json").read_text())
    model = load_model(run_dir / f"{family.stem}_model.npz")
    teacher, _info = load_teacher_network(run_dir / f"{family.stem}_teacher.pt")
    run_cfg = CONFIGS[metrics["config"]]
    progress("held-out conditions (training generator, held-out ranges)")
    conditions = heldout_conditions(family, model, teacher, run_cfg.per_class(family.name, "test"), run_cfg.real_audio)
    progress("independent generator: clips")
    independent = independent_generator(family, model, teacher, protocol)
    progress("independent generator: alarm scenes and their alarm-free twins")
    scenes = alarm_scenes(family, model, protocol)
    report: dict[str, Any] = {
        "family": family.name,
        "model_hash": metrics["model_hash"],
        "protocol": asdict(protocol),
        "own_test": {
            "bnn_macro_f1": metrics["student_bnn_macro_f1"],
            "teacher_macro_f1": metrics["teacher_macro_f1"],
            "cascade_macro_f1": metrics["cascade_macro_f1_at_target"],
            "escalation_rate": metrics["escalation_rate_at_target"],
        },
        "heldout_conditions": conditions,
        "independent_generator": independent,
        "alarm_scenes": scenes,
    }
    if real_audio_cache is not None:
        report["real_recordings"] = real_recordings(family, model, protocol, real_audio_cache, progress)
    report["summary"] = summary(report)
    write_atomic(run_dir / f"{family.stem}_generalization.json", json.dumps(report, indent=2).encode())
    return report


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's keys: `heldout_*` is the independent generator (the harder, independent test)."""
    own = report["own_test"]["bnn_macro_f1"]
    ind = report["independent_generator"]
    real = report.get("real_recordings", {})
    return {
        "own_test_macro_f1": own,
        "heldout_conditions_macro_f1": report["heldout_conditions"]["bnn_macro_f1"],
        "heldout_macro_f1": ind["bnn_macro_f1"],
        "heldout_vs_own_test": round(ind["bnn_macro_f1"] / own, 4) if own else None,
        "critical_window_recall_heldout": ind["critical_window_recall_snr_ge_0"],
        "critical_window_recall_heldout_conditions": report["heldout_conditions"]["critical_window_recall_snr_ge_0"],
        "critical_event_recall": report["alarm_scenes"]["event_recall"],
        "critical_event_recall_window_rule": report["alarm_scenes"]["window_rule"]["event_recall"],
        "critical_false_alarms_per_hour": real.get("critical_false_alarms_per_hour"),
        "critical_false_alarms_per_hour_window_rule": real.get("window_rule", {}).get("critical_false_alarms_per_hour"),
        "real_negative_hours": real.get("real_negative_hours"),
        "cascade_macro_f1_heldout": ind["cascade_macro_f1"],
        "cascade_vs_teacher_heldout": ind["cascade_vs_teacher"],
        "escalation_rate_heldout": ind["escalation_rate"],
    }
