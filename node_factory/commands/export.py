"""`python -m node_factory export --dest DIR`: the last run's model header, blob and manifest into DIR (for the
ESPHome component's built-in models: esphome/components/binmoe/models)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import options

HELP = "write the last run's model header, blob and manifest into --dest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)
    options.add_data_options(parser)
    parser.add_argument(
        "--dest", type=Path, required=True,
        help="where to write (the component's built-in models: esphome/components/binmoe/models)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..training.pipeline import export_model

    if options.trained_stems(args) is None:
        return 2
    for family in options.families(args):
        for path in export_model(args.out, family, args.dest, options.user_data(args)):
            print(f"wrote {path}")
    return 0
