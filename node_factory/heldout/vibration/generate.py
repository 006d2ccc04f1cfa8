"""Public vibration API: labelled clips, and long runs of held-out machines (healthy, then seeded faults).

Overrides for clips (tests and sweeps): bearing (designation prefix), rpm, speed_variation (bool),
noise (bool: machine base vibration and sensor noise), severity (bearing impact g or fault velocity mm/s).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..common import Clip, rng_for
from .bearings import bearing_by_name
from .machine import (
    FAULT_CLASSES,
    VIBRATION_CLASSES,
    Fault,
    Machine,
    SpeedProfile,
    clip_speed,
    draw_fault,
    draw_machine,
    run_speed,
)
from .render import MachineRenderer, effective_orders
from .sensors import Sensor, SensorChain, draw_sensor

PREROLL_S = 0.3


def _machine_for_clip(rng: np.random.Generator, ov: Mapping[str, Any]) -> Machine:
    bearing = bearing_by_name(str(ov["bearing"])) if "bearing" in ov else None
    machine = draw_machine(rng, bearing, float(ov["rpm"]) if "rpm" in ov else None)
    if not ov.get("noise", True):
        machine = dataclasses.replace(
            machine, noise_g=1e-9, line_tone_g=0.0, gear_g=0.0, gear_teeth=0, residual_1x_mm_s=0.0
        )
    return machine


def _fault_frequencies(machine: Machine, fault: Fault, mean_rpm: float) -> dict[str, float]:
    fr = mean_rpm / 60
    orders = effective_orders(machine, fault) if fault.label.startswith("bearing_") else machine.bearing.orders()
    return {"fr_hz": fr, **{f"{k}_hz": v * fr for k, v in orders.items()}}


def render_vibration_clip(
    label: str, rng: np.random.Generator, sample_rate: int, seconds: float, overrides: Mapping[str, Any] | None = None
) -> Clip:
    ov = dict(overrides or {})
    machine = _machine_for_clip(rng, ov)
    fault = draw_fault(rng, label, machine)
    if "severity" in ov and fault.params:
        key = "impact_g" if label.startswith("bearing_") else "v1x_mm_s"
        fault = Fault(label, {**fault.params, key: float(ov["severity"])})
    sensor = draw_sensor(rng, sample_rate)
    if not ov.get("noise", True):
        sensor = dataclasses.replace(sensor, noise_lsb=0.0)
    speed = clip_speed(rng, machine.rpm_nominal, seconds + PREROLL_S, bool(ov.get("speed_variation", True)))
    renderer = MachineRenderer(machine, sample_rate, rng)
    pre = int(PREROLL_S * sample_rate)
    n = round(seconds * sample_rate)
    accel, info = renderer.render(pre + n, speed, rng, fault, 0)
    audio = SensorChain(sensor).apply(accel, rng)[pre:]
    rpm = info["rpm"][pre:]
    meta = {
        "label": label,
        "sample_rate": sample_rate,
        "seconds": seconds,
        "machine": machine.describe(),
        "fault": fault.describe(),
        "sensor": sensor.describe(),
        "rpm_trajectory_10hz": [round(float(v), 2) for v in rpm[:: max(1, sample_rate // 10)]],
        "rpm_mean": float(rpm.mean()),
        "fault_frequencies": _fault_frequencies(machine, fault, float(rpm.mean())),
        "accel_rms_g": float(np.sqrt(np.mean(accel[pre:] ** 2))),
    }
    return Clip(audio, sample_rate, label, meta)


def generate_vibration_clips(
    seed: int,
    per_class: int,
    sample_rate: int,
    seconds: float = 4.0,
    *,
    classes: Sequence[str] = VIBRATION_CLASSES,
    overrides: Mapping[str, Any] | None = None,
) -> list[Clip]:
    """per_class clips per class, each from a freshly drawn machine; clip i depends only on (seed, rate, class, i)."""
    unknown = set(classes) - set(VIBRATION_CLASSES)
    if unknown:
        raise ValueError(f"unknown classes: {sorted(unknown)}")
    clips = []
    for label in classes:
        for i in range(per_class):
            clip = render_vibration_clip(
                label, rng_for(seed, "vibration", sample_rate, label, i), sample_rate, seconds, overrides
            )
            clip.meta["id"] = f"{label}-{sample_rate}-{seed}-{i:05d}"
            clips.append(clip)
    return clips


@dataclass(frozen=True)
class FaultSegment:
    label: str
    start_s: float
    onset_s: float
    end_s: float
    fault: Fault

    def describe(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "start_s": self.start_s,
            "onset_s": self.onset_s,
            "end_s": self.end_s,
            "fault": self.fault.describe(),
        }


@dataclass
class RunChunk:
    start_s: float
    audio: np.ndarray
    labels: list[tuple[float, float, str]]  # (start_s, end_s, label) spans inside this chunk, absolute times
    rpm_mean: float
    rpm_min: float
    rpm_max: float


@dataclass
class MachineRun:
    """One held-out machine: [0, healthy_s) healthy, then one segment per seeded fault.

    Each fault segment starts healthy (as after a repair) and the fault switches on at onset_s and stays until
    the segment ends; speed keeps following the same profile throughout.
    """

    machine_id: str
    seed: int
    index: int
    sample_rate: int
    machine: Machine
    sensor: Sensor
    speed: SpeedProfile
    speed_info: dict[str, float]
    healthy_s: float
    segments: list[FaultSegment]
    chunk_s: float
    total_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.total_s = self.segments[-1].end_s if self.segments else self.healthy_s

    def label_at(self, t: float) -> str:
        for seg in self.segments:
            if seg.onset_s <= t < seg.end_s:
                return seg.label
        return "healthy"

    def describe(self) -> dict[str, Any]:
        return {
            "machine_id": self.machine_id,
            "sample_rate": self.sample_rate,
            "machine": self.machine.describe(),
            "sensor": self.sensor.describe(),
            "speed": self.speed_info,
            "healthy_s": self.healthy_s,
            "total_s": self.total_s,
            "segments": [s.describe() for s in self.segments],
        }

    def chunks(self) -> Iterator[RunChunk]:
        """Consecutive chunks of chunk_s from t = 0 to total_s (the last one may be shorter)."""
        sr = self.sample_rate
        renderer = MachineRenderer(self.machine, sr, rng_for(self.seed, "run_noise", self.index))
        chain = SensorChain(self.sensor)
        onsets = sorted(s.onset_s for s in self.segments)
        cuts_at = sorted({self.healthy_s, *[x for s in self.segments for x in (s.start_s, s.end_s)]})
        n_total = round(self.total_s * sr)
        n_chunk = round(self.chunk_s * sr)
        pos, k = 0, 0
        while pos < n_total:
            t0 = pos / sr
            n = min(n_chunk, n_total - pos)
            nxt = next((c for c in cuts_at if t0 < c < t0 + n / sr), None)
            if nxt is not None:  # a chunk never spans two segments: each fault segment starts afresh
                n = round(nxt * sr) - pos
            rng = rng_for(self.seed, "run", self.index, k)
            seg = next((s for s in self.segments if s.start_s <= t0 < s.end_s), None)
            fault, fault_from = None, n
            if seg is not None and seg.onset_s < t0 + n / sr:
                fault, fault_from = seg.fault, max(0, round((seg.onset_s - t0) * sr))
            accel, info = renderer.render(n, self.speed, rng, fault, fault_from)
            if seg is not None and abs((pos + n) / sr - seg.end_s) < 0.5 / sr:
                renderer.state.processes.clear()  # the next segment's fault starts afresh
            audio = chain.apply(accel, rng)
            t1 = (pos + n) / sr
            spans = [t0, *[o for o in onsets if t0 < o < t1], t1]
            labels = [(a, b, self.label_at(a)) for a, b in itertools.pairwise(spans)]
            rpm = info["rpm"]
            yield RunChunk(t0, audio, labels, float(rpm.mean()), float(rpm.min()), float(rpm.max()))
            pos += n
            k += 1


def generate_machine_runs(
    seed: int,
    n_machines: int,
    sample_rate: int,
    hours: float,
    *,
    chunk_seconds: float = 10.0,
    faults: Sequence[str] = FAULT_CLASSES,
    fault_segment_s: float = 600.0,
    onset_fraction: tuple[float, float] = (0.2, 0.6),
) -> list[MachineRun]:
    """Held-out machines, each healthy for `hours`, then one fault_segment_s segment per fault in `faults`.

    Nothing is rendered until MachineRun.chunks() is iterated, so days of data never sit in memory.
    """
    runs = []
    for m in range(n_machines):
        rng = rng_for(seed, "machine", sample_rate, m)
        machine = draw_machine(rng)
        sensor = draw_sensor(rng, sample_rate)
        healthy_s = float(hours * 3600)
        segments = []
        t = healthy_s
        for label in faults:
            onset = t + float(rng.uniform(*onset_fraction)) * fault_segment_s
            segments.append(FaultSegment(label, t, onset, t + fault_segment_s, draw_fault(rng, label, machine)))
            t += fault_segment_s
        speed, info = run_speed(rng, machine.rpm_nominal, t + chunk_seconds)
        runs.append(
            MachineRun(
                f"machine-{sample_rate}-{seed}-{m:03d}",
                seed,
                m,
                sample_rate,
                machine,
                sensor,
                speed,
                info,
                healthy_s,
                segments,
                chunk_seconds,
            )
        )
    return runs
