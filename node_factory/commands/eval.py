"""`python -m node_factory eval`: print the metrics of the last training run."""

from __future__ import annotations

import argparse

from . import options

HELP = "print the metrics of the last training run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)
    options.add_data_options(parser)


def run(args: argparse.Namespace) -> int:
    stems = options.trained_stems(args)
    if stems is None:
        return 2
    for stem in stems:
        print((args.out / f"{stem}_metrics.json").read_text())
    return 0
