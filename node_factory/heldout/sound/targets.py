"""The sound of each labelled class as one or more sources with a level and a distance.

Levels are free-field (direct) SPL at 1 m, RMS over the source's active intervals; the room then adds its
reverberant field.  Smoke/CO piezo sounders 85–97 dB (UL 217 / UL 2034 require >= 85 dBA at 10 ft = 3 m, which
is ~94.5 dB at 1 m in a free field; in a room the reverberant field makes up part of it), 520 Hz sounders
82–95 dB, appliance beeps 60–80 dB, mechanical chimes 75–90 dB, electronic chimes 70–85 dB, knocks 65–85 dB,
running water 55–72 dB, speech/TV 55–72 dB.  Distances are log-uniform over 0.5–10 m (speech 1–6 m).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dsp import butter_sos, db_to_amp, sosfilt
from .acoustics import Microphone
from .alarms import draw_lf520, draw_piezo, draw_t3_timing, draw_t4_timing, pulse_schedule, render_sounder
from .ambient import tv_speech
from .household import appliance_beep, doorbell, knock
from .shared import Rendered, finish, merge_intervals
from .speech import synthesize_speech
from .water import water_running

SOUND_CLASSES = (
    "background", "smoke_alarm", "co_alarm", "appliance_beep", "doorbell", "knock", "water_running", "speech_tv",
)  # fmt: skip
EVENT_CLASSES = SOUND_CLASSES[1:]


@dataclass
class Source:
    rendered: Rendered
    spl_1m: float
    distance_m: float
    role: str


@dataclass
class Target:
    sources: list[Source]
    intervals: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _alarm_device(
    rng: np.random.Generator,
    label: str,
    n: int,
    sr: float,
    mic: Microphone,
    first_group_s: float | None,
    overrides: Mapping[str, Any],
) -> tuple[Rendered, float, dict[str, Any]]:
    dur = n / sr
    sounder = overrides.get("sounder") or (
        "lf520" if rng.random() < (0.2 if label == "smoke_alarm" else 0.15) else "piezo"
    )
    spec = (
        draw_piezo(rng, sr, mic.alias_rejection_db)
        if sounder == "piezo"
        else draw_lf520(rng, sr, mic.alias_rejection_db)
    )
    timing = draw_t3_timing(rng) if label == "smoke_alarm" else draw_t4_timing(rng)
    group_len = timing.pulses * timing.on_s + (timing.pulses - 1) * timing.off_s
    voice = bool(overrides.get("voice", rng.random() < 0.15))
    voice_s = float(rng.uniform(0.8, 1.4)) if voice else 0.0
    extra_gap = voice_s if label == "smoke_alarm" else 0.0
    if first_group_s is None:  # at least one whole group inside the clip, random phase otherwise
        cycle = timing.cycle_s + extra_gap
        first_group_s = float(rng.uniform(0, max(0.0, min(cycle, dur - group_len)))) - cycle
    schedule, groups = pulse_schedule(timing, rng, first_group_s, dur, extra_gap)
    x = render_sounder(spec, schedule, n, sr, rng)
    intervals = [tuple(p) for p in schedule]
    voice_spans = []
    if voice:
        # a recorded announcement through the alarm's small speaker, after each group's beeps
        for g in groups:
            start = g + group_len + 0.3
            if start >= dur or start + voice_s <= 0:
                continue
            m = int(voice_s * sr)
            speech, _, _ = synthesize_speech(rng, m, sr)
            speech = sosfilt(butter_sos(2, (400.0, 4000.0), sr, "bandpass"), speech)
            i0 = int(start * sr)
            lo, hi = max(0, i0), min(n, i0 + m)
            if hi > lo:
                x[lo:hi] += speech[lo - i0 : hi - i0] * db_to_amp(rng.uniform(-6, 0)) * 0.7
                voice_spans.append((lo / sr, hi / sr))
        intervals += voice_spans
    spl = float(rng.uniform(85, 97) if sounder == "piezo" else rng.uniform(82, 95))
    # an alarm in the hallway or next room, heard through a closed door or wall: mass-law transmission
    # loss rises ~6 dB/octave, so the 3 kHz tone loses far more than the 520 Hz one
    wall = bool(overrides.get("through_wall", rng.random() < 0.25))
    wall_meta: dict[str, float] = {}
    if wall:
        corner = float(rng.uniform(200, 600))
        loss_db = float(rng.uniform(8, 20))
        before = float(np.sqrt(np.mean(x**2)))
        x = sosfilt(butter_sos(1, corner, sr, "lowpass"), x)
        filtered_db = 20 * np.log10(before / max(float(np.sqrt(np.mean(x**2))), 1e-12)) if before > 0 else 0.0
        spl -= loss_db + filtered_db  # the source is re-normalised below, so its level carries the whole loss
        wall_meta = {"lowpass_corner_hz": corner, "broadband_loss_db": loss_db, "total_loss_db": loss_db + filtered_db}
    meta = {
        "sounder": spec.describe(),
        "timing": timing.__dict__,
        "first_group_s": first_group_s,
        "pulses": schedule,
        "voice": voice,
        "voice_spans": voice_spans,
        "through_wall": wall,
        "wall": wall_meta,
    }
    return finish(x, intervals, sr, meta), spl, meta


def alarm_target(
    label: str,
    rng: np.random.Generator,
    n: int,
    sr: float,
    mic: Microphone,
    overrides: Mapping[str, Any],
    first_group_s: float | None = None,
) -> Target:
    rendered, spl, meta = _alarm_device(rng, label, n, sr, mic, first_group_s, overrides)
    distance = float(overrides.get("distance_m", log_uniform(rng, 0.5, 10.0)))
    sources = [Source(rendered, float(overrides.get("spl_1m", spl)), distance, "alarm")]
    devices = [meta]
    if bool(overrides.get("interconnected", rng.random() < 0.2)):
        # a second, interconnected alarm elsewhere in the home: its own sounder and clock, started a little later
        lag = float(rng.uniform(0.0, 0.3))
        first = meta["first_group_s"] + lag
        r2, spl2, meta2 = _alarm_device(rng, label, n, sr, mic, first, {**overrides, "voice": meta["voice"]})
        sources.append(Source(r2, spl2, log_uniform(rng, max(distance, 2.0), 10.0), "alarm_interconnected"))
        devices.append(meta2)
    intervals = merge_intervals(np.concatenate([s.rendered.intervals for s in sources]), n / sr)
    return Target(sources, intervals, {"devices": devices})


def simple_target(label: str, rng: np.random.Generator, n: int, sr: float, overrides: Mapping[str, Any]) -> Target:
    if label == "appliance_beep":
        r, spl = appliance_beep(rng, n, sr), rng.uniform(60, 80)
    elif label == "doorbell":
        r = doorbell(rng, n, sr)
        spl = rng.uniform(75, 90) if r.meta["kind"] == "mechanical" else rng.uniform(70, 85)
    elif label == "knock":
        r, spl = knock(rng, n, sr), rng.uniform(65, 85)
    elif label == "water_running":
        r, spl = water_running(rng, n, sr), rng.uniform(55, 72)
    elif label == "speech_tv":
        if rng.random() < 0.6:
            r = tv_speech(rng, n, sr)
        else:
            x, iv, m = synthesize_speech(rng, n, sr, start_s=float(rng.uniform(0, 0.5)))
            r = finish(x, iv, sr, {"kind": "live_speech", "speech": m})
        spl = rng.uniform(55, 72)
    else:
        raise ValueError(f"not an event class: {label}")
    lo, hi = (1.0, 6.0) if label == "speech_tv" else (0.5, 10.0)
    distance = float(overrides.get("distance_m", log_uniform(rng, lo, hi)))
    src = Source(r, float(overrides.get("spl_1m", spl)), distance, label)
    return Target([src], r.intervals, {})


def make_target(
    label: str, rng: np.random.Generator, n: int, sr: float, mic: Microphone, overrides: Mapping[str, Any]
) -> Target:
    if label in ("smoke_alarm", "co_alarm"):
        return alarm_target(label, rng, n, sr, mic, overrides)
    return simple_target(label, rng, n, sr, overrides)
