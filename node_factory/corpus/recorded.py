"""Real recorded backgrounds for the training corpus: speech, music and ambience from the Debian packages
marked `train` in `debian_audio.manifest` (never the `eval` packages, which measure false alarms).

Each file goes to one split by a hash of its path (8/10 train, 1/10 val, 1/10 test and held-out conditions),
and at most `max_seconds` of each file are kept, so a split holds a bounded, deterministic sample of hours
of audio as int16 in memory.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.io import wavfile

from .debian_audio import fetch, load_clips
from .loaders import DataError

KINDS = ("speech", "music", "ambience")  # sound effects are left out: some are beeps and bells
SPLIT_OF_BUCKET = {**dict.fromkeys(range(8), "train"), 8: "val", 9: "test"}


def cache_dir(corpus_cache: Path) -> Path:
    return corpus_cache.parent / "real-audio"


def split_of(path: str) -> str:
    split = SPLIT_OF_BUCKET[zlib.crc32(path.encode()) % 10]
    return split


def load(
    split: str,
    cache: Path,
    max_seconds: float = 20.0,
    max_files: int = 400,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[NDArray[np.int16]]]:
    """The split's recordings by kind (fetched first if the cache lacks them; needs Debian's mirror)."""
    if not (cache / "train").exists():
        fetch("train", cache, progress=progress)
    own = "test" if split == "heldout" else split
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for clip in load_clips("train", cache):
        if clip.content in KINDS and split_of(clip.source) == own:
            by_kind[clip.content].append(clip)
    out: dict[str, list[NDArray[np.int16]]] = {}
    for kind, clips in by_kind.items():
        clips.sort(key=lambda c: zlib.crc32(c.source.encode()))  # a deterministic spread over the packages
        arrays = []
        for clip in clips[:max_files]:
            try:
                rate, data = wavfile.read(clip.path)
            except (OSError, ValueError) as err:
                raise DataError(f"{clip.path}: not a readable WAV file ({err}); delete it and fetch again") from err
            if rate != 16000 or data.dtype != np.int16 or data.ndim != 1:
                raise DataError(f"{clip.path}: expected 16 kHz mono int16, got {rate} Hz {data.dtype} {data.shape}")
            arrays.append(np.array(data[: int(max_seconds * rate)]))
        out[kind] = arrays
    return out


def fingerprint(recorded: dict[str, list[NDArray[np.int16]]]) -> str:
    """Identifies the recordings a corpus was built with (the corpus cache key)."""
    digest = zlib.crc32(b"")
    for kind in sorted(recorded):
        for array in recorded[kind]:
            digest = zlib.crc32(array.tobytes()[:4096], zlib.crc32(kind.encode(), digest))
    return f"{sum(len(v) for v in recorded.values())}-{digest:08x}"
