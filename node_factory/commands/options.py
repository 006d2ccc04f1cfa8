"""What the subcommands share: the run directory and family options, the user-data options, and the check
that a training run exists."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..corpus.userdata import UserData

DEFAULT_OUT = Path.home() / ".cache" / "binmoe" / "models" / "edge"


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"run directory (default {DEFAULT_OUT})")
    parser.add_argument("--config", choices=["full", "ci"], default="full")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--family", choices=["sound", "vibration", "vibration_adc", "all"], default="all")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="train on your data in DIR instead of the built-in corpus")
    parser.add_argument("--layout", choices=["folder", "esc50", "urbansound8k"], default="folder")
    parser.add_argument("--data-rate", type=int, help="sample rate of .mat/.csv vibration files (Hz)")
    parser.add_argument("--full-scale-g", type=float, default=16.0, help=".mat/.csv: g at int16 full scale")


def families(args: argparse.Namespace) -> list[str]:
    from ..corpus.families import FAMILIES

    return list(FAMILIES) if args.family == "all" else [args.family]


def user_data(args: argparse.Namespace) -> UserData | None:
    """The user's data (--data and its options), or None for the built-in corpus."""
    if getattr(args, "data", None) is None:
        return None
    return UserData(args.data, args.layout, args.data_rate, args.full_scale_g)


def trained_stems(args: argparse.Namespace) -> list[str] | None:
    """The model stems of the run directory for the chosen families; None (with the error printed) if a
    family has no training run there."""
    from ..corpus.families import family_for

    stems = [family_for(f, user_data(args)).stem for f in families(args)]
    missing = [s for s in stems if not (args.out / f"{s}_metrics.json").exists()]
    if missing:
        print(f"no training run for {missing} in {args.out}: run `python -m node_factory train`", file=sys.stderr)
        return None
    return stems
