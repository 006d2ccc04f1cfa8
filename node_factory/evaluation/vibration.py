"""The vibration generalisation protocol: per-machine baselines, fault orders and the supervised students,
all measured on machines the project never trained on.

Every number comes from the independent held-out generator (`node_factory.heldout.vibration`: other
bearings, resonances, mounting gains, sensors, noise and speed profiles, written without the training
generator's code), with the protocol's own seed, used for nothing else. Nothing here trains, calibrates or
selects anything: the baseline is what a node learns on its machine in the first `baseline_s`, the order
rules are fixed in `node_factory.reference.orders`, the students are the shipped models.

- anomaly: each held-out machine runs healthy for `healthy_hours` (speed set-points changing every 5-30
  minutes on average within +-5..25 % of nominal), then one segment per seeded fault (the fault switches
  on part-way). The node learns its baseline from the first `baseline_s` of windows and scores every later
  one. AUC per machine (healthy windows after the baseline against windows after a fault's onset);
  anomalies (with the baseline's hysteresis) started during healthy running, per day, counted over all
  healthy windows and over those whose speed lies inside the range the baseline saw; fault segments
  detected. Each anomaly started is escalated with the node's capture (the last raw samples up to the end of
  the window that raised it, or of a later one with `capture_delay`: `escalation_captures`), and `identify`
  reads it with the speed over the capture and the bearing: fault identification on what the node actually
  sends, when it sends it (the product's figure), and what a false anomaly's capture is called; and how often
  the diagnosis adds to a shaft verdict that it may be the new speed (the escalated window's speed outside
  those the baseline's windows read, `outside_speeds`).
- fault identification: labelled held-out clips of the six faults; speed (the clip's mean rpm, as a
  tachometer would read it) and the bearing geometry are given to `identify`.
- students: the shipped model's window classes on held-out clips of all seven classes (macro-F1).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from ..corpus.families import Family
from ..heldout import generate_machine_runs, generate_vibration_clips
from ..heldout.vibration import FAULT_CLASSES, VIBRATION_CLASSES
from ..reference import ima_adpcm
from ..reference.baseline import AnomalyDetector, BaselineLearner, digest8, persistence_windows, signature
from ..reference.features import FeatureConfig, frame_features
from ..reference.model_format import load
from ..reference.network import decide, forward
from ..reference.orders import SHAFT_FAULTS, BearingGeometry, identify, outside_speeds
from ..training.metrics import macro_f1

Progress = Callable[[str], None]


@dataclass(frozen=True)
class VibrationProtocol:
    """Sizes and the seed of the evaluation (the seed is used for nothing else)."""

    seed: int = 20_261_203
    machines: int = 8
    baseline_s: float = 600.0
    healthy_hours: float = 3.0
    fault_segment_s: float = 300.0
    clips_per_class: int = 20
    clip_seconds: float = 4.0
    # how a capture reaches the GPU tier: int16 samples, or through the node's IMA ADPCM encoder (whole blocks)
    capture_encoding: str = "s16le"
    # the anomaly protocol's windows come every `hop_frames` frames, as the node classifies them (None: the node's
    # default hop, half a window; until 2026-12-06 the protocol used whole windows without overlap)
    hop_frames: int | None = None
    # the anomaly's hysteresis (enter, exit) in windows; None: what the node stores for the hop (persistence_windows)
    persistence: tuple[int, int] | None = None

    def hop_samples(self, cfg: FeatureConfig) -> int:
        hop = (cfg.frames // 2 if self.hop_frames is None else self.hop_frames) * cfg.frame
        if not cfg.frame <= hop <= cfg.window_samples or cfg.window_samples % hop:
            raise ValueError(f"hop of {hop} samples: a whole number of frames that divides the window")
        return hop


# The shipped YAMLs' suggested `capture_duration` with `capture_encoding: ima_adpcm` (docs/vibration-baseline.md,
# "Four seconds in the memory of one"): 8 s on the ADXL345 node, 4 s on the piezo node.
SUGGESTED_CAPTURE_S = {"vibration": 8.0, "vibration_adc": 4.0}


@dataclass(frozen=True)
class Capture:
    """What a node sends with an anomaly's escalation: the last `samples` raw samples, in `encoding`, taken
    `delay_windows` windows after the one that raised the anomaly (`capture_delay`; 0: that window)."""

    name: str
    samples: int
    encoding: str
    delay_windows: int = 0


def escalation_captures(family: Family, hop: int | None = None) -> tuple[Capture, ...]:
    """The node's default capture (one model window as int16, sent at once) and the shipped YAMLs' suggestion (IMA
    ADPCM, the whole blocks that hold it, as the node sends them), sent `capture_delay` = `capture_duration` after
    the anomaly starts (the first window that ends that long after the raising one), and sent at once for
    comparison. `hop`: the samples between windows (default a whole window), which the delay is counted in."""
    cfg = family.features
    hop = cfg.window_samples if hop is None else hop
    blocks = -(-round(SUGGESTED_CAPTURE_S[family.name] * cfg.sample_rate) // ima_adpcm.SAMPLES_PER_BLOCK)
    samples = blocks * ima_adpcm.SAMPLES_PER_BLOCK
    delay = -(-round(SUGGESTED_CAPTURE_S[family.name] * cfg.sample_rate) // hop)
    return (
        Capture("default", cfg.window_samples, "s16le"),
        Capture("suggested", samples, "ima_adpcm", delay),
        Capture("suggested_at_once", samples, "ima_adpcm"),
    )


def _identify_capture(
    recent: deque[tuple[NDArray[np.int16], float, float, float]],
    capture: Capture,
    sample_rate: int,
    bearing: BearingGeometry,
) -> str:
    """`identify`'s verdict on `capture` of the stream's pieces in `recent` (oldest first: samples, mean, lowest
    and highest speed of the chunk each came from), with the mean speed of the pieces the capture spans (a
    tachometer over the capture) and the machine's bearing."""
    audio = np.concatenate([r[0] for r in recent])
    pieces = -(-capture.samples // len(recent[-1][0]))  # the pieces the capture reaches into
    spanned = [r[1] for r in list(recent)[-pieces:]]
    samples = audio[-capture.samples :]
    if capture.encoding == "ima_adpcm":
        samples = ima_adpcm.decode(ima_adpcm.encode(samples))
    return identify(samples, sample_rate, float(np.mean(spanned)), bearing).fault


@dataclass
class Escalation:
    """An anomaly's escalation: the running label where it started, the fault each capture was identified as
    (each taken when its delay has passed), and whether the diagnosis adds that the new speed may be the cause
    (`new_speed`: the suggested capture's verdict is a shaft fault at a speed outside those the baseline's
    windows read; the node sends the escalated window's speed and the baseline's speeds, and vibration.toml's
    shaft classes have a cause for it; Home Assistant's repair issue follows it: custom_components/binmoe/
    baseline_speeds.py), and whether that speed alone is outside them, whatever the verdict (`outside_speeds`)."""

    label: str
    verdicts: dict[str, str] = field(default_factory=dict)
    new_speed: bool = False
    outside_speeds: bool = False


@dataclass
class _Pending:
    """An escalation under way: the windows since its anomaly started, until its last capture is taken."""

    escalation: Escalation
    windows: int = 0


def auc(negatives: NDArray[np.int64], positives: NDArray[np.int64]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half)."""
    if len(negatives) == 0 or len(positives) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([negatives, positives]))
    n1 = len(positives)
    return float((ranks[len(negatives) :].sum() - n1 * (n1 + 1) / 2) / (n1 * len(negatives)))


def _machine_anomaly(run: Any, family: Family, protocol: VibrationProtocol) -> dict[str, Any]:
    """One held-out machine as the node runs it: a window every `hop` samples (the node's default: half a window;
    windows overlap and share frames), a baseline learnt from the windows of the first `baseline_s` (the node's
    count, duration / hop rounded up), and the hysteresis stored with it for that hop."""
    cfg = family.features
    length = cfg.window_samples
    hop = protocol.hop_samples(cfg)
    window_s, hop_s = length / cfg.sample_rate, hop / cfg.sample_rate
    enter, exit_ = protocol.persistence or persistence_windows(length, hop)
    learner = BaselineLearner(cfg.bands, math.ceil(protocol.baseline_s / hop_s - 1e-9), digest8(cfg.digest()),
                              enter, exit_)  # fmt: skip
    bearing = _geometry(vars(run.machine.bearing))  # a held-out machine's `Bearing`
    detector: AnomalyDetector | None = None
    rpm_lo, rpm_hi = float("inf"), 0.0
    speed_lo, speed_hi = float("inf"), 0.0  # the speeds the node's tachometer read while it learnt (window means)
    healthy, faulty, in_range, fault_in_range = [], [], [], []
    false_all = false_in_range = 0
    flagged: Counter[str] = Counter()
    captures = escalation_captures(family, hop)
    # the node's raw samples, a hop at a time with the speeds of the chunk it came from: enough for the longest
    # capture (the first one's start may be cut) and for a window
    keep = max(max(c.samples for c in captures), length) // hop + 1
    recent: deque[tuple[NDArray[np.int16], float, float, float]] = deque(maxlen=keep)
    frames: deque[NDArray[np.int8]] = deque(maxlen=cfg.frames)  # the last window's feature rows
    escalations: list[Escalation] = []
    pending: list[_Pending] = []

    def take_captures(under_way: _Pending, window_rpm: float) -> bool:
        """The captures whose delay ends with this window (its mean speed `window_rpm`, what the node sends);
        True once all are taken."""
        escalation = under_way.escalation
        for c in captures:
            if c.delay_windows == under_way.windows:
                fault = escalation.verdicts[c.name] = _identify_capture(recent, c, cfg.sample_rate, bearing)
                if c.name == "suggested":
                    escalation.outside_speeds = outside_speeds(window_rpm, speed_lo, speed_hi)
                    escalation.new_speed = escalation.outside_speeds and fault in SHAFT_FAULTS
        under_way.windows += 1
        return len(escalation.verdicts) == len(captures)

    for chunk in run.chunks():  # chunk_s is one window
        if len(chunk.audio) < length:  # a segment's short end: the stream restarts after it, as after a gap
            frames.clear()
            recent.clear()
            continue
        for offset in range(0, length, hop):
            piece = chunk.audio[offset : offset + hop]
            recent.append((piece, chunk.rpm_mean, chunk.rpm_min, chunk.rpm_max))
            frames.extend(frame_features(piece.reshape(-1, cfg.frame), cfg))
            if len(frames) < cfg.frames:
                continue
            spanned = list(recent)[-(length // hop) :]  # the window's pieces: their chunks' speeds
            w_mean = float(np.mean([r[1] for r in spanned]))
            w_min, w_max = min(r[2] for r in spanned), max(r[3] for r in spanned)
            sig = signature(np.stack(frames))
            t_end = chunk.start_s + (offset + hop) / cfg.sample_rate
            t_start = t_end - window_s
            if detector is None:
                learner.push(sig)
                rpm_lo, rpm_hi = min(rpm_lo, w_min), max(rpm_hi, w_max)
                speed_lo, speed_hi = min(speed_lo, w_mean), max(speed_hi, w_mean)
                if learner.done:
                    detector = AnomalyDetector(learner.result())
                continue
            score, started = detector.push(sig)
            label = run.label_at(t_end - 1e-6)
            inside = rpm_lo <= w_min and w_max <= rpm_hi
            start_label = None
            if label == "healthy" and run.label_at(t_start) == "healthy":
                healthy.append(score)
                in_range.append(inside)
                false_all += started
                false_in_range += started and inside
                start_label = "healthy"
            elif label != "healthy" and run.label_at(t_start) == label:
                faulty.append(score)
                fault_in_range.append(inside)
                if detector.active:  # raised during the fault (or still raised: the segment began as repaired)
                    flagged[label] += 1
                start_label = label
            if started and start_label is not None:
                pending.append(_Pending(Escalation(start_label)))
            # a delayed capture ends with a later window
            for under_way in [e for e in pending if take_captures(e, w_mean)]:
                pending.remove(under_way)
                escalations.append(under_way.escalation)
    assert detector is not None, "the run is shorter than its baseline"
    h, f = np.array(healthy), np.array(faulty)
    h_in, f_in = h[np.array(in_range, dtype=bool)], f[np.array(fault_in_range, dtype=bool)]
    return {
        "machine_id": run.machine_id,
        "bearing": run.machine.bearing.designation,
        "rpm_nominal": round(run.machine.rpm_nominal),
        "baseline_rpm": [round(rpm_lo), round(rpm_hi)],
        "run_rpm": [round(run.speed_info["rpm_low"]), round(run.speed_info["rpm_high"])],
        "threshold": detector.baseline.threshold,
        "auc": auc(h, f),
        # the windows a node could judge knowing its speed: healthy and faulty running at speeds the baseline saw
        "auc_in_range": auc(h_in, f_in),
        "fault_windows_in_range": f"{len(f_in)} of {len(f)}",
        # windows overlap at a hop under a window: hours of running are windows x hop
        "healthy_hours": len(h) * hop_s / 3600,
        "healthy_hours_in_range": int(np.sum(in_range)) * hop_s / 3600,
        "false_anomalies": int(false_all),
        "false_anomalies_in_range": int(false_in_range),
        "faults_flagged": sorted(flagged),
        "escalations": escalations,
        "healthy_scores": h,
        "fault_scores": f,
    }


def anomaly(family: Family, protocol: VibrationProtocol, progress: Progress) -> dict[str, Any]:
    cfg = family.features
    if protocol.healthy_hours * 3600 < protocol.baseline_s + 60:
        raise ValueError(
            f"{protocol.healthy_hours} h of healthy running leave nothing after a {protocol.baseline_s} s baseline"
        )
    runs = generate_machine_runs(
        protocol.seed,
        protocol.machines,
        cfg.sample_rate,
        protocol.healthy_hours,
        chunk_seconds=cfg.window_samples / cfg.sample_rate,
        fault_segment_s=protocol.fault_segment_s,
    )
    machines = []
    for run in runs:
        machines.append(_machine_anomaly(run, family, protocol))
        m = machines[-1]
        progress(f"{family.name} {m['machine_id']}: AUC {m['auc']:.3f}, false anomalies {m['false_anomalies']}")
    hours = sum(m["healthy_hours"] for m in machines)
    hours_in = sum(m["healthy_hours_in_range"] for m in machines)
    false_all = sum(m["false_anomalies"] for m in machines)
    false_in = sum(m["false_anomalies_in_range"] for m in machines)
    detected = sum(len(m["faults_flagged"]) for m in machines)
    pooled = auc(
        np.concatenate([m["healthy_scores"] for m in machines]), np.concatenate([m["fault_scores"] for m in machines])
    )
    for m in machines:
        del m["healthy_scores"], m["fault_scores"]
    escalated = escalated_fault_identification(
        [e for m in machines for e in m["escalations"]], [c.name for c in escalation_captures(family)]
    )
    for m in machines:
        m["escalations"] = [asdict(e) for e in m["escalations"]]
    aucs = [m["auc"] for m in machines]
    aucs_in = [m["auc_in_range"] for m in machines if not np.isnan(m["auc_in_range"])]
    return {
        "anomaly_auc_heldout": float(np.mean(aucs)),
        "anomaly_auc_heldout_min": float(np.min(aucs)),
        "anomaly_auc_heldout_pooled": pooled,
        # mean over the machines with healthy and faulty windows inside the baseline's speed range
        "anomaly_auc_heldout_in_baseline_speed_range": float(np.mean(aucs_in)) if aucs_in else float("nan"),
        "machines_with_faults_in_baseline_speed_range": len(aucs_in),
        "false_anomalies_per_day": false_all / hours * 24 if hours else float("nan"),
        "false_anomalies_per_day_in_baseline_speed_range": false_in / hours_in * 24 if hours_in else float("nan"),
        "healthy_hours": hours,
        "healthy_hours_in_baseline_speed_range": hours_in,
        "false_anomalies": false_all,
        "false_anomalies_in_baseline_speed_range": false_in,
        "fault_segments_flagged": detected,
        "fault_segments": len(machines) * len(FAULT_CLASSES),
        **escalated,
        "machines": machines,
    }


def escalated_fault_identification(escalations: list[Escalation], names: list[str]) -> dict[str, Any]:
    """Fault identification on the captures of the anomalies the node raised: per capture, accuracy over the
    anomalies started during a fault, per class, and what the anomalies started during healthy running (false
    anomalies) were called."""
    faults = [(e.label, e.verdicts) for e in escalations if e.label != "healthy"]
    false = [e.verdicts for e in escalations if e.label == "healthy"]
    result: dict[str, Any] = {"escalated_fault_captures": len(faults), "escalated_false_anomaly_captures": len(false)}
    # the diagnosis's new-speed caveat (a shaft verdict at a speed the baseline never saw), per class
    result["escalated_new_speed_caveats"] = {
        "faults": {c: sum(e.new_speed for e in escalations if e.label == c) for c in FAULT_CLASSES},
        "false_anomalies": sum(e.new_speed for e in escalations if e.label == "healthy"),
    }
    # the speed alone, whatever the verdict (what a rule on the speed without the orders would count)
    result["escalated_outside_baseline_speeds"] = {
        "faults": {c: sum(e.outside_speeds for e in escalations if e.label == c) for c in FAULT_CLASSES},
        "false_anomalies": sum(e.outside_speeds for e in escalations if e.label == "healthy"),
    }
    for name in names:
        correct = [v[name] == label for label, v in faults]
        per_class = {c: [v[name] == c for label, v in faults if label == c] for c in FAULT_CLASSES}
        result[f"escalated_fault_id_accuracy_{name}_capture"] = float(np.mean(correct)) if correct else float("nan")
        result[f"escalated_fault_id_per_class_{name}_capture"] = {
            c: f"{sum(hits)} of {len(hits)}" for c, hits in per_class.items()
        }
        result[f"escalated_false_anomaly_verdicts_{name}_capture"] = dict(
            sorted(Counter(v[name] for v in false).items())
        )
    return result


def _geometry(b: dict[str, Any]) -> BearingGeometry:
    """A held-out bearing's geometry from its fields (`node_factory.heldout.vibration.bearings.Bearing`)."""
    return BearingGeometry(int(b["n"]), float(b["d_mm"]), float(b["pitch_mm"]), float(b["contact_deg"]))


def fault_identification(family: Family, protocol: VibrationProtocol, progress: Progress) -> dict[str, Any]:
    cfg = family.features
    clips = generate_vibration_clips(
        protocol.seed, protocol.clips_per_class, cfg.sample_rate, protocol.clip_seconds, classes=FAULT_CLASSES
    )
    confusion: Counter[tuple[str, str]] = Counter()
    for i, clip in enumerate(clips):
        audio = clip.audio if protocol.capture_encoding == "s16le" else ima_adpcm.decode(ima_adpcm.encode(clip.audio))
        report = identify(
            audio, cfg.sample_rate, float(clip.meta["rpm_mean"]), _geometry(clip.meta["machine"]["bearing"])
        )
        confusion[(clip.label, report.fault)] += 1
        if i % 20 == 19:
            progress(f"{family.name} fault identification: {i + 1} of {len(clips)} clips")
    correct = sum(v for (t, p), v in confusion.items() if t == p)
    per_class = {
        c: sum(v for (t, p), v in confusion.items() if t == c and p == c) / protocol.clips_per_class
        for c in FAULT_CLASSES
    }
    return {
        "fault_id_accuracy_heldout": correct / len(clips),
        "fault_id_clips": len(clips),
        "fault_id_per_class": per_class,
        "fault_id_confusion": {f"{t}->{p}": v for (t, p), v in sorted(confusion.items())},
    }


def students(family: Family, model_path: Path, protocol: VibrationProtocol) -> dict[str, Any]:
    cfg = family.features
    model, _info = load(model_path)
    classes = list(model.classes)
    clips = generate_vibration_clips(
        protocol.seed + 1, protocol.clips_per_class, cfg.sample_rate, protocol.clip_seconds, classes=VIBRATION_CLASSES
    )
    feats, labels = [], []
    length = cfg.window_samples
    for clip in clips:
        for start in range(0, len(clip.audio) - length + 1, length):
            window = clip.audio[start : start + length]
            feats.append(frame_features(window.reshape(cfg.frames, cfg.frame), cfg))
            labels.append(classes.index(clip.label))
    y = np.array(labels)
    pred, _margin, escalate = decide(model, forward(model, np.stack(feats)))
    confusion = Counter(zip(y.tolist(), pred.tolist(), strict=True))
    top_confusions = sorted(((v, classes[t], classes[p]) for (t, p), v in confusion.items() if t != p), reverse=True)[
        :5
    ]
    return {
        "student_heldout_macro_f1": macro_f1(y, pred, len(classes)),
        "student_heldout_windows": len(y),
        "student_escalation_rate_heldout": float(np.mean(escalate)),
        "student_top_confusions": [
            f"{t} -> {p}: {v} of {int(np.sum(y == classes.index(t)))}" for v, t, p in top_confusions
        ],
    }


def evaluate(family: Family, model_path: Path, protocol: VibrationProtocol, progress: Progress) -> dict[str, Any]:
    result: dict[str, Any] = {"protocol": asdict(protocol), "family": family.name}
    result |= students(family, model_path, protocol)
    progress(f"{family.name} students: macro-F1 {result['student_heldout_macro_f1']:.3f}")
    result |= fault_identification(family, protocol, progress)
    progress(f"{family.name} fault identification: accuracy {result['fault_id_accuracy_heldout']:.3f}")
    result |= anomaly(family, protocol, progress)
    return result
