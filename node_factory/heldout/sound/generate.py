"""Public sound API: labelled clips, alarm-event scenes and the same scenes without the alarm.

Conditions drawn per clip and recorded in meta: SNR (−5..+30 dB; target power over its active intervals
against the mixed-in noise over the whole clip), 1–2 noise kinds, room (RT60, volume, DRR), source distance
and level, microphone (sensitivity, gain, high-pass, port resonance, self-noise, clipping) and what the
converter did (peak, clipped fraction).  Overrides (for tests and controlled sweeps): clean (no room, no
noise, ideal microphone), snr_db, distance_m, rt60_s, noise_kinds, gain_db, spl_1m, spl_at_mic (background),
sounder ("piezo" or "lf520"), voice, interconnected, through_wall.  Scenes record snr_db = inf (null in JSON)
when the room is silent apart from the alarm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..common import Clip, float_to_int16, rng_for
from ..dsp import db_to_amp
from .acoustics import P_REF, Microphone, Room, draw_microphone, draw_room, drr_db, place, record
from .alarms import low_battery_chirp
from .ambient import BACKGROUND_KINDS, NOISE_KINDS, SpeechPool, render_ambient
from .shared import active_mask
from .targets import EVENT_CLASSES, SOUND_CLASSES, Source, Target, alarm_target, log_uniform, make_target, simple_target

SAMPLE_RATE = 16000
SCENE_INTERFERERS = (
    "appliance_beep",
    "doorbell",
    "knock",
    "water_running",
    "speech_tv",
    "vacuum",
    "music",
    "kitchen_clatter",
)


def _conditions(rng: np.random.Generator, overrides: Mapping[str, Any]) -> tuple[Microphone, Room]:
    mic, room = draw_microphone(rng), draw_room(rng)
    if overrides.get("clean"):
        mic = dataclasses.replace(
            mic,
            gain_db=0.0,
            highpass_hz=20.0,
            highpass_order=1,
            self_noise_dbfs=-200.0,
            clipping="hard",
            alias_rejection_db=80.0,
        )
    if "gain_db" in overrides:
        mic = dataclasses.replace(mic, gain_db=float(overrides["gain_db"]))
    if "rt60_s" in overrides:
        room = dataclasses.replace(room, rt60_s=float(overrides["rt60_s"]))
    return mic, room


def _place_all(
    sources: Sequence[Source], room: Room, sr: float, rng: np.random.Generator, clean: bool, n: int
) -> np.ndarray:
    out = np.zeros(n)
    for s in sources:
        if clean:
            out += s.rendered.signal * (P_REF * 10 ** (s.spl_1m / 20)) / s.distance_m
        else:
            out += place(s.rendered.signal, s.spl_1m, s.distance_m, room, sr, rng)
    return out


def _spl(p: np.ndarray, mask: np.ndarray | None = None) -> float:
    sel = p[mask] if mask is not None and mask.any() else p
    return float(10 * np.log10(max(float(np.mean(sel**2)), 1e-30) / P_REF**2))


def _ambient_mix(
    kinds: Sequence[str], rng: np.random.Generator, n: int, sr: float, pool: SpeechPool, room: Room, spl_at_mic: float
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Sources 2–8 m away (one shared room response: they are mostly diffuse), set to an SPL at the microphone."""
    mix = np.zeros(n)
    metas = []
    d = float(rng.uniform(2.0, 8.0))
    for k in kinds:
        r = render_ambient(k, rng, n, sr, pool)
        rel = float(rng.uniform(-10, 0)) if mix.any() else 0.0
        mix += r.signal * db_to_amp(rel)
        metas.append({**r.meta, "relative_db": rel, "distance_m": d})
    p = place(mix, 60.0, d, room, sr, rng) if mix.any() else mix
    level = float(np.sqrt(np.mean(p**2)))
    if level > 0:
        p *= P_REF * 10 ** (spl_at_mic / 20) / level
    return p, metas


def mix_at_snr(target: np.ndarray, mask: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Noise scaled so that power(target over mask) / power(noise over the whole clip) = snr_db."""
    p_t = float(np.mean(target[mask] ** 2)) if mask.any() else float(np.mean(target**2))
    p_n = float(np.mean(noise**2))
    if p_n <= 0 or p_t <= 0:
        return noise
    return noise * np.sqrt(p_t / (p_n * 10 ** (snr_db / 10)))


def render_clip(
    label: str,
    rng: np.random.Generator,
    seconds: float,
    pool: SpeechPool,
    overrides: Mapping[str, Any] | None = None,
    return_components: bool = False,
) -> Clip | tuple[Clip, dict[str, np.ndarray]]:
    ov = dict(overrides or {})
    sr = SAMPLE_RATE
    n = round(seconds * sr)
    clean = bool(ov.get("clean"))
    mic, room = _conditions(rng, ov)
    meta: dict[str, Any] = {"label": label, "sample_rate": sr, "seconds": seconds, "clean": clean}
    if label == "background":
        kinds = list(rng.choice(BACKGROUND_KINDS, size=int(rng.integers(1, 3)), replace=False))
        spl = float(ov.get("spl_at_mic", rng.uniform(25, 60)))
        target_p, parts = _ambient_mix(kinds, rng, n, sr, pool, room, spl)
        noise_p = np.zeros(n)
        mask = np.ones(n, dtype=bool)
        meta.update(background=parts, spl_at_mic_db=spl, intervals=[[0.0, seconds]])
    else:
        target = make_target(label, rng, n, sr, mic, ov)
        target_p = _place_all(target.sources, room, sr, rng, clean, n)
        mask = active_mask(target.intervals, n, sr)
        noise_kinds = list(
            ov.get("noise_kinds") or rng.choice(NOISE_KINDS, size=int(rng.integers(1, 3)), replace=False)
        )
        snr = float(ov.get("snr_db", rng.uniform(-5, 30)))
        if clean:
            noise_p = np.zeros(n)
        else:
            raw, parts = _ambient_mix(noise_kinds, rng, n, sr, pool, room, 50.0)
            noise_p = mix_at_snr(target_p, mask, raw, snr)
            meta.update(noise=parts, snr_db=snr, noise_spl_at_mic_db=_spl(noise_p))
        meta.update(
            intervals=target.intervals,
            target=target.meta,
            sources=[
                {
                    "role": s.role,
                    "spl_1m_db": s.spl_1m,
                    "distance_m": s.distance_m,
                    "drr_db": drr_db(room, s.distance_m),
                    **s.rendered.meta,
                }
                for s in target.sources
            ],
            target_spl_at_mic_db=_spl(target_p, mask),
        )
    x, rec = record(target_p + noise_p, mic, sr, rng)
    meta.update(
        room={**room.__dict__, "critical_distance_m": room.critical_distance_m},
        microphone=mic.describe(),
        recording=rec,
    )
    clip = Clip(float_to_int16(x), sr, label, meta)
    if return_components:
        return clip, {"target": target_p, "noise": noise_p, "mask": mask.astype(float)}
    return clip


def generate_sound_clips(
    seed: int,
    per_class: int,
    seconds: float = 4.0,
    *,
    classes: Sequence[str] = SOUND_CLASSES,
    overrides: Mapping[str, Any] | None = None,
) -> list[Clip]:
    """per_class clips of every class; clip i of a class depends only on (seed, class, i)."""
    unknown = set(classes) - set(SOUND_CLASSES)
    if unknown:
        raise ValueError(f"unknown classes: {sorted(unknown)}")
    pool = SpeechPool(rng_for(seed, "speech_pool"), SAMPLE_RATE, voices=8, seconds=5.0)
    clips = []
    for label in classes:
        for i in range(per_class):
            clip = render_clip(label, rng_for(seed, "sound", label, i), seconds, pool, overrides)
            assert isinstance(clip, Clip)
            clip.meta["id"] = f"{label}-{seed}-{i:05d}"
            clips.append(clip)
    return clips


def _scene(
    seed: int,
    index: int,
    with_alarm: bool,
    pool: SpeechPool,
    seconds_range: tuple[float, float],
    alarm_seconds: float,
    overrides: Mapping[str, Any],
) -> Clip:
    """Scene i: bed + interferers from rng (seed, 'scene', i); the alarm only from its own stream."""
    sr = SAMPLE_RATE
    rng = rng_for(seed, "scene", index)
    dur = float(rng.uniform(*seconds_range))
    n = int(dur * sr)
    mic, room = _conditions(rng, overrides)
    bed_kinds = list(rng.choice(BACKGROUND_KINDS, size=int(rng.integers(1, 3)), replace=False))
    scene_p, bed_meta = _ambient_mix(bed_kinds, rng, n, sr, pool, room, float(rng.uniform(35, 65)))
    interferers = []
    for _ in range(min(5, int(rng.poisson(2.0)))):
        kind = str(rng.choice(SCENE_INTERFERERS))
        d_s = float(rng.uniform(3.0, min(15.0, dur)))
        start = float(rng.uniform(0, dur - d_s))
        m = int(d_s * sr)
        if kind in EVENT_CLASSES:
            t = simple_target(kind, rng, m, sr, {})
            src = t.sources[0]
        elif kind == "low_battery_chirp":
            src = Source(low_battery_chirp(rng, m, sr), float(rng.uniform(80, 95)), log_uniform(rng, 0.5, 10.0), kind)
        else:
            src = Source(
                render_ambient(kind, rng, m, sr, pool), float(rng.uniform(60, 80)), log_uniform(rng, 1.0, 8.0), kind
            )
        i0 = int(start * sr)
        scene_p[i0 : i0 + m] += place(src.rendered.signal, src.spl_1m, src.distance_m, room, sr, rng)[: n - i0]
        interferers.append(
            {"kind": kind, "start_s": start, "duration_s": d_s, "spl_1m_db": src.spl_1m, "distance_m": src.distance_m}
        )
    meta: dict[str, Any] = {
        "scene_index": index,
        "seconds": dur,
        "bed": bed_meta,
        "interferers": interferers,
        "room": {**room.__dict__, "critical_distance_m": room.critical_distance_m},
        "microphone": mic.describe(),
    }
    label = "none"
    total = scene_p
    if with_alarm:
        arng = rng_for(seed, "scene_alarm", index)
        label = "smoke_alarm" if index % 2 == 0 else "co_alarm"
        onset = float(arng.uniform(3.0, dur - alarm_seconds - 1.0))
        m = int(alarm_seconds * sr)
        target: Target = alarm_target(label, arng, m, sr, mic, overrides, first_group_s=0.0)
        alarm_p = np.zeros(n)
        i0 = round(onset * sr)
        alarm_p[i0 : i0 + m] = _place_all(target.sources, room, sr, arng, False, m)[: n - i0]
        mask = active_mask(target.intervals + onset, n, sr)
        snr = float(overrides.get("snr_db", arng.uniform(-5, 30)))
        p_scene = float(np.mean(scene_p[mask] ** 2))
        p_alarm = float(np.mean(alarm_p[mask] ** 2))
        if p_scene > 0 and p_alarm > 0:
            alarm_p *= np.sqrt(p_scene * 10 ** (snr / 10) / p_alarm)
        else:  # a silent room: nothing to set an SNR against, the alarm keeps its own level
            snr = float("inf")
        total = scene_p + alarm_p
        meta.update(
            onset_s=onset,
            duration_s=alarm_seconds,
            snr_db=snr,
            alarm_spl_at_mic_db=_spl(alarm_p, mask),
            pulses=[[a + onset, b + onset] for a, b in target.meta["devices"][0]["pulses"]],
            alarm=target.meta,
            alarm_sources=[
                {"role": s.role, "distance_m": s.distance_m, "drr_db": drr_db(room, s.distance_m)}
                for s in target.sources
            ],
        )
    x, rec = record(total, mic, sr, rng)
    meta.update(label=label, recording=rec, id=f"scene-{'alarm' if with_alarm else 'negative'}-{seed}-{index:05d}")
    return Clip(float_to_int16(x), sr, label, meta)


def generate_alarm_events(
    seed: int,
    n: int,
    *,
    seconds_range: tuple[float, float] = (30.0, 40.0),
    alarm_seconds: float = 10.0,
    overrides: Mapping[str, Any] | None = None,
) -> list[Clip]:
    """Scenes of 30–40 s in which a smoke (even index) or CO (odd) alarm sounds from onset_s for duration_s."""
    pool = SpeechPool(rng_for(seed, "speech_pool"), SAMPLE_RATE, voices=8, seconds=5.0)
    return [_scene(seed, i, True, pool, seconds_range, alarm_seconds, overrides or {}) for i in range(n)]


def generate_negative_scenes(
    seed: int,
    n: int,
    *,
    seconds_range: tuple[float, float] = (30.0, 40.0),
    overrides: Mapping[str, Any] | None = None,
) -> list[Clip]:
    """The same scenes as generate_alarm_events(seed, n) with the alarm left out (label "none")."""
    pool = SpeechPool(rng_for(seed, "speech_pool"), SAMPLE_RATE, voices=8, seconds=5.0)
    return [_scene(seed, i, False, pool, seconds_range, 10.0, overrides or {}) for i in range(n)]
