"""Task families (sound, accelerometer vibration, piezo vibration): classes, feature configuration and corpus,
and their feature splits (cached: the corpora are deterministic)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from ..atomic_write import write_atomic
from ..reference.features import FeatureConfig, features
from . import recorded as recorded_audio
from . import synth, synth_vibration, userdata
from .loaders import DataError
from .userdata import UserData


@dataclass(frozen=True)
class Family:
    """A task family: its classes, feature configuration and corpus."""

    name: str
    model_id: str
    classes: tuple[str, ...]
    features: FeatureConfig
    data: UserData | None = None  # the user's data instead of the built-in corpus

    @property
    def stem(self) -> str:
        return self.model_id.replace("-", "_")

    @property
    def vibration(self) -> bool:
        return self.features.envelope_bands > 0

    def build_split(
        self, split: str, per_class: int, real_audio: bool = False
    ) -> tuple[NDArray[np.int16], NDArray[np.int64], list[dict[str, Any]]]:
        """Windows, labels and each window's drawn conditions (empty for corpora that do not record them).
        `real_audio`: mix recorded backgrounds from the Debian training packages into the sound corpus."""
        if self.data is not None:
            windows, labels, names = userdata.build_split(self.data, split, self.features, self.vibration)
            if names != self.classes:
                raise DataError(f"{self.data.root}: classes changed to {list(names)} during the run")
            return windows, labels, []
        if self.name == "sound":
            recorded = (
                recorded_audio.load(split, recorded_audio.cache_dir(cache_dir()), progress=_log) if real_audio else {}
            )
            return synth.build_split(split, per_class, self.features.window_samples, cache_dir(), recorded)
        windows, labels = synth_vibration.build_split(
            split, per_class, self.features.window_samples, self.features.sample_rate
        )
        return windows, labels, []


FAMILIES = {
    "sound": Family("sound", "sound-v1", synth.SOUND_CLASSES, FeatureConfig()),
    # ADXL345-class accelerometer at 3.2 kHz: 32 frames of 256 samples = 2.56 s; 8 spectrum bands up to
    # 1.55 kHz and 8 envelope-spectrum bands 5-500 Hz (where bearing-fault repetition rates are)
    "vibration": Family(
        "vibration",
        "vibration-v1",
        synth_vibration.VIBRATION_CLASSES,
        FeatureConfig(sample_rate=3200, frame=256, frames=32, bands=16, f_min=10.0, f_max=1550.0, envelope_bands=8),
    ),
    # piezo disc on an ADC at 16 kHz: 32 frames of 512 samples = 1.024 s; spectrum up to 7 kHz (resonances)
    "vibration_adc": Family(
        "vibration_adc",
        "vibration-adc-v1",
        synth_vibration.VIBRATION_CLASSES,
        FeatureConfig(sample_rate=16000, frame=512, frames=32, bands=16, f_min=20.0, f_max=7000.0, envelope_bands=8),
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe")) / "corpus"


def _split_path(split: str, per_class: int, family: Family, real_audio: bool) -> Path:
    cfg = family.features
    if family.data is not None:
        corpus = f"user-{userdata.fingerprint(family.data, family.vibration)}-{split}"
    elif family.name == "sound":
        corpus = synth.corpus_key({split: per_class}, cfg.window_samples, "debian-train" if real_audio else "")
    else:
        corpus = f"{family.name}-v1-{split}-{per_class}"
    key = hashlib.sha256(f"{corpus}{cfg.digest()}".encode()).hexdigest()[:16]
    return cache_dir() / f"{family.name}-{split}-{key}.npz"


def dataset(
    split: str, per_class: int, family: Family | None = None, real_audio: bool = False
) -> tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int16]]:
    """Features, labels and raw windows of a split (cached: the corpus is deterministic)."""
    family = family or FAMILIES["sound"]
    path = _split_path(split, per_class, family, real_audio)
    if not path.exists():
        windows, labels, meta = family.build_split(split, per_class, real_audio)
        desc = f"features ({family.name} {split})"
        feats = np.stack([features(w, family.features) for w in tqdm(windows, desc=desc, disable=None)])
        buffer = io.BytesIO()
        np.savez_compressed(buffer, x=feats, y=labels, w=windows, meta=np.array(json.dumps(meta)))
        write_atomic(path, buffer.getvalue())
    with np.load(path) as data:
        return data["x"], data["y"], data["w"]


def dataset_meta(split: str, per_class: int, family: Family, real_audio: bool = False) -> list[dict[str, Any]]:
    """The drawn conditions of each window of a split that `dataset` built (sound corpus only)."""
    path = _split_path(split, per_class, family, real_audio)
    if not path.exists():
        dataset(split, per_class, family, real_audio)
    with np.load(path) as data:
        return list(json.loads(str(data["meta"]))) if "meta" in data else []


def _log(text: str) -> None:
    print(text, file=sys.stderr)


def family_for(family_name: str, data: UserData | None = None) -> Family:
    """A built-in family, or one on the user's data: that family's features, the data's classes."""
    base = FAMILIES[family_name]
    if data is None:
        return base
    names = userdata.classes(userdata.clips(data, base.features.envelope_bands > 0))
    if len(names) < 2:
        raise DataError(f"{data.root}: needs at least 2 classes, found {list(names)}")
    return Family(base.name, f"{base.model_id.rsplit('-', 1)[0]}-custom", names, base.features, data)
