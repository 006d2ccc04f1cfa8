"""Training on data the user brings (`python -m node_factory train --data DIR --layout ...`).

Layouts: `folder` (`<root>/<class>/*.wav`; for vibration also `*.mat` CWRU-style and `*.csv`), `esc50`,
`urbansound8k`. Splits are by source file, never by window, so no part of a test clip is in training:
ESC-50/UrbanSound8K use their folds (the last fold is test, the one before it validation); a plain folder
is split per class by a hash of each file's path (70 / 15 / 15 %, at least one file per split).
Each clip is cut into non-overlapping windows of the family's length (a short clip is zero-padded).
.mat/.csv vibration signals (in g) are resampled from `data_rate` to the family's rate and scaled so
that `full_scale_g` is int16 full scale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..reference.features import FeatureConfig
from . import loaders
from .loaders import Clip, DataError

LAYOUTS = ("folder", "esc50", "urbansound8k")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class UserData:
    root: Path
    layout: str = "folder"
    data_rate: int | None = None  # sample rate of .mat/.csv signals (WAV files carry their own)
    full_scale_g: float = 16.0


def clips(data: UserData, vibration: bool) -> list[Clip]:
    if data.layout == "esc50":
        return loaders.esc50(data.root)
    if data.layout == "urbansound8k":
        return loaders.urbansound8k(data.root)
    if data.layout == "folder":
        return loaders.folder_per_class(data.root, suffixes=(".wav", ".mat", ".csv") if vibration else (".wav",))
    raise DataError(f"{data.root}: unknown layout {data.layout!r} (one of {', '.join(LAYOUTS)})")


def classes(all_clips: list[Clip]) -> tuple[str, ...]:
    return tuple(sorted({c.label for c in all_clips}))


def assign_splits(all_clips: list[Clip], root: Path) -> dict[str, list[Clip]]:
    """Split by source file: folds when the layout has them, else a per-class hash order."""
    out: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    folds = sorted({c.fold for c in all_clips if c.fold is not None})
    if folds:
        if len(folds) < 3:
            raise DataError(f"{root}: needs at least 3 folds for train/val/test, found {folds}")
        for clip in all_clips:
            split = "test" if clip.fold == folds[-1] else "val" if clip.fold == folds[-2] else "train"
            out[split].append(clip)
    else:
        for label in classes(all_clips):
            own = sorted(
                (c for c in all_clips if c.label == label),
                key=lambda c: hashlib.sha256(str(c.path.relative_to(root)).encode()).hexdigest(),
            )
            if len(own) < 3:
                raise DataError(f"{root / label}: class {label!r} needs at least 3 files (train/val/test)")
            n_val = n_test = max(1, round(0.15 * len(own)))
            out["test"] += own[:n_test]
            out["val"] += own[n_test : n_test + n_val]
            out["train"] += own[n_test + n_val :]
    names = classes(all_clips)
    for split, members in out.items():
        missing = sorted(set(names) - {c.label for c in members})
        if missing:
            raise DataError(f"{root}: classes {missing} have no files in the {split} split")
    return out


def read_samples(clip: Clip, data: UserData, config: FeatureConfig) -> NDArray[np.int16]:
    suffix = clip.path.suffix.lower()
    if suffix == ".wav":
        return loaders.read_wav(clip.path, config.sample_rate)
    if data.data_rate is None:
        raise DataError(f"{clip.path}: {suffix} files carry no sample rate; pass --data-rate")
    signal = loaders.cwru_mat(clip.path)[0] if suffix == ".mat" else loaders.vibration_csv(clip.path)
    return loaders.g_to_int16(loaders.resampled(signal, data.data_rate, config.sample_rate), data.full_scale_g)[0]


def build_split(
    data: UserData, split: str, config: FeatureConfig, vibration: bool
) -> tuple[NDArray[np.int16], NDArray[np.int64], tuple[str, ...]]:
    """Windows, labels and class names of one split of the user's data."""
    all_clips = clips(data, vibration)
    names = classes(all_clips)
    windows, labels = [], []
    for clip in assign_splits(all_clips, data.root)[split]:
        cut = loaders.windows(read_samples(clip, data, config), config.window_samples)
        windows.append(cut)
        labels += [names.index(clip.label)] * len(cut)
    return np.concatenate(windows), np.asarray(labels, dtype=np.int64), names


def fingerprint(data: UserData, vibration: bool) -> str:
    """Changes when any file, label or option changes (the feature cache key)."""
    parts = [repr((data.layout, data.data_rate, data.full_scale_g))]
    for clip in clips(data, vibration):
        stat = clip.path.stat()
        parts.append(f"{clip.path}|{clip.label}|{clip.fold}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
