"""`python -m node_factory calibrate`: new escalation thresholds for the last run's models, no retraining."""

from __future__ import annotations

import argparse
import json

from . import options

HELP = "new per-class escalation thresholds for the last run's models (no retraining)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)
    options.add_data_options(parser)
    parser.add_argument("--target", type=float, default=0.2, help="escalation rate to aim for (default 0.2)")
    parser.add_argument(
        "--headroom", type=float, help="calibrate to target - headroom on validation data (default 0.02)"
    )


def run(args: argparse.Namespace) -> int:
    from ..training.calibration import CALIBRATION_HEADROOM
    from ..training.pipeline import recalibrate

    if options.trained_stems(args) is None:
        return 2
    headroom = CALIBRATION_HEADROOM if args.headroom is None else args.headroom
    for family in options.families(args):
        metrics = recalibrate(args.out, family, args.target, headroom, options.user_data(args))
        keys = ("margin_thresholds", "escalation_rate_at_target", "cascade_macro_f1_at_target", "model_hash")
        print(json.dumps({"family": family, **{k: metrics[k] for k in keys}}))
    return 0
