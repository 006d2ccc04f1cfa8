"""`python -m node_factory build-corpus`: render the corpora and their features into the cache."""

from __future__ import annotations

import argparse

from . import options

HELP = "render the synthetic corpus and its features (cached)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..corpus.families import FAMILIES, dataset
    from ..training.configs import CONFIGS

    cfg = CONFIGS[args.config]
    for family in options.families(args):
        for split, n in (("train", cfg.train_per_class), ("val", cfg.val_per_class), ("test", cfg.test_per_class)):
            x, y, _ = dataset(split, n, FAMILIES[family])
            print(f"{family} {split}: {len(y)} windows, features {x.shape}")
    return 0
