"""Command line of the GPU tier: `python -m gpu_backend {serve,bench,eval-voice,mqtt-bridge,profiles,fixture}`."""

from __future__ import annotations

import argparse
import logging
import sys

from . import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpu_backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve.add_arguments(sub.add_parser("serve", help="start vLLM (supervised) and the BinMoE gateway"))
    from . import mqtt_bridge

    mqtt_bridge.add_arguments(sub.add_parser("mqtt-bridge", help="diagnose MQTT escalations (no Home Assistant)"))
    from . import bench, eval_voice

    eval_voice.add_arguments(sub.add_parser("eval-voice", help="evaluate the voice agent in a real Home Assistant"))

    bench.add_arguments(sub.add_parser("bench", help="load-test a running gateway; writes docs/benchmarks"))
    sub.add_parser("profiles", help="list the launch profiles with their VRAM arithmetic")
    sub.add_parser("fixture", help="build (or find) the tiny test MoE checkpoint and print its path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return serve.run(args)
    if args.command == "mqtt-bridge":
        import asyncio

        asyncio.run(mqtt_bridge.run_bridge(mqtt_bridge.settings_from_args(args)))
        return 0
    if args.command == "eval-voice":
        return eval_voice.main(args)
    if args.command == "bench":
        return bench.main(args)
    if args.command == "profiles":
        from .profiles import load_profiles

        for profile in load_profiles().values():
            print(f"{profile.explain()}\n    {profile.description}")
        return 0
    if args.command == "fixture":
        from .fixture_moe import build_fixture

        print(build_fixture())
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
