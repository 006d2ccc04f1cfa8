"""Development prototype: hearing the CO alarm's temporal-four code by following its tone (issue #14).

TRAINING-SIDE DATA ONLY: the training generator's alarm and alarm-free scenes (`node_factory.corpus.scenes`)
and the Debian recordings marked `train`. Never the held-out conditions, the independent generator or the
`eval` recordings: those measure a method once it is built into the node. A floating-point prototype; the node
runs its causal integer form (`node_factory/reference/alarm_tone.py`, `_track_t4`, since 2026-12-05), which
`--integer` measures instead (its own channels: `--channels` and `--fewest-first` do not apply; "node" is then
the default node, band detector and tone detector with T4).

T4 (UL 2034 / NFPA 720 / EN 50291): four 0.1 s pulses 0.1 s apart, then about 5 s off, each time +-10 %. The
band detector misses CO where a band mixes the alarm with the room (docs/node-model.md, "Where CO alarms are
lost"). This reads the bursts from the tone itself, on the T3 prototype's channels (`benchmarks.alarm_tone_dev`:
32 ms frames, tonal peaks 10 dB over the median of 25 bins, the frequencies tonal in at least 6 frames, the
level of the tone's own +-3 % bins):

1. pulses: local maxima of the channel's level in frames where the tone is tonal;
2. a burst: three or four maxima in a chain, 5-8 frames apart (0.2 s +-10 % and a frame either side), each
   pair with a dip of DIP_DB between them (a room's reverberation fills the 0.1 s off-time: 4 dB, not the
   6-12 dB of a dry room), their peaks within SPREAD_DB of each other, out of a silence (the second-loudest of
   the 8 frames before the first pulse GAP_DB under the peaks) and ending in one (the level END_DB under the
   peaks within END_WITHIN frames of the last pulse): a burst is short, music's wobbling notes are not;
3. the code: two bursts of one channel 5.13-6.27 s apart (5.7 s +-10 %, and two frames), peaks within 9 dB,
   the silence between them (from TAIL frames after the first burst's end) with its second-loudest frame
   GAP_DB under both. The report comes at the second burst's end: an alarm is heard within 10 s of its onset
   when its first two bursts are.

Channels are picked from the whole stream, as in the T3 prototype. The node's channels open as a tone goes
(`reference/alarm_tone.py`: after about six tonal frames) and are released about 2.6 s after it stops, before
T4's 5 s silence ends. `--channels held` sees a channel only from when the node would open it (a burst under way
then needs `--fewest-first` pulses) and keeps it; `--channels node` also releases it as the node does, and a
release between two bursts stands for their silence (no tonal peak near the bin for seconds): what the node's
channels could carry without holding the silence's levels.

The burst rules were set on the training generator's alarm scenes 0-119 and the Debian `train` recordings
(the end-and-silence rule after reading the recordings' false codes, which were long tones wobbling at a
T4-like rate); scenes 120-239 were run with the first rules and again afterwards; nothing was chosen from them.
docs/node-model.md ("Following the tone for CO") has the figures and what building it into the node needs.

Usage: python -m benchmarks.alarm_t4_dev [--block 0] [--scenes 120] [--recordings [train|dev]]
       [--channels whole|held|node] [--fewest-first 3] [--integer]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from benchmarks.alarm_code import add_recordings_argument, debian, node_events
from benchmarks.alarm_tone_dev import (
    CACHE,
    FRAME_S,
    LOW_BIN,
    SR,
    alarm_free_codes,
    distinct,
    frames,
    in_pieces_s,
    integer_code_s,
    tone_channels,
)
from node_factory.corpus import scenes
from node_factory.corpus.families import FAMILIES
from node_factory.reference import alarm_tone

PEAK_DB = 10.0  # the T3 prototype's tonal threshold
SPACING = (5, 8)  # frames between pulses of a burst: 0.2 s +-10 % (5.6-6.9 frames) and a frame either side
DIP_DB = 4.0
SPREAD_DB = 6.0
GAP_DB = 6.0
END_DB, END_WITHIN = 12.0, 10
BEFORE = 8  # frames of silence checked before a burst's first pulse (the two just before excluded)
BURST_PULSES = (3, 4)  # the fewest pulses of a burst heard, and the code's four
PAIR = (frames(0.9 * 5.7) - 2, frames(1.1 * 5.7) + 2)  # burst onset to onset
PAIR_SPREAD_DB = 9.0
TAIL = 3

Burst = tuple[int, int, float]  # first pulse's frame, the frame where the burst has ended, mean peak (dB)


def maxima(level: NDArray[np.float64], near: NDArray[np.bool_]) -> list[int]:
    """Frames that are a local maximum of the level (the first of a plateau's) and tonal near the tone."""
    return [t for t in range(1, len(level) - 1) if near[t] and level[t] >= level[t - 1] and level[t] > level[t + 1]]


def _second_loudest(x: NDArray[np.float64]) -> float:
    """A silence's level: its second-loudest frame (one frame, 32 ms, may be a click)."""
    return float(np.sort(x)[-2]) if len(x) >= 2 else -np.inf


def _chain(level: NDArray[np.float64], m: list[int], i: int) -> list[int]:
    """The pulses of a burst starting at maximum m[i]."""
    chain, j = [m[i]], i + 1
    while j < len(m) and len(chain) < BURST_PULSES[1]:
        d = m[j] - chain[-1]
        if d < SPACING[0]:  # a second maximum of the same pulse: the louder one is the pulse
            louder = level[m[j]] > level[chain[-1]]
            if louder and (len(chain) == 1 or _dip(level, chain[-2], m[j]) >= DIP_DB):
                chain[-1] = m[j]
            j += 1
            continue
        if d > SPACING[1]:
            break
        a, b = chain[-1], m[j]
        if _dip(level, a, b) >= DIP_DB and abs(level[a] - level[b]) <= SPREAD_DB:
            chain.append(b)
        j += 1
    return chain


def _dip(level: NDArray[np.float64], a: int, b: int) -> float:
    """How far the level falls between the pulses at frames a and b, under the quieter of them (dB)."""
    return float(min(level[a], level[b]) - level[a : b + 1].min())


@dataclass(frozen=True)
class Lifetime:
    """When a channel exists: `open[t]` for each frame, and the frames at which it opened."""

    open: NDArray[np.bool_]
    openings: tuple[int, ...] = ()

    @classmethod
    def whole(cls, frames: int) -> Lifetime:
        return cls(np.ones(frames, dtype=np.bool_))

    def opened_at(self, t: int) -> int | None:
        """The frame at which the channel open at frame t opened (None: open from the stream's start)."""
        return max((o for o in self.openings if o <= t), default=None)


def lifetime(tonal: NDArray[np.bool_], f: int, mode: str) -> Lifetime:
    """A channel on bin f as `mode` has it: "whole" (the stream), "held" (from when the node's T3 detector would
    open it on, kept) or "node" (opened and released as the node's channels are: `reference/alarm_tone.py`, the
    bin's score +GAIN when it or a neighbour is tonal, -1 every frame; opens at CREATE, released under RELEASE)."""
    frames = len(tonal)
    if mode == "whole":
        return Lifetime.whole(frames)
    j = f - LOW_BIN
    near: NDArray[np.bool_] = np.any(tonal[:, max(j - 1, 0) : j + 2], axis=1)
    is_open, openings, score, now = np.zeros(frames, dtype=np.bool_), [], 0, False
    for t, heard in enumerate(near):
        score = min(alarm_tone.SCORE_MAX, max(0, score + alarm_tone.GAIN * int(heard) - 1))
        if now and mode == "node" and score < alarm_tone.RELEASE:
            now = False  # the node releases first, then opens (so a score of 40-47 reopens it at once)
        if not now and score >= alarm_tone.CREATE:
            now = True
            openings.append(t)
        is_open[t] = now
    return Lifetime(is_open, tuple(openings))


def bursts(
    level: NDArray[np.float64],
    near: NDArray[np.bool_],
    life: Lifetime | None = None,
    fewest_first: int = BURST_PULSES[0],
) -> list[Burst]:
    """The T4 bursts on one channel (see the module's docstring, step 2), seen while it exists (`life`; the
    whole stream by default). A burst under way when the channel opened needs only `fewest_first` pulses."""
    life = Lifetime.whole(len(level)) if life is None else life
    m, out, i = [t for t in maxima(level, near) if life.open[t]], [], 0
    while i < len(m):
        chain = _chain(level, m, i)
        opened = life.opened_at(chain[0])
        fewest = fewest_first if opened is not None and chain[0] - opened <= SPACING[1] else BURST_PULSES[0]
        if len(chain) < fewest:
            i += 1
            continue
        peaks = level[chain]
        top = float(peaks.mean())
        end = chain[-1]
        while end < len(level) and end - chain[-1] <= END_WITHIN and level[end] > top - END_DB:
            end += 1
        window = np.arange(max(0, chain[0] - BEFORE - 2), max(0, chain[0] - 2))
        before = level[window[life.open[window]]]
        if (
            peaks.max() - peaks.min() <= SPREAD_DB
            and end - chain[-1] <= END_WITHIN
            and (len(before) < 2 or _second_loudest(before) <= top - GAP_DB)
        ):
            out.append((chain[0], end, top))
            while i < len(m) and m[i] <= chain[-1]:
                i += 1
        else:
            i += 1
    return out


def t4_ends(level: NDArray[np.float64], found: list[Burst], life: Lifetime | None = None) -> list[int]:
    """Frames at which a burst completes a T4 code with the burst before it (step 3). A channel released
    between the two (`life`, mode "node") stands for their silence: no tonal peak near its bin for seconds."""
    ends = []
    for a, b in itertools.pairwise(found):
        if not PAIR[0] <= b[0] - a[0] <= PAIR[1] or abs(a[2] - b[2]) > PAIR_SPREAD_DB:
            continue
        span = slice(a[1] + TAIL, b[0] - 2)
        silence = level[span]
        released = life is not None and not life.open[span].all()
        if released or (len(silence) >= 2 and _second_loudest(silence) <= min(a[2], b[2]) - GAP_DB):
            ends.append(b[1])
    return ends


def co_events_s(x: NDArray[np.int16], mode: str = "whole", fewest_first: int = BURST_PULSES[0]) -> list[float]:
    """Times (s) at which the prototype hears a T4 code, each channel living as `mode` says (`lifetime`)."""
    times: list[float] = []
    for ch in tone_channels(x, "median", PEAK_DB):
        life = lifetime(ch.tonal, ch.bin, mode)
        times += [end * FRAME_S for end in t4_ends(ch.level, bursts(ch.level, ch.near, life, fewest_first), life)]
    return sorted(times)


def integer_co_s(x: NDArray[np.int16]) -> list[float]:
    """Times (s) at which the node's integer tone detector hears a T4 code (`reference/alarm_tone.py`, one stream
    as the node hears it; its own channels, so `--channels` does not apply)."""
    return integer_code_s(x, alarm_tone.T4)


def node_co_s(x: NDArray[np.int16]) -> list[float]:
    """Times (s) of the default node's CO events (`benchmarks.alarm_code`)."""
    classes = FAMILIES["sound"].classes
    return [t for c, t in node_events(x) if classes[c] == "co_alarm"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--block", type=int, default=0, help="which block of --scenes training scenes (0, 1, ...)")
    parser.add_argument("--scenes", type=int, default=120, help="alarm scenes per block (half smoke, half CO)")
    add_recordings_argument(parser)
    parser.add_argument(
        "--channels",
        choices=("whole", "held", "node"),
        default="whole",
        help="a channel's life: the whole stream; from when the node would open it on; or opened and released as "
        "the node's are",
    )
    parser.add_argument(
        "--fewest-first", type=int, default=BURST_PULSES[0], help="pulses of the burst under way when a channel opens"
    )
    parser.add_argument("--integer", action="store_true", help="the node's integer detector instead of the prototype")
    args = parser.parse_args()
    prototype = functools.partial(co_events_s, mode=args.channels, fewest_first=args.fewest_first)
    hear = integer_co_s if args.integer else prototype
    started = time.monotonic()
    first, count = args.block * args.scenes, (args.block + 1) * args.scenes
    tone = node = either = co = 0
    missed: list[int] = []
    for i, scene in enumerate(scenes.alarm_scenes(count, CACHE)):
        if i < first or scene.meta["label"] != "co_alarm":
            continue
        onset = float(scene.meta["onset_s"])
        by_tone = any(onset <= t <= onset + 10 for t in hear(scene.audio))
        by_node = any(onset <= t <= onset + 10 for t in node_co_s(scene.audio))
        co, tone, node, either = co + 1, tone + by_tone, node + by_node, either + (by_tone or by_node)
        if not (by_tone or by_node):
            missed.append(i)
    print(f"training alarm scenes {first}-{count - 1}: CO scenes heard within 10 s of the onset: prototype "
          f"{tone}/{co}, node {node}/{co}, either {either}/{co}; both missed {missed}", flush=True)  # fmt: skip
    hours, false_co, false_pair = alarm_free_codes(args.block, args.scenes // 2, hear, node_co_s)
    print(f"training alarm-free scenes: {false_co} CO codes in {hours:.2f} h (prototype); {false_pair} by either")
    if args.recordings:
        hours, false_co, false_pair = 0.0, 0, 0
        for package, audio in debian(args.recordings):
            times = integer_co_s(audio) if args.integer else in_pieces_s(audio, hear)
            found, pair = distinct(times), distinct(sorted(times + node_co_s(audio)))
            hours += len(audio) / SR / 3600
            false_co, false_pair = false_co + found, false_pair + pair
            print(f"  {package}: {len(audio) / SR / 3600:.2f} h, {found} ({pair} by either)", flush=True)
        print(
            f"Debian `{args.recordings}` recordings: {false_co} CO codes in {hours:.2f} h (prototype); "
            f"{false_pair} by either"
        )
    print(f"[{time.monotonic() - started:.0f} s]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
