"""Long scenes from the training generator: what the alarm-code detector is developed and checked on.

The corpus proper is one-second windows, too short for a code that repeats every 4-6 s. These scenes use
the training generator's own parts (`synth`: sounders, T3/T4 gates, noise, rooms, microphone) with the
training ranges only: an alarm sounding several cycles inside a longer noisy scene, and alarm-free scenes
made of the other classes' windows played back to back. They are training-side data: the held-out
conditions, the independent generator and the real evaluation recordings stay untouched for evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.signal import fftconvolve

from . import synth

SCENE_SEED = 41_000_000  # disjoint from the corpus splits' seeds (synth.SPLIT_SEEDS)
NEGATIVE_CLASSES = ("background", "appliance_beep", "doorbell", "knock", "water_running", "speech_tv")


@dataclass(frozen=True)
class Scene:
    audio: NDArray[np.int16]
    meta: dict[str, Any]


ROOMS = (SCENE_SEED + 2, 16)  # (seed, count) of the rooms the scenes are made in


def sources(cache: Path, ranges: synth.Ranges = synth.TRAIN, rooms: tuple[int, int] = ROOMS) -> synth.Sources:
    """The scenes' espeak lines and rooms (the training ranges', or the held-out conditions'); `rooms`: the seed
    and number of the rooms (benchmarks.alarm_blocks draws others)."""
    rng = np.random.default_rng(SCENE_SEED + 1)
    split = "heldout" if ranges is synth.HELD_OUT else "train"
    return synth.Sources(
        speech=synth.speech_for(split, ranges, cache / "speech", rng, 16),
        irs=synth.room_impulse_responses(*rooms, ranges.rt60_s),
    )


def alarm_scenes(
    count: int, cache: Path, seconds: float = 20.0, ranges: synth.Ranges = synth.TRAIN, rooms: tuple[int, int] = ROOMS
) -> Iterator[Scene]:
    """Scenes with a T3 or T4 alarm starting at 1-6 s and sounding to the end, in a room, noise and SNR
    drawn from `ranges` (the training ranges, or `synth.HELD_OUT` for the held-out conditions); `rooms` as for
    `sources` (one draw picks the room whatever their number: the scene's other draws stay the same)."""
    src = sources(cache, ranges, rooms)
    seed = SCENE_SEED + (100 if ranges is synth.TRAIN else 200_000)
    n = int(seconds * synth.SR)
    for i in range(count):
        rng = np.random.default_rng(seed + i)
        label = "smoke_alarm" if i % 2 == 0 else "co_alarm"
        onset = float(rng.uniform(1.0, 6.0))
        start = int(onset * synth.SR)
        pattern = synth.T3 if label == "smoke_alarm" else synth.T4
        gate = synth.pattern_gate(rng, pattern, cycles=6)[: n - start]
        tone, meta = synth.sounder(rng, len(gate), ranges, low_frequency=bool(rng.random() < 0.3))
        raw = np.zeros(n)
        raw[start : start + len(gate)] = tone * gate
        ir, rt60 = src.irs[int(rng.integers(len(src.irs)))]
        wet = fftconvolve(raw, ir)[:n]
        background, kinds = synth.noise_mix(rng, n, ranges, src)
        active = np.abs(raw) > 0.05 * np.max(np.abs(raw))
        snr = float(rng.uniform(*ranges.snr_db))
        x = wet + background * np.sqrt(np.mean(wet[active] ** 2) + 1e-12) / 10 ** (snr / 20)
        x, _mic = synth.microphone(rng, x)
        peak = float(rng.uniform(-50, -1))
        meta.update({"label": label, "onset_s": round(onset, 3), "snr_db": round(snr, 1), "rt60_s": round(rt60, 2),
                     "noise": kinds, "peak_dbfs": round(peak, 1)})  # fmt: skip
        yield Scene(synth.to_int16(rng, x, peak, None), meta)


def negative_scenes(count: int, cache: Path, seconds: float = 40.0, rooms: tuple[int, int] = ROOMS) -> Iterator[Scene]:
    """Alarm-free scenes: pieces of 0.5-3 s of the other classes (training ranges) back to back, at one
    scene level ±6 dB (random lengths: pieces of one length would beat like a code); `rooms` as for `sources`."""
    src = sources(cache, rooms=rooms)
    for i in range(count):
        rng = np.random.default_rng(SCENE_SEED + 500_000 + i)
        level, parts, total, labels = float(rng.uniform(-45, -6)), [], 0, []
        while total < seconds * synth.SR:
            label, n = str(rng.choice(NEGATIVE_CLASSES)), int(rng.uniform(0.5, 3.0) * synth.SR)
            # each piece holds its event from its start (corpus v3's windows): back to back, stream-cut pieces
            # would start and stop sounds mid-event at every joint
            x = synth.render(label, rng, n, synth.TRAIN, src, cut_from_stream=False)[0].astype(np.float64)
            x *= 10 ** ((level + rng.uniform(-6, 6)) / 20) * 32767 / (np.max(np.abs(x)) + 1)
            parts.append(x)
            total += n
            labels.append(label)
        audio = np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16)
        yield Scene(audio, {"labels": labels})
