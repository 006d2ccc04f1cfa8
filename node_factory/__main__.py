"""`python -m node_factory {build-corpus,train,eval,calibrate,export,bench,generalize,orders,baseline}`: the node-model
factory."""

from __future__ import annotations

import argparse
import sys
from typing import Protocol

from .commands import baseline, bench, build_corpus, calibrate, export, generalize, orders, train
from .commands import eval as eval_command


class Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, Command] = {
    "build-corpus": build_corpus,
    "train": train,
    "eval": eval_command,
    "calibrate": calibrate,
    "export": export,
    "bench": bench,
    "generalize": generalize,
    "orders": orders,
    "baseline": baseline,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node_factory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.HELP))
    args = parser.parse_args(argv)
    if getattr(args, "data", None) is not None and args.family == "all":
        parser.error("--data needs --family (the features to use: sound, vibration or vibration_adc)")
    from .corpus.loaders import DataError

    try:
        return COMMANDS[args.command].run(args)
    except (DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
