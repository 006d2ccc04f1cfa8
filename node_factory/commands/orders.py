"""`python -m node_factory orders FILE`: fault identification in shaft orders on a recording of your own.

The analysis the GPU tier runs on a node's capture (`node_factory.reference.orders.identify`,
docs/vibration-baseline.md), on a CWRU-style `.mat` file, a CSV of samples or a WAV file, with the shaft speed
and the bearing given (or the speed stored in the `.mat` file). It names the fault a recording most likely
shows; whether there is one at all is the per-machine baseline's question.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..corpus.loaders import DataError
from ..reference.bearings import bearing
from ..reference.orders import BearingGeometry, OrderReport, identify
from .recording import add_arguments as recording_arguments
from .recording import read

HELP = "name the fault a vibration recording shows, in shaft orders (speed and bearing given)"
MIN_SECONDS = 0.5  # the envelope spectrum's lines need a few dozen shaft turns (the nodes send 1-2.56 s)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", type=Path, help="a CWRU-style .mat file, a CSV of samples or a WAV file")
    parser.add_argument("--rpm", type=float, help="shaft speed (default: the .mat file's *RPM value)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--bearing", help='a designation of the bearing table, e.g. "6205-2RS JEM"')
    which.add_argument(
        "--geometry",
        help="the bearing's rolling elements, ball and pitch diameters (mm) and contact angle (degrees, default 0):"
        " N,BALL_MM,PITCH_MM[,ANGLE]",
    )
    recording_arguments(parser)
    parser.add_argument("--seconds", type=float, help="analyse only this much from the start (default: all of it)")


def run(args: argparse.Namespace) -> int:
    path: Path = args.recording
    recording = read(path, args.rate, args.full_scale_g)
    rate, samples, stored_rpm = recording.rate, recording.samples, recording.stored_rpm
    rpm = args.rpm if args.rpm is not None else stored_rpm
    if rpm is None:
        raise DataError(f"{path}: no shaft speed stored in the file: give --rpm")
    if args.seconds is not None:
        samples = samples[: max(0, round(args.seconds * rate))]
    if len(samples) < MIN_SECONDS * rate:
        raise DataError(
            f"{path}: {len(samples) / rate:.3f} s of samples; fault identification needs at least {MIN_SECONDS:g} s"
        )
    try:
        geometry = bearing(args.bearing) if args.bearing else _geometry(args.geometry)
        report = identify(samples, rate, rpm, geometry)
    except ValueError as err:  # an unknown designation, an impossible geometry, a speed out of range
        raise DataError(f"{path}: {err}") from err
    print(json.dumps(_summary(path, samples, rate, rpm, geometry, report), indent=2))
    return 0


def _geometry(text: str) -> BearingGeometry:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--geometry {text!r}: expected N,BALL_MM,PITCH_MM[,ANGLE]") from None
    if len(values) not in (3, 4) or values[0] != int(values[0]):
        raise ValueError(f"--geometry {text!r}: expected N,BALL_MM,PITCH_MM[,ANGLE] (N whole)")
    return BearingGeometry(int(values[0]), *values[1:])


def _summary(
    path: Path, samples: NDArray[np.int16], rate: int, rpm: float, geometry: BearingGeometry, report: OrderReport
) -> dict[str, Any]:
    return {
        "recording": str(path),
        "sample_rate": rate,
        "seconds": round(len(samples) / rate, 3),
        "rpm": rpm,
        "fault_orders": {k: round(v, 4) for k, v in geometry.orders().items()},
        "fault": report.fault,
        "demodulation_band_hz": [round(f, 1) for f in report.band_hz],
        "envelope_q3": {**report.bearing, "ftf": report.ftf_q3},
        "shaft_q3": report.shaft,
        "velocity_rel_q3": report.velocity_rel_q3,
    }
