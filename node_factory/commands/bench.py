"""`python -m node_factory bench`: size, RAM and instruction counts of the kernel with the last run's models,
into docs/benchmarks (node_factory.bench.node_model)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import options

HELP = "measure size, RAM, rv32imc/host instructions; write docs/benchmarks"
KERNEL_DIR = Path("esphome") / "components" / "binmoe" / "kernel"  # from the repository root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_run_options(parser)
    parser.add_argument(
        "--kernel", type=Path, default=KERNEL_DIR,
        help=f"the BinMoE kernel's headers (default {KERNEL_DIR}, from the repository root)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..bench.node_model import run as bench

    if not (args.kernel / "binmoe_kernel.h").exists():
        where = f"no binmoe_kernel.h in {args.kernel}"
        print(f"error: {where}: run from the repository root or pass --kernel", file=sys.stderr)
        return 2
    if options.trained_stems(args) is None:
        return 2
    print(json.dumps(bench(args.out, options.families(args), args.kernel), indent=2))
    return 0
