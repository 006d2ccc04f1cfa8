"""`python -m gpu_backend serve`: pick a profile, supervise vLLM, serve the gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from .announce import SERVICE_TYPE, Announcer, announced_addresses, default_state_dir, gateway_id, service_info
from .gateway import GatewaySettings, create_app
from .gpus import detect_gpus
from .knowledge import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from .profiles import Profile, engine_command, load_profiles, select_profile
from .supervisor import EngineSupervisor

if TYPE_CHECKING:  # torch is imported only when a teacher is loaded
    from .teacher import TeacherClassifier

LOGGER = logging.getLogger("gpu_backend.serve")
ENGINE_KEY_VARIABLE = {"vllm": "VLLM_API_KEY", "llama.cpp": "LLAMA_API_KEY"}  # each engine reads its key there
# the sound teacher `serve` loads without --teacher: the one `python -m node_factory train` leaves (the user's own
# model's), if present. The shipped sound model's (`--teacher shipped`) is not loaded by default: on the real
# recordings it names smoke or CO in 0.5 of the diagnosed escalations an hour, which the diagnosis then makes
# critical (docs/gpu-backend.md, "The teacher")
TRAINED_TEACHER = Path.home() / ".cache" / "binmoe" / "models" / "edge" / "sound_v1_teacher.pt"
SHIPPED_TEACHER = Path(__file__).with_name("data") / "teachers" / "sound_v1_teacher.pt"
LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"
KEY_HINT = "--api-key KEY or BINMOE_API_KEY=KEY (make one with: openssl rand -hex 16)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="profile name (default: chosen from the detected GPUs)")
    parser.add_argument("--weights", help="model directory or id (default: the profile's)")
    parser.add_argument(
        "--host",
        help="gateway address (default: 127.0.0.1 without an API key, all interfaces with one; "
        "another address than loopback needs a key)",
    )
    parser.add_argument("--port", type=int, default=8000, help="gateway port (default: 8000)")
    parser.add_argument("--engine-port", type=int, help="vLLM child port on 127.0.0.1 (default: port + 1)")
    parser.add_argument(
        "--api-key", default=os.environ.get("BINMOE_API_KEY"), help="required Bearer key (env BINMOE_API_KEY)"
    )
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--max-queue", type=int, default=32)
    parser.add_argument(
        "--teacher",
        help="node-model teacher for escalations with features: a file, 'shipped' (the shipped sound model's) or 'none'"
        f" (default: the one `python -m node_factory train` left in {TRAINED_TEACHER.parent}, if present)",
    )
    parser.add_argument(
        "--knowledge",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="extra knowledge-base directory (*.toml) whose classes add to or replace the bundled ones; repeatable",
    )
    parser.add_argument(
        "--llm-budget",
        type=float,
        metavar="SECONDS",
        help="how long a diagnosis waits for the LLM's phrasing before the knowledge base answers alone "
        "(default: the profile's, 5 s; 0 for cpu-default; 0: never ask the LLM)",
    )
    parser.add_argument(
        "--announce",
        action=argparse.BooleanOptionalAction,
        help="announce the gateway over zeroconf (_binmoe._tcp) so Home Assistant discovers it "
        "(default: when it listens beyond loopback)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the vLLM command and exit")


def diagnosis_llm_budget(args: argparse.Namespace, profile: Profile) -> float:
    """`--llm-budget` if given, else the profile's (a model too slow or too weak to phrase gets 0)."""
    if args.llm_budget is None:
        return profile.diagnosis_llm_budget_s
    if args.llm_budget < 0:
        raise ValueError(f"--llm-budget must be >= 0 seconds, got {args.llm_budget}")
    return float(args.llm_budget)


def budget_note(budget_s: float) -> str:
    if budget_s <= 0:
        return "diagnoses: the knowledge base answers alone (the model does not phrase them; --llm-budget to change)"
    return f"diagnoses: the model may phrase them within {budget_s:g} s, else the knowledge base answers alone"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def bind_address(host: str | None, api_key: str | None) -> str:
    """Where the gateway listens: nothing is open by default. Without a key only loopback is allowed (the
    default then); with a key the default is every interface, so Home Assistant on another machine can reach
    it. Raises ValueError for an address beyond loopback without a key."""
    if host is None:
        return ALL_INTERFACES if api_key else LOOPBACK
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"refusing to serve {host} without an API key: anyone who reaches it could use the GPU tier. "
            f"Set a key ({KEY_HINT}), or leave out --host to listen on {LOOPBACK} only."
        )
    return host


def listen_note(host: str, port: int, api_key: str | None) -> str:
    """Where the gateway listens, and, without a key, why only there and how to set one."""
    note = f"BinMoE gateway on http://{host}:{port}"
    if api_key:
        return note
    return (
        f"{note}. No API key: it listens on {host} only, for this machine. To serve Home Assistant on another "
        f"machine, set a key ({KEY_HINT}); the gateway then listens on all interfaces."
    )


def announce_plan(host: str, announce: bool | None) -> tuple[list[str], str]:
    """The addresses to announce over zeroconf and a line for the log saying what happens and why."""
    if announce is False:
        return [], "zeroconf: not announced (--no-announce); add the gateway in Home Assistant by its URL"
    try:
        addresses = announced_addresses(host)
    except ValueError:  # a host name: announce what it resolves to
        try:
            resolved = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except OSError as err:
            return [], f"zeroconf: not announced, {host} does not resolve ({err})"
        addresses = sorted(a for r in resolved for a in announced_addresses(r))
    if not addresses:
        return [], f"zeroconf: not announced, {host} is reachable from this machine only"
    return addresses, f"zeroconf: announced as {SERVICE_TYPE} at {', '.join(addresses)}"


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


def teacher_path(value: str | None) -> Path | None:
    """The teacher file `serve` loads: --teacher's file, the shipped one for 'shipped', none for 'none', and without
    the option the user's trained one if present. ValueError for a file given that is not there."""
    if value is None:
        return TRAINED_TEACHER if TRAINED_TEACHER.exists() else None
    if value.lower() == "none":
        return None
    if value.lower() == "shipped":
        return SHIPPED_TEACHER
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"--teacher {value}: no such file (give a teacher written by `python -m node_factory train`)")
    return path


def run(args: argparse.Namespace) -> int:
    try:
        args.host = bind_address(args.host, args.api_key or None)
        args.teacher = teacher_path(args.teacher)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    try:  # before anything slow: a broken knowledge-base file stops the start with its file and field
        knowledge = load_knowledge_base(*args.knowledge)
    except KnowledgeBaseError as err:
        print(f"knowledge base: {err}", file=sys.stderr)
        return 2
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
    try:
        args.llm_budget = diagnosis_llm_budget(args, profile)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    teacher = None
    if args.teacher is not None and not args.dry_run:  # before anything slow: a file that is no teacher stops here
        from .teacher import load_teacher

        try:
            teacher = load_teacher(args.teacher)
        except ValueError as err:
            print(f"teacher: {err}", file=sys.stderr)
            return 2
        LOGGER.info(
            "escalations of %s with features are classified by the teacher in %s", teacher.model_id, args.teacher
        )
    engine_port = args.engine_port or args.port + 1
    weights = args.weights or profile.weights
    if not args.dry_run:
        weights = resolve_weights(profile, args.weights)
    command = engine_command(profile, sys.executable, weights, "127.0.0.1", engine_port)
    if args.dry_run:
        env = " ".join(f"{k}={v}" for k, v in engine_env(profile).items())
        print(f"# profile {profile.name}: {profile.explain()}")
        print(f"# {listen_note(args.host, args.port, args.api_key or None)}")
        print(f"# {budget_note(args.llm_budget)}")
        print(f"# {announce_plan(args.host, args.announce)[1]}")
        print(f"# teacher for escalations with features: {args.teacher or 'none'}")
        print(env, shlex.join(command))
        return 0
    if shutil.which(command[0]) is None:
        print(f"{command[0]} not found: profile {profile.name} needs {profile.engine}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(args, profile, command, knowledge, teacher))


async def _serve(
    args: argparse.Namespace,
    profile: Profile,
    command: list[str],
    knowledge: KnowledgeBase,
    teacher: TeacherClassifier | None,
) -> int:
    engine_url = command[command.index("--port") + 1]
    # The engine listens on loopback, but any process on this machine could reach it: it gets a key of its own
    # (vLLM reads VLLM_API_KEY, llama-server LLAMA_API_KEY; the environment keeps it out of `ps`), known only
    # to the gateway.
    engine_key = secrets.token_urlsafe(24)
    env = {**engine_env(profile), ENGINE_KEY_VARIABLE[profile.engine]: engine_key}
    supervisor = EngineSupervisor(command, f"http://127.0.0.1:{engine_url}", env=env)
    served_name = profile.model_name
    ident = gateway_id(default_state_dir())
    settings = GatewaySettings(
        model_name=served_name,
        profile=profile.name,
        tool_calling=profile.tool_calling,
        api_key=args.api_key or None,
        max_concurrency=args.max_concurrency,
        max_queue=args.max_queue,
        engine_api_key=engine_key,
        diagnose_llm_budget_s=args.llm_budget,
        gateway_id=ident,
    )
    app = create_app(settings, _SupervisedEngine(supervisor), teacher, knowledge)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # uvicorn captures SIGTERM/SIGINT while it serves and re-raises them afterwards; either way we end
    # up below, where the engine is taken down before the process exits.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    supervisor.start()
    server_task = asyncio.create_task(server.serve())
    note = listen_note(args.host, args.port, settings.api_key)
    (LOGGER.info if settings.api_key else LOGGER.warning)("%s (profile %s)", note, profile.name)
    addresses, plan = announce_plan(args.host, args.announce)
    LOGGER.info("%s", plan)
    announcer = None
    if addresses:
        info = service_info(ident, addresses, args.port, model=served_name, auth=bool(settings.api_key))
        announcer = Announcer(info)
        await announcer.start()
    await asyncio.wait([server_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    LOGGER.info("shutting down")
    if announcer is not None:  # goodbye first: Home Assistant stops offering a gateway that is going away
        await announcer.stop()
    server.should_exit = True
    await supervisor.stop()
    with contextlib.suppress(asyncio.CancelledError):
        await server_task
    return 0
