"""Command line of the GPU tier: `python -m gpu_backend {serve,bench,eval-voice,mqtt-bridge,profiles,fixture}`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Protocol

from . import bench, eval_voice, fixture_moe, mqtt_bridge, profiles, serve


class Command(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, tuple[Command, str]] = {
    "serve": (serve, "start vLLM (supervised) and the BinMoE gateway"),
    "mqtt-bridge": (mqtt_bridge, "diagnose MQTT escalations (no Home Assistant)"),
    "eval-voice": (eval_voice, "evaluate the voice agent in a real Home Assistant"),
    "bench": (bench, "load-test a running gateway; writes docs/benchmarks"),
    "profiles": (profiles, "list the launch profiles with their VRAM arithmetic"),
    "fixture": (fixture_moe, "build (or find) the tiny test MoE checkpoint and print its path"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpu_backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (command, text) in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=text))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return COMMANDS[args.command][0].run(args)


if __name__ == "__main__":
    sys.exit(main())
