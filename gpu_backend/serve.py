"""`python -m gpu_backend serve`: pick a profile, supervise vLLM, serve the gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path

import uvicorn

from .gateway import GatewaySettings, create_app
from .gpus import detect_gpus
from .profiles import Profile, engine_command, load_profiles, select_profile
from .supervisor import EngineSupervisor

LOGGER = logging.getLogger("gpu_backend.serve")
DEFAULT_TEACHER = Path.home() / ".cache" / "binmoe" / "models" / "edge" / "sound_v1_teacher.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="profile name (default: chosen from the detected GPUs)")
    parser.add_argument("--weights", help="model directory or id (default: the profile's)")
    parser.add_argument("--host", default="0.0.0.0", help="gateway address (default: all interfaces)")
    parser.add_argument("--port", type=int, default=8000, help="gateway port (default: 8000)")
    parser.add_argument("--engine-port", type=int, help="vLLM child port on 127.0.0.1 (default: port + 1)")
    parser.add_argument(
        "--api-key", default=os.environ.get("BINMOE_API_KEY"), help="required Bearer key (env BINMOE_API_KEY)"
    )
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--max-queue", type=int, default=32)
    parser.add_argument(
        "--teacher",
        type=Path,
        default=DEFAULT_TEACHER,
        help=f"node-model teacher for escalations with features (default {DEFAULT_TEACHER}, if present)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the vLLM command and exit")


def resolve_weights(profile: Profile, override: str | None) -> str:
    """Local path or model id; `@fixture` and `@smollm2` are made by the project itself."""
    weights = override or profile.weights
    if weights == "@fixture":
        from .fixture_moe import build_fixture, build_fixture_gguf

        return str(build_fixture_gguf() if profile.engine == "llama.cpp" else build_fixture())
    if weights == "@smollm2":
        from .cpu_model import ensure_smollm2

        return str(ensure_smollm2())
    return weights


def engine_env(profile: Profile) -> dict[str, str]:
    env = {"HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "VLLM_NO_USAGE_STATS": "1"}
    if profile.device == "cpu":
        env["VLLM_CPU_KVCACHE_SPACE"] = str(profile.cpu_kvcache_gb)
    return env


class _SupervisedEngine:
    def __init__(self, supervisor: EngineSupervisor) -> None:
        self._supervisor = supervisor
        self.base_url = supervisor.base_url

    @property
    def is_ready(self) -> bool:
        return self._supervisor.ready.is_set()

    @property
    def restarts(self) -> int:
        return self._supervisor.restarts


def run(args: argparse.Namespace) -> int:
    profiles = load_profiles()
    if args.profile:
        if args.profile not in profiles:
            print(f"unknown profile {args.profile!r}; known: {', '.join(profiles)}", file=sys.stderr)
            return 2
        profile = profiles[args.profile]
    else:
        gpus = detect_gpus()
        profile = select_profile(gpus, profiles)
        LOGGER.info("detected %d GPU(s): %s -> profile %s", len(gpus), gpus, profile.name)
    engine_port = args.engine_port or args.port + 1
    weights = args.weights or profile.weights
    if not args.dry_run:
        weights = resolve_weights(profile, args.weights)
    command = engine_command(profile, sys.executable, weights, "127.0.0.1", engine_port)
    if args.dry_run:
        env = " ".join(f"{k}={v}" for k, v in engine_env(profile).items())
        print(f"# profile {profile.name}: {profile.explain()}")
        print(env, shlex.join(command))
        return 0
    if shutil.which(command[0]) is None:
        print(f"{command[0]} not found: profile {profile.name} needs {profile.engine}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args, profile, command))


async def _serve(args: argparse.Namespace, profile: Profile, command: list[str]) -> int:
    engine_url = command[command.index("--port") + 1]
    supervisor = EngineSupervisor(command, f"http://127.0.0.1:{engine_url}", env=engine_env(profile))
    served_name = profile.model_name
    settings = GatewaySettings(
        model_name=served_name,
        profile=profile.name,
        api_key=args.api_key or None,
        max_concurrency=args.max_concurrency,
        max_queue=args.max_queue,
    )
    teacher = None
    if args.teacher is not None and args.teacher.exists():
        from .teacher import load_teacher

        teacher = load_teacher(args.teacher)
        LOGGER.info("escalations with features are classified by the teacher in %s", args.teacher)
    app = create_app(settings, _SupervisedEngine(supervisor), teacher)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # uvicorn captures SIGTERM/SIGINT while it serves and re-raises them afterwards; either way we end
    # up below, where the engine is taken down before the process exits.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    supervisor.start()
    server_task = asyncio.create_task(server.serve())
    LOGGER.info("BinMoE gateway on http://%s:%d (profile %s)", args.host, args.port, profile.name)
    await asyncio.wait([server_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    LOGGER.info("shutting down")
    server.should_exit = True
    await supervisor.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await server_task
    return 0
