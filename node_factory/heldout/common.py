"""Types and helpers shared by the sound and vibration generators."""

from __future__ import annotations

import json
import wave
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

INT16_MAX = 32767


@dataclass
class Clip:
    """One rendered clip: int16 mono samples plus every parameter that was drawn for it."""

    audio: np.ndarray
    sample_rate: int
    label: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def stable_key(name: str) -> int:
    """A process-independent integer for a string (Python's hash() is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


def rng_for(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent generator per (seed, keys): clip i of a class does not depend on how many clips are drawn."""
    ints = [stable_key(str(k)) if isinstance(k, str) or int(k) < 0 else int(k) for k in keys]
    if int(seed) < 0:
        raise ValueError("seed must be >= 0")
    return np.random.default_rng(np.random.SeedSequence([int(seed), *ints]))


def float_to_int16(x: np.ndarray) -> np.ndarray:
    """Full scale 1.0 -> 32767; values beyond full scale saturate like a real converter."""
    return np.clip(np.round(x * INT16_MAX), -INT16_MAX - 1, INT16_MAX).astype(np.int16)


def to_jsonable(value: Any) -> Any:
    """Numpy scalars/arrays and tuples into plain JSON types (floats rounded to keep meta.jsonl readable)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.integer | bool | np.bool_):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float | np.floating):
        f = float(value)
        return round(f, 6) if np.isfinite(f) else None
    return value


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(np.ascontiguousarray(audio, dtype="<i2").tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono int16")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy(), w.getframerate()


def write_jsonl_line(fh: Any, record: Mapping[str, Any]) -> None:
    fh.write(json.dumps(to_jsonable(record), sort_keys=True) + "\n")
