"""`python -m gpu_backend eval-voice`: evaluate the BinMoE voice agent in a real Home Assistant.

Starts a GPU tier with the chosen profile unless `--url` points at a running one, then runs
benchmarks/voice_eval.py inside the Home Assistant environment (scripts/ha-env), which writes
docs/benchmarks/voice.json and its docs/benchmarks.md section.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .gpus import detect_gpus

REPO = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="a running gateway (default: start one)")
    parser.add_argument("--api-key", default=os.environ.get("BINMOE_API_KEY"))
    parser.add_argument("--profile", help="profile of the gateway to start (default: from the GPUs)")
    parser.add_argument("--port", type=int, default=18470, help="port of the gateway started here")
    parser.add_argument("--per-intent", type=int, default=35, help="template sentences per Home Assistant intent")
    parser.add_argument(
        "--assist-dataset",
        type=Path,
        help="the datasets/assist folder of a home-assistant-datasets checkout: run that set too",
    )
    parser.add_argument(
        "--assist-commit", help="the checkout's commit, recorded with the result (default: asked of git in DIR)"
    )
    parser.add_argument(
        "--assist-only", action="store_true", help="run only the --assist-dataset set, not the fixture home's sentences"
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="run only the development paraphrases (benchmarks/voice_dev_paraphrases.py); writes nothing",
    )
    parser.add_argument("--no-write", action="store_true")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the gateway exited before it became healthy")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("the gateway did not become healthy")


def _commit(folder: Path) -> str:
    """The git commit of the checkout holding `folder`, or "unknown" (e.g. an unpacked archive)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def assist_settings(args: argparse.Namespace) -> tuple[dict[str, str], str]:
    """The environment and pytest selection for `--dev` and `--assist-dataset`/`--assist-only`, checked
    before any gateway starts (a bad folder must not leave one running)."""
    tests = "benchmarks/voice_eval.py"
    if args.dev:
        if args.assist_dataset is not None or args.assist_only:
            raise SystemExit("--dev runs only the development paraphrases, not the assist set")
        return {"BINMOE_EVAL_DEV": "1"}, tests + "::test_voice_dev"
    if args.assist_dataset is None:
        if args.assist_only:
            raise SystemExit("--assist-only needs --assist-dataset DIR")
        return {}, tests
    dataset = args.assist_dataset.resolve()
    if not dataset.is_dir():
        raise SystemExit(f"--assist-dataset: {dataset} is not a folder")
    env = {
        "BINMOE_EVAL_ASSIST_DATASET": str(dataset),
        "BINMOE_HA_MOUNT": str(dataset),  # scripts/ha-env mounts it at the same path in the sid root
        "BINMOE_EVAL_ASSIST_COMMIT": args.assist_commit or _commit(dataset),
    }
    return env, tests + ("::test_assist_dataset" if args.assist_only else "")


def run(args: argparse.Namespace) -> int:
    assist_env, tests = assist_settings(args)
    server = None
    url, key = args.url, args.api_key
    if url is None:
        key = key or "eval-voice"
        command = [sys.executable, "-m", "gpu_backend", "serve", "--host", "127.0.0.1", "--port", str(args.port)]
        command += ["--api-key", key] + (["--profile", args.profile] if args.profile else [])
        server = subprocess.Popen(command, start_new_session=True)
        url = f"http://127.0.0.1:{args.port}"
        _wait_healthy(url, server)
    gpus = detect_gpus()
    device = ", ".join(g.name for g in gpus) if gpus else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    env = {
        **os.environ,
        "BINMOE_EVAL_URL": url,
        "BINMOE_EVAL_KEY": key or "",
        "BINMOE_EVAL_DEVICE": device,
        "BINMOE_EVAL_PER_INTENT": str(args.per_intent),
        "BINMOE_BENCH_WRITE": "0" if args.no_write else "1",
        **assist_env,
    }
    try:
        return subprocess.call(
            [str(REPO / "scripts" / "ha-env"), "python", "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", tests],
            env=env,
            cwd=REPO,
        )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
