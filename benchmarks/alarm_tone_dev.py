"""Development prototype: hearing the smoke alarm's temporal-three code by following its tone (issue #14).

TRAINING-SIDE DATA ONLY: the training generator's alarm and alarm-free scenes (`node_factory.corpus.scenes`)
and the Debian recordings marked `train`. Never the held-out conditions, the independent generator or the
`eval` recordings: those measure a method once it is built into the node. This is a floating-point
prototype, not what the node runs (`node_factory/reference/alarm_code.py` is).

The node's detector reads the code from 16 band levels. A band mixes the alarm with everything else in it,
so a room's response, a notch or a drift of the tone changes the pulses' levels and noise fills the
silences. This prototype reads the code from the tone itself:

1. tonal peaks: per 32 ms frame (the node's frame, 512-point FFT, Hann), the bins from 406 Hz to 7 kHz
   that are local maxima and stand `--peak-db` over the spectrum's local floor (the median, or the mean,
   of the 25 bins around them, in dB);
2. channels: the frequencies that are tonal in at least 6 frames of the stream (a bin with its
   neighbours), up to 8, 5 % apart;
3. per channel, the level of the tone's own bins (± 3 %), and pulses on it: an onset is a rise of 6 dB
   over the lowest of the 3 frames before, in a tonal frame; a louder onset inside a pulse restarts it; the
   pulse ends after 2 frames 12 dB under its peak; 0.25-1 s long (a T3 pulse with a room's tail);
4. the code: five pulses at T3's onset intervals (1.0, 1.0, 2.0 s, each +-10 % and 2 frames), peaks within
   9 dB, the whole silence between two pulses (after a 4-frame tail) 6 dB under both, one or two long
   intervals and never two in a row.

`--integer` runs the node's integer detector instead (`node_factory/reference/alarm_tone.py`, causal, on the
node's own FFT; the C++ matches it bit for bit), to check it against this prototype on the same data.

Usage: python -m benchmarks.alarm_tone_dev [--block 0] [--scenes 120] [--floor median|mean] [--recordings [train|dev]]
       [--integer]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter, uniform_filter1d

from benchmarks.alarm_code import add_recordings_argument, debian, node_events
from node_factory.corpus import scenes
from node_factory.corpus.families import FAMILIES
from node_factory.reference import alarm_tone

SR, FRAME = 16_000, 512
FRAME_S = FRAME / SR
LOW_BIN, HIGH_BIN = 13, 224  # 406 Hz .. 7 kHz, the node detector's range
FLOOR_BINS = 25
MIN_TONAL_FRAMES = 6
MAX_CHANNELS = 8
RISE_DB, END_DB, END_FRAMES = 6.0, 12.0, 2
GAP_DB, SPREAD_DB, TAIL_FRAMES = 6.0, 9.0, 4
CACHE = Path.home() / ".cache" / "binmoe" / "corpus"


def frames(seconds: float) -> float:
    return seconds / FRAME_S


SHORT = (frames(0.9) - 2, frames(1.1) + 2)  # T3 onset to onset: 0.5 s on + 0.5 s off
LONG = (frames(1.8) - 2, frames(2.2) + 2)  # 0.5 s on + 1.5 s off
PULSE = (frames(0.25), frames(1.0))


@dataclass(frozen=True)
class Pulse:
    onset: int
    end: int
    peak_db: float


def spectra(x: NDArray[np.int16], floor: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Power per frame and bin, and each bin's prominence over the local floor in dB."""
    n = len(x) // FRAME
    windowed = x[: n * FRAME].reshape(n, FRAME).astype(np.float64) * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(windowed, axis=1)) ** 2 + 1.0
    db = 10 * np.log10(power)
    if floor == "median":
        local = median_filter(db, size=(1, FLOOR_BINS), mode="nearest")
    else:
        local = uniform_filter1d(db, FLOOR_BINS, axis=1, mode="nearest")
    return power, db - local


def tonal_peaks(prominence: NDArray[np.float64], peak_db: float) -> NDArray[np.bool_]:
    """frames x bins (LOW_BIN..HIGH_BIN): local maxima standing `peak_db` over the floor."""
    p = prominence[:, LOW_BIN - 1 : HIGH_BIN + 1]
    mid = p[:, 1:-1]
    return (mid >= p[:, :-2]) & (mid >= p[:, 2:]) & (mid >= peak_db)


def channels(tonal: NDArray[np.bool_]) -> list[int]:
    counts = uniform_filter1d(tonal.sum(axis=0).astype(np.float64), 3, mode="constant") * 3
    chosen: list[int] = []
    for b in np.argsort(-counts):
        if counts[b] < MIN_TONAL_FRAMES or len(chosen) == MAX_CHANNELS:
            break
        f = int(b) + LOW_BIN
        if all(abs(f - c) > max(3, 0.05 * c) for c in chosen):
            chosen.append(f)
    return chosen


def half_width(f: int) -> int:
    return max(2, round(0.03 * f))


def pulses(level: NDArray[np.float64], tonal: NDArray[np.bool_]) -> list[Pulse]:
    out, t, n = [], 3, len(level)
    while t < n:
        if not (tonal[t] and level[t] - level[t - 3 : t].min() >= RISE_DB):
            t += 1
            continue
        peak, u, below = level[t], t + 1, 0
        while u < n:
            if level[u] >= peak + RISE_DB and tonal[u]:
                t = u  # a louder sound starts inside the pulse: the pulse starts there
            peak = max(peak, level[u])
            below = below + 1 if level[u] <= peak - END_DB else 0
            u += 1
            if below >= END_FRAMES:
                u -= END_FRAMES - 1
                break
        if PULSE[0] <= u - t <= PULSE[1]:
            out.append(Pulse(t, u, float(peak)))
        t = max(u, t + 1)
    return out


def _quiet_between(level: NDArray[np.float64], a: Pulse, b: Pulse) -> bool:
    gap = level[a.end + TAIL_FRAMES : b.onset - 1]
    return len(gap) > 0 and gap.max() <= min(a.peak_db, b.peak_db) - GAP_DB


def t3_matches(level: NDArray[np.float64], found: list[Pulse]) -> list[int]:
    """End frames of the pulses that complete a T3 code (counting back from each pulse)."""
    ends = []
    for i, newest in enumerate(found):
        chain = [newest]
        for earlier in reversed(found[:i]):
            d = chain[-1].onset - earlier.onset
            if d > LONG[1]:
                break
            fits = SHORT[0] <= d <= SHORT[1] or LONG[0] <= d <= LONG[1]
            if (
                fits
                and abs(earlier.peak_db - newest.peak_db) <= SPREAD_DB
                and _quiet_between(level, earlier, chain[-1])
            ):
                chain.append(earlier)
            if len(chain) == 5:
                break
        if len(chain) < 5:
            continue
        longs = [chain[k].onset - chain[k + 1].onset > frames(1.5) for k in range(4)]
        if 1 <= sum(longs) <= 2 and not any(longs[k] and longs[k + 1] for k in range(3)):
            ends.append(newest.end)
    return ends


class ToneChannel(NamedTuple):
    """One followed tone of a stream: its bin, the level of its own bins per frame (dB), whether it is tonal near
    the tone per frame, and the stream's tonal peaks (frames x bins LOW_BIN..HIGH_BIN)."""

    bin: int
    level: NDArray[np.float64]
    near: NDArray[np.bool_]
    tonal: NDArray[np.bool_]


def tone_channels(x: NDArray[np.int16], floor: str, peak_db: float) -> Iterator[ToneChannel]:
    """The channels of a stream (steps 1-3 of the module's docstring)."""
    power, prominence = spectra(x, floor)
    tonal = tonal_peaks(prominence, peak_db)
    for f in channels(tonal):
        w = half_width(f)
        level = 10 * np.log10(power[:, f - w : f + w + 1].sum(axis=1))
        near: NDArray[np.bool_] = np.any(tonal[:, max(f - w - LOW_BIN, 0) : f + w + 1 - LOW_BIN], axis=1)
        yield ToneChannel(f, level, near, tonal)


def smoke_events_s(x: NDArray[np.int16], floor: str, peak_db: float) -> list[float]:
    """Times (s) at which the prototype hears a T3 code."""
    times: list[float] = []
    for ch in tone_channels(x, floor, peak_db):
        times += [end * FRAME_S for end in t3_matches(ch.level, pulses(ch.level, ch.near))]
    return sorted(times)


def integer_code_s(x: NDArray[np.int16], code: int) -> list[float]:
    """Times (s) at which the node's integer tone detector (reference/alarm_tone.py, one stream as the node hears
    it) completes `code` (alarm_tone.T3 or T4): the end of the frame that completed it."""
    return [float(t + 1) * FRAME_S for t in np.nonzero(alarm_tone.detect_audio(x) == code)[0]]


def integer_events_s(x: NDArray[np.int16], floor: str, peak_db: float) -> list[float]:
    """Times (s) at which the node's integer detector hears a T3 code (its own fixed settings: `floor` and
    `peak_db` are the prototype's and do not apply)."""
    del floor, peak_db
    return integer_code_s(x, alarm_tone.T3)


def code_smoke_s(x: NDArray[np.int16]) -> list[float]:
    """Times (s) of the node's smoke events from its band-level code detector (`benchmarks.alarm_code`)."""
    classes = FAMILIES["sound"].classes
    return [t for c, t in node_events(x, tone_detector=False) if classes[c] == "smoke_alarm"]


def distinct(times: list[float], apart_s: float = 10.0) -> int:
    count, last = 0, -np.inf
    for t in times:
        if t - last > apart_s:
            count, last = count + 1, t
    return count


def in_pieces_s(audio: NDArray[np.int16], hear: Callable[[NDArray[np.int16]], list[float]]) -> list[float]:
    """The codes `hear` finds in a long recording, heard in 5-minute pieces (bounded memory); times in s."""
    times: list[float] = []
    for start in range(0, len(audio), SR * 300):
        times += [start / SR + t for t in hear(audio[start : start + SR * 300])]
    return times


def alarm_free_codes(
    block: int, per_block: int, hear: Callable[[NDArray[np.int16]], list[float]], node: Callable[..., list[float]]
) -> tuple[float, int, int]:
    """Hours of the block's alarm-free training scenes, the codes `hear` finds in them, and those found by it or
    the node's detector (`node`), events within 10 s of each other counted once."""
    hours, found, pair = 0.0, 0, 0
    for i, scene in enumerate(scenes.negative_scenes(per_block * (block + 1), CACHE)):
        if i < per_block * block:
            continue
        hours += len(scene.audio) / SR / 3600
        times = hear(scene.audio)
        found += distinct(times)
        pair += distinct(sorted(times + node(scene.audio)))
    return hours, found, pair


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--block", type=int, default=0, help="which block of --scenes training scenes (0, 1, ...)")
    parser.add_argument("--scenes", type=int, default=120, help="alarm scenes per block (half smoke, half CO)")
    parser.add_argument("--floor", choices=("median", "mean"), default="median")
    parser.add_argument("--peak-db", type=float, default=10.0)
    add_recordings_argument(parser)
    parser.add_argument("--integer", action="store_true", help="the node's integer detector instead of the prototype")
    args = parser.parse_args()
    smoke_events = integer_events_s if args.integer else smoke_events_s
    name = "integer detector" if args.integer else "prototype"
    started = time.monotonic()
    first, count = args.block * args.scenes, (args.block + 1) * args.scenes
    tone, code, either, smoke = 0, 0, 0, 0
    missed: list[int] = []
    for i, scene in enumerate(scenes.alarm_scenes(count, CACHE)):
        if i < first or scene.meta["label"] != "smoke_alarm":
            continue
        onset = float(scene.meta["onset_s"])
        by_tone = any(onset <= t <= onset + 10 for t in smoke_events(scene.audio, args.floor, args.peak_db))
        by_code = any(onset <= t <= onset + 10 for t in code_smoke_s(scene.audio))
        smoke += 1
        tone, code, either = tone + by_tone, code + by_code, either + (by_tone or by_code)
        if not (by_tone or by_code):
            missed.append(i)
    print(f"training alarm scenes {first}-{count - 1}: smoke scenes heard within 10 s of the onset: {name} "
          f"{tone}/{smoke}, node detector {code}/{smoke}, either {either}/{smoke}; both missed {missed}")  # fmt: skip
    hours, false_smoke, false_pair = alarm_free_codes(
        args.block, args.scenes // 2, lambda x: smoke_events(x, args.floor, args.peak_db), code_smoke_s
    )
    print(f"training alarm-free scenes: {false_smoke} smoke codes heard in {hours:.2f} h ({name}); "
          f"{false_pair} by either")  # fmt: skip
    if args.recordings:
        hours, false_smoke, false_pair = 0.0, 0, 0
        for package, audio in debian(args.recordings):
            if args.integer:  # one stream, as the node hears it (the reference bounds its own memory)
                times = integer_events_s(audio, args.floor, args.peak_db)
            else:
                times = in_pieces_s(audio, lambda x: smoke_events_s(x, args.floor, args.peak_db))
            found, pair = distinct(times), distinct(sorted(times + code_smoke_s(audio)))
            hours += len(audio) / SR / 3600
            false_smoke, false_pair = false_smoke + found, false_pair + pair
            print(f"  {package}: {len(audio) / SR / 3600:.2f} h, {found} ({pair} by either)", flush=True)
        print(f"Debian `{args.recordings}` recordings: {false_smoke} smoke codes heard in {hours:.2f} h ({name}); "
              f"{false_pair} by either")  # fmt: skip
    print(f"[{time.monotonic() - started:.0f} s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
