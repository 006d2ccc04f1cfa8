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

`--teacher RUN/sound_v1_teacher.pt` (the teacher of the model's training run, what `serve --teacher` loads) adds
two readings of the same windows: the teacher alone (every window its class) and the cascade (a window the node
escalates takes the teacher's class, the others the node's): where a model sits against its teacher on both sides
of the trade (docs/node-model.md, "Where the TV trade sits: the teacher").

Usage: python -m benchmarks.media_dev [--tv-scenes 120] [--teacher TEACHER.pt] [MODEL.bin ...]
       (default model: the shipped sound_v1.bin)
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
from gpu_backend.teacher import TeacherClassifier, load_teacher
from node_factory.corpus import recorded, scenes, synth
from node_factory.corpus.families import cache_dir
from node_factory.evaluation.node_stream import NodeDecisions, decisions, stream_features, window_features
from node_factory.reference import model_format
from node_factory.reference.network import IntegerModel

KINDS = ("speech", "music")
TV_SEED = 777_000
EVENT_AT_S = 10.0
SCENE_S = 20.0


def read(
    model: IntegerModel, audio: NDArray[np.int16], teacher: TeacherClassifier | None = None
) -> tuple[NodeDecisions, dict[str, NDArray[np.int64]]]:
    """The node's decisions on every window at its hop, and with a teacher the class of each window as the teacher
    alone (`teacher`) and the cascade (`cascade`: escalated windows the teacher's, the others the node's) read it."""
    windows = window_features(stream_features(audio, FAMILY.features), FAMILY.features, PROTOCOL.hop_frames)
    run = decisions(model, windows, FAMILY.features, PROTOCOL.hop_frames)
    if teacher is None:
        return run, {}
    said = teacher.classify_windows(windows)[0]
    return run, {"teacher": said, "cascade": np.where(run.escalate, said, run.top)}


def _share_of(counts: Counter[str], *labels: str) -> float:
    return round(sum(counts[label] for label in labels) / (sum(counts.values()) or 1), 3)


def shares(
    model_path: Path, recordings: dict[str, list[NDArray[np.int16]]], teacher: TeacherClassifier | None = None
) -> dict[str, Any]:
    """Per kind and in all: files, windows and the share of windows called each class (the node's top class,
    escalated or not); with a teacher also the teacher's and the cascade's doorbell-or-knock and speech/TV shares,
    and the share of windows the node escalates."""
    model, _ = model_format.load(model_path)
    result: dict[str, Any] = {"model": str(model.meta["model_hash"])[:8]}
    every: Counter[str] = Counter()
    other: dict[str, Counter[str]] = {"teacher": Counter(), "cascade": Counter()}
    escalated = 0
    for kind in KINDS:
        counts: Counter[str] = Counter()
        for audio in recordings.get(kind, []):
            run, readings = read(model, audio, teacher)
            counts.update(FAMILY.classes[int(top)] for top in run.top)
            escalated += int(run.escalate.sum())
            for name, classes in readings.items():
                other[name].update(FAMILY.classes[int(c)] for c in classes)
        every.update(counts)
        total = sum(counts.values()) or 1
        result[kind] = {"files": len(recordings.get(kind, [])), "windows": sum(counts.values()),
                        "shares": {c: round(n / total, 3) for c, n in counts.most_common()}}  # fmt: skip
    result["doorbell_or_knock"] = _share_of(every, "doorbell", "knock")
    result["speech_tv"] = _share_of(every, "speech_tv")
    if teacher is not None:
        result["escalated"] = round(escalated / (sum(every.values()) or 1), 3)
        for name, counts in other.items():
            result[name] = {"doorbell_or_knock": _share_of(counts, "doorbell", "knock"),
                            "speech_tv": _share_of(counts, "speech_tv")}  # fmt: skip
    return result


def tv_scenes(
    model_path: Path,
    recordings: dict[str, list[NDArray[np.int16]]],
    count: int,
    teacher: TeacherClassifier | None = None,
) -> dict[str, Any]:
    """Per class (doorbell, knock): the share of `count` scenes (alternating classes and kinds of media) in which
    the node reports the class of the window added at EVENT_AT_S (module docstring); with a teacher also the share
    in which the teacher alone and the cascade name it in a window of that time."""
    model, _ = model_format.load(model_path)
    src = scenes.sources(cache_dir())
    kinds = [k for k in KINDS if recordings.get(k)]
    if not kinds:
        raise ValueError("no speech or music recordings to play as the TV")
    n, at = int(SCENE_S * synth.SR), int(EVENT_AT_S * synth.SR)
    window_s = FAMILY.features.frames * FAMILY.features.frame / FAMILY.features.sample_rate
    found: dict[str, list[bool]] = {"doorbell": [], "knock": []}
    named: dict[str, dict[str, list[bool]]] = {
        "teacher": {"doorbell": [], "knock": []},
        "cascade": {"doorbell": [], "knock": []},
    }
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
        run, readings = read(model, np.round(x).astype(np.int16), teacher)
        during = (run.end_s > EVENT_AT_S) & (run.end_s <= EVENT_AT_S + 1 + window_s + 0.6)
        heard = during & (run.top == FAMILY.classes.index(label)) & ~run.escalate
        found[label].append(bool(heard.any()))
        for name, classes in readings.items():
            named[name][label].append(bool((during & (classes == FAMILY.classes.index(label))).any()))
    result: dict[str, Any] = {label: round(float(np.mean(v)), 3) for label, v in found.items() if v}
    result["scenes"] = count
    if teacher is not None:
        for name, per_label in named.items():
            result[name] = {label: round(float(np.mean(v)), 3) for label, v in per_label.items() if v}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=[SHIPPED])
    parser.add_argument("--tv-scenes", type=int, default=120, help="doorbell/knock scenes with media (0: none)")
    parser.add_argument("--teacher", type=Path, help="the teacher of the models' run: adds the teacher and the cascade")
    args = parser.parse_args()
    teacher = load_teacher(args.teacher) if args.teacher else None
    recordings = recorded.load("val", recorded.cache_dir(cache_dir()))
    for path in args.models:
        print(shares(path, recordings, teacher))
        if args.tv_scenes:
            scenes_heard = tv_scenes(path, recordings, args.tv_scenes, teacher)
            print("  doorbell / knock reported with the media playing:", scenes_heard)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
