"""Loaders for the real data layouts users bring, with clear errors that name the offending file.

Audio: ESC-50 (`audio/*.wav` + `meta/esc50.csv`), UrbanSound8K (`audio/fold*/*.wav` +
`metadata/UrbanSound8K.csv`), and a plain folder per class (`<root>/<class>/*.wav`).
Vibration: CWRU-style `.mat` files (drive-end accelerometer `X###_DE_time`, shaft speed `X###RPM`) and
CSV (one value column, or time + value).
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.io import loadmat, wavfile
from scipy.signal import resample_poly


class DataError(ValueError):
    """Bad input data; the message names the file."""


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    fold: int | None = None


def read_wav(path: Path, sample_rate: int) -> NDArray[np.int16]:
    """Mono int16 samples at `sample_rate`; stereo is mixed down, other rates are an error."""
    rate, data = _read_wav_file(path)
    if rate != sample_rate:
        raise DataError(f"{path}: sample rate {rate} Hz, expected {sample_rate} Hz (resample it first)")
    return _mono_int16(path, data)


def read_wav_at_its_rate(path: Path) -> tuple[int, NDArray[np.int16]]:
    """The file's sample rate and its mono int16 samples (stereo mixed down), whatever the rate."""
    rate, data = _read_wav_file(path)
    return rate, _mono_int16(path, data)


def _read_wav_file(path: Path) -> tuple[int, NDArray[Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            rate, data = wavfile.read(path)
    except Exception as err:  # scipy raises many types for broken files (struct.error, UnboundLocalError…)
        raise DataError(f"{path}: not a readable WAV file ({type(err).__name__}: {err})") from err
    return int(rate), data


def _mono_int16(path: Path, data: NDArray[Any]) -> NDArray[np.int16]:
    if data.size == 0:
        raise DataError(f"{path}: no samples")
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.dtype.kind == "f":
        data = np.clip(data, -1, 1) * 32767
    elif data.dtype == np.int32:
        data = data / 65536
    elif data.dtype == np.uint8:
        data = (data.astype(np.int32) - 128) * 256
    return np.asarray(np.round(data), dtype=np.int16)


def g_to_int16(signal: NDArray[np.float64], full_scale_g: float) -> tuple[NDArray[np.int16], int]:
    """Acceleration in g as int16 samples with `full_scale_g` at full scale, and how many were clipped."""
    scaled = np.round(signal / full_scale_g * 32767)
    clipped = int(np.count_nonzero(np.abs(scaled) > 32767))
    return np.clip(scaled, -32768, 32767).astype(np.int16), clipped


def resampled(signal: NDArray[Any], rate: int, to_rate: int) -> NDArray[np.float64]:
    """`signal` (at `rate` Hz) at `to_rate` Hz, polyphase, as float64 (unchanged when the rates agree)."""
    values: NDArray[np.float64] = np.asarray(signal, dtype=np.float64)
    if to_rate == rate:
        return values
    common = gcd(rate, to_rate)
    return np.asarray(resample_poly(values, to_rate // common, rate // common), dtype=np.float64)


def windows(samples: NDArray[np.int16], length: int, hop: int | None = None) -> NDArray[np.int16]:
    """Fixed-length windows of a clip (the last partial one is zero-padded; a short clip gives one)."""
    hop = hop or length
    if len(samples) < length:
        samples = np.concatenate([samples, np.zeros(length - len(samples), dtype=np.int16)])
    starts = range(0, len(samples) - length + 1, hop)
    return np.stack([samples[s : s + length] for s in starts])


def _read_csv(path: Path, required: set[str]) -> list[dict[str, str]]:
    if not path.exists():
        raise DataError(f"{path}: label file not found")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = required - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{path}: missing columns {sorted(missing)}")
        return list(reader)


def _check_files(clips: list[Clip], label_file: Path) -> list[Clip]:
    for clip in clips:
        if not clip.path.exists():
            raise DataError(f"{label_file}: lists {clip.path.name}, which does not exist ({clip.path})")
    if not clips:
        raise DataError(f"{label_file}: no clips")
    return clips


def esc50(root: Path) -> list[Clip]:
    label_file = root / "meta" / "esc50.csv"
    rows = _read_csv(label_file, {"filename", "fold", "category"})
    return _check_files([Clip(root / "audio" / r["filename"], r["category"], int(r["fold"])) for r in rows], label_file)


def urbansound8k(root: Path) -> list[Clip]:
    label_file = root / "metadata" / "UrbanSound8K.csv"
    rows = _read_csv(label_file, {"slice_file_name", "fold", "class"})
    clips = [Clip(root / "audio" / f"fold{r['fold']}" / r["slice_file_name"], r["class"], int(r["fold"])) for r in rows]
    return _check_files(clips, label_file)


def folder_per_class(
    root: Path, classes: tuple[str, ...] | None = None, suffixes: tuple[str, ...] = (".wav",)
) -> list[Clip]:
    """`<root>/<class>/*.wav` (or other `suffixes`); with `classes`, every class must have a clip."""
    if not root.is_dir():
        raise DataError(f"{root}: not a directory")
    clips = [Clip(p, p.parent.name) for p in sorted(root.glob("*/*")) if p.suffix.lower() in suffixes]
    present = {c.label for c in clips}
    for name in classes or sorted(present):
        if name not in present:
            raise DataError(f"{root / name}: class {name!r} has no {'/'.join(suffixes)} files")
    unknown = present - set(classes) if classes else set()
    if unknown:
        raise DataError(f"{root}: folders {sorted(unknown)} are not classes of this model")
    return clips


def cwru_mat(path: Path) -> tuple[NDArray[np.float64], float | None]:
    """Drive-end accelerometer signal (g) and shaft speed (rpm, if stored) of a CWRU-style .mat file."""
    try:
        data = loadmat(path)
    except Exception as err:  # MatReadError, ValueError, TypeError… depending on the damage
        raise DataError(f"{path}: not a readable .mat file ({type(err).__name__}: {err})") from err
    signal_keys = [k for k in data if k.endswith("_DE_time")]
    if not signal_keys:
        raise DataError(
            f"{path}: no drive-end signal (*_DE_time) in {sorted(k for k in data if not k.startswith('__'))}"
        )
    signal = np.asarray(data[signal_keys[0]], dtype=np.float64).ravel()
    if signal.size == 0:
        raise DataError(f"{path}: empty signal")
    rpm_keys = [k for k in data if k.endswith("RPM")]
    rpm = float(np.asarray(data[rpm_keys[0]]).ravel()[0]) if rpm_keys else None
    return signal, rpm


def vibration_csv(path: Path) -> NDArray[np.float64]:
    """One numeric column, or the last column of time,value rows; a header line is allowed."""
    try:
        rows = np.genfromtxt(path, delimiter=",", skip_header=0, invalid_raise=True)
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: not a numeric CSV ({err})") from err
    values = rows if rows.ndim == 1 else rows[:, -1]
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise DataError(f"{path}: no numeric samples")
    return values
