"""`python -m node_factory train`: corpus -> teacher -> BNN student -> calibration -> export -> metrics."""

from __future__ import annotations

import argparse
import json

from . import options

HELP = "build the corpus, train teacher + BNN student, calibrate, export, evaluate"


def _channels(value: str) -> int:
    """--channels: the student is pruned from 32 channels, and the kernel packs a time step into 32 bits."""
    channels = int(value)
    if not 2 <= channels <= 32:
        raise argparse.ArgumentTypeError(f"channels must be 2..32, not {channels}")
    return channels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)
    options.add_data_options(parser)
    parser.add_argument(
        "--channels",
        type=_channels,
        help="student channels after pruning (default: the family's: 28 for sound, 16 for vibration and vibration_adc;"
        " fewer: less flash)",
    )
    parser.add_argument(
        "--w1-bits", type=int, choices=[8, 4, 2],
        help="first-layer weights: 8 = int8 per tensor, 4 = int4 and 2 = ternary per output channel"
        " (default: the family's: 4 for vibration, 8 for sound and vibration_adc)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..training.pipeline import run as train

    data = options.user_data(args)
    for family in options.families(args):
        metrics = train(args.out, args.config, args.seed, family, data, channels=args.channels, w1_bits=args.w1_bits)
        print(json.dumps({k: v for k, v in metrics.items() if k != "cascade_curve"}, indent=2))
    return 0
