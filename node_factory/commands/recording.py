"""Reading a vibration recording a user brings (for `orders` and `baseline`): a CWRU-style `.mat` file, a CSV
of samples in g or a WAV file, as int16 samples with their rate, resampled to the rate a node's features
need where asked. Every error names the file."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..corpus.loaders import DataError, cwru_mat, g_to_int16, read_wav_at_its_rate, resampled, vibration_csv


@dataclass(frozen=True)
class Recording:
    path: Path
    rate: int
    samples: NDArray[np.int16]
    stored_rpm: float | None  # a .mat file's *RPM value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command reading recordings shares."""
    parser.add_argument("--rate", type=int, help="sample rate of .mat and .csv files (Hz; a WAV file has its own)")
    parser.add_argument("--full-scale-g", type=float, default=16.0, help=".mat/.csv: g at int16 full scale")


def read(path: Path, rate: int | None, full_scale_g: float, to_rate: int | None = None) -> Recording:
    """The recording at its own rate, or resampled to `to_rate` (g are scaled to int16 after resampling, as
    the training loaders do; clipped samples are reported on stderr, as clipping distorts the spectrum)."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    stored_rpm = None
    if suffix == ".wav":
        rate, samples = read_wav_at_its_rate(path)
        if to_rate is not None and to_rate != rate:
            samples = np.clip(np.round(resampled(samples, rate, to_rate)), -32768, 32767).astype(np.int16)
        return Recording(path, to_rate or rate, samples, None)
    if suffix not in (".mat", ".csv"):
        raise DataError(f"{path}: unknown recording type {suffix!r} (.mat, .csv or .wav)")
    if rate is None:
        raise DataError(f"{path}: a {suffix} file does not say its sample rate: give --rate")
    if rate <= 0:
        raise DataError(f"{path}: --rate {rate}: a sample rate is positive")
    if suffix == ".mat":
        g, stored_rpm = cwru_mat(path)
    else:
        g = vibration_csv(path)
    samples, clipped = g_to_int16(g if to_rate is None else resampled(g, rate, to_rate), full_scale_g)
    if clipped:
        print(f"warning: {path}: {clipped} samples beyond +-{full_scale_g:g} g were clipped", file=sys.stderr)
    return Recording(path, to_rate or rate, samples, stored_rpm)
