"""Development measure: what a sound model calls recorded speech and music, as a node hears them (issue #14).

TRAINING-SIDE DATA ONLY: the validation-split files (`node_factory.corpus.recorded.split_of`) of the Debian
packages marked `train`, their speech and music, raw (no room, no noise), windows at the node's hop (16 frames,
the evaluation protocol's). No window of these files is trained on; the test-split files are left alone because
the held-out conditions draw from them, and the `eval` packages measure false alarms. Every window of this audio
is speech or music, so every window called doorbell or knock is the false event a user with a TV gets
(`benchmarks.node_traffic` measures those on the `eval` recordings).

The other side of that trade, on the same files: doorbells and knocks in a room where they play. Per scene, 20 s of
one kind (files of it back to back, 0.1-1.5 s apart: `synth.clips_with_pauses`, as in a training programme) with
one doorbell or knock window of the training generator (`synth.render`, training ranges, its own seeds) added at
10 s, 0-20 dB over the media; recall is the share of scenes in which the node reports that class (a window ending
10-12.6 s, not escalated).

Usage: python -m benchmarks.media_dev [--tv-scenes 120] [MODEL.bin ...]   (default: the shipped sound_v1.bin)
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.alarm_code import FAMILY, PROTOCOL
from benchmarks.node_traffic import MODEL as SHIPPED
from node_factory.corpus import recorded, scenes, synth
from node_factory.corpus.families import cache_dir
from node_factory.evaluation.node_stream import run_node
from node_factory.reference import model_format

KINDS = ("speech", "music")
TV_SEED = 777_000
EVENT_AT_S = 10.0
SCENE_S = 20.0


def shares(model_path: Path, recordings: dict[str, list[NDArray[np.int16]]]) -> dict[str, Any]:
    """Per kind and in all: files, windows and the share of windows called each class."""
    model, _ = model_format.load(model_path)
    result: dict[str, Any] = {"model": str(model.meta["model_hash"])[:8]}
    every: Counter[str] = Counter()
    for kind in KINDS:
        counts: Counter[str] = Counter()
        for audio in recordings.get(kind, []):
            tops = run_node(model, FAMILY.features, audio, PROTOCOL.hop_frames).top  # the node's hop
            counts.update(FAMILY.classes[int(top)] for top in tops)
        every.update(counts)
        total = sum(counts.values()) or 1
        result[kind] = {"files": len(recordings.get(kind, [])), "windows": sum(counts.values()),
                        "shares": {c: round(n / total, 3) for c, n in counts.most_common()}}  # fmt: skip
    total = sum(every.values()) or 1
    result["doorbell_or_knock"] = round((every["doorbell"] + every["knock"]) / total, 3)
    result["speech_tv"] = round(every["speech_tv"] / total, 3)
    return result


def tv_scenes(model_path: Path, recordings: dict[str, list[NDArray[np.int16]]], count: int) -> dict[str, Any]:
    """Per class (doorbell, knock): the share of `count` scenes (alternating classes and kinds of media) in which
    the node reports the class of the window added at EVENT_AT_S (module docstring)."""
    model, _ = model_format.load(model_path)
    src = scenes.sources(cache_dir())
    kinds = [k for k in KINDS if recordings.get(k)]
    if not kinds:
        raise ValueError("no speech or music recordings to play as the TV")
    n, at = int(SCENE_S * synth.SR), int(EVENT_AT_S * synth.SR)
    window_s = FAMILY.features.frames * FAMILY.features.frame / FAMILY.features.sample_rate
    found: dict[str, list[bool]] = {"doorbell": [], "knock": []}
    for i in range(count):
        rng = np.random.default_rng(TV_SEED + i)
        label, kind = ("doorbell", "knock")[i % 2], kinds[(i // 2) % len(kinds)]
        media = synth.clips_with_pauses(rng, recordings[kind], n)[:n]
        media /= np.sqrt(np.mean(media**2)) + 1e-9
        event = synth.render(label, rng, synth.SR, synth.TRAIN, src, cut_from_stream=False)[0].astype(np.float64)
        event /= np.sqrt(np.mean(event**2)) + 1e-9
        x = media * 10 ** (-rng.uniform(0, 20) / 20)
        x[at : at + len(event)] += event
        x *= 10 ** (rng.uniform(-30, -6) / 20) * 32767 / (np.max(np.abs(x)) + 1e-9)
        run = run_node(model, FAMILY.features, np.round(x).astype(np.int16), PROTOCOL.hop_frames)
        during = (run.end_s > EVENT_AT_S) & (run.end_s <= EVENT_AT_S + 1 + window_s + 0.6)
        heard = during & (run.top == FAMILY.classes.index(label)) & ~run.escalate
        found[label].append(bool(heard.any()))
    result: dict[str, Any] = {label: round(float(np.mean(v)), 3) for label, v in found.items() if v}
    result["scenes"] = count
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=[SHIPPED])
    parser.add_argument("--tv-scenes", type=int, default=120, help="doorbell/knock scenes with media (0: none)")
    args = parser.parse_args()
    recordings = recorded.load("val", recorded.cache_dir(cache_dir()))
    for path in args.models:
        print(shares(path, recordings))
        if args.tv_scenes:
            print("  doorbell / knock reported with the media playing:", tv_scenes(path, recordings, args.tv_scenes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
