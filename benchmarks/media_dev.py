"""Development measure: what a sound model calls recorded speech and music, as a node hears them (issue #14).

TRAINING-SIDE DATA ONLY: the validation-split files (`node_factory.corpus.recorded.split_of`) of the Debian
packages marked `train`, their speech and music, raw (no room, no noise), windows at the node's hop (16 frames,
the evaluation protocol's). No window of these files is trained on; the test-split files are left alone because
the held-out conditions draw from them, and the `eval` packages measure false alarms. Every window of this audio
is speech or music, so every window called doorbell or knock is the false event a user with a TV gets
(`benchmarks.node_traffic` measures those on the `eval` recordings).

Usage: python -m benchmarks.media_dev [MODEL.bin ...]   (default: the shipped sound_v1.bin)
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
from node_factory.corpus import recorded
from node_factory.corpus.families import cache_dir
from node_factory.evaluation.node_stream import run_node
from node_factory.reference import model_format

KINDS = ("speech", "music")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=[SHIPPED])
    args = parser.parse_args()
    recordings = recorded.load("val", recorded.cache_dir(cache_dir()))
    for path in args.models:
        print(shares(path, recordings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
