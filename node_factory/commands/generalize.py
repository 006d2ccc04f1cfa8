"""`python -m node_factory generalize`: the generalisation protocol on a finished run (held-out conditions,
the independent generator and its alarm scenes, real recordings without alarms)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import options

HELP = "measure a trained model on data it was not made from (never used for training or selection)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)
    parser.set_defaults(family="sound")
    parser.add_argument(
        "--real-audio",
        type=Path,
        default=Path.home() / ".cache" / "binmoe" / "real-audio",
        help="cache of the Debian recordings (fetched there if missing; needs Debian's mirror)",
    )
    parser.add_argument("--no-real-audio", action="store_true", help="skip the real recordings (say so in reports)")
    parser.add_argument("--clips-per-class", type=int, default=60)
    parser.add_argument("--scenes", type=int, default=100)
    parser.add_argument(
        "--no-alarm-tone",
        "--no-smoke-tone",  # its name until 2026-12-05
        action="store_true",
        dest="no_alarm_tone",
        help="measure a node with `alarm_tone: false` (the band-level code detector alone; default: on, as on nodes)",
    )


def run(args: argparse.Namespace) -> int:
    from ..corpus.families import FAMILIES
    from ..evaluation.generalization import Protocol, evaluate

    if args.family != "sound":
        print(
            "error: this protocol covers the sound family; for vibration run"
            " `python -m benchmarks.vibration_baseline` (docs/vibration-baseline.md)",
            file=sys.stderr,
        )
        return 2
    stems = options.trained_stems(args)
    if stems is None:
        return 2
    protocol = Protocol(clips_per_class=args.clips_per_class, scenes=args.scenes, alarm_tone=not args.no_alarm_tone)
    cache = None if args.no_real_audio else args.real_audio
    if cache is None:
        print("note: real recordings skipped (--no-real-audio): no false-alarm rate is measured", file=sys.stderr)
    report = evaluate(args.out, FAMILIES["sound"], protocol, cache, progress=lambda t: print(t, file=sys.stderr))
    print(json.dumps(report["summary"], indent=2))
    return 0
