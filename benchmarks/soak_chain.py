"""The fault soak's components, each a real process on loopback: the MQTT broker (mosquitto), the GPU tier
(`gpu_backend serve`, which supervises its engine), Home Assistant (in the sid root, scripts/ha-env) and the
host-built ESPHome node. Start, stop and restart them; where they log is under one work dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
BINMOE_CACHE = Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe"))
ESPHOME_PYTHON = BINMOE_CACHE / "venv-esphome" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def wait_until(check: Callable[[], object], timeout_s: float, interval_s: float = 0.5) -> bool:
    """Poll `check()` (truthy = done; a coroutine is awaited) until it holds or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return True
        await asyncio.sleep(interval_s)
    return False


@dataclass
class Service:
    """One process started in its own session (so a signal reaches all of its children), restartable."""

    name: str
    argv: list[str]
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.runs += 1
        log = (self.log_dir / f"{self.name}-{self.runs}.out").open("wb")
        self.process = subprocess.Popen(
            [arg.replace("{run}", str(self.runs)) for arg in self.argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **self.env},
            cwd=REPO,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def stop(self, grace_s: float = 60.0) -> None:
        """SIGTERM to the whole session, SIGKILL after `grace_s`."""
        if not self.running():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        if not await wait_until(lambda: not self.running(), grace_s, 0.2):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            await wait_until(lambda: not self.running(), 10, 0.2)


def broker(work: Path, port: int) -> Service:
    config = work / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return Service("broker", ["mosquitto", "-c", str(config)], work)


def gateway(work: Path, port: int, api_key: str) -> Service:
    argv = [sys.executable, "-m", "gpu_backend", "serve", "--profile", "cpu-fixture", "--host", "127.0.0.1",
            "--port", str(port), "--api-key", api_key]  # fmt: skip
    return Service("gateway", argv, work, env={"PYTHONPATH": str(REPO)})


def engine_processes(gateway_pid: int) -> list[psutil.Process]:
    """The gateway's vLLM engine child (its own process group; tests/gpu_backend/test_lifecycle.py)."""
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(gateway_pid)
        return [p for p in parent.children() if "vllm.entrypoints" in " ".join(p.cmdline())]
    return []


async def gateway_healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            return (await client.get(f"{url}/health")).status_code == 200
    except httpx.HTTPError:
        return False


def home_assistant(work: Path, port: int) -> Service:
    """Home Assistant in the sid root, config in `work`/config (inside the repository: the root sees it at
    /src); each run logs to its own file, so a restart keeps the earlier runs' lines."""
    config = work / "config"
    (config / "custom_components").mkdir(parents=True, exist_ok=True)
    link = config / "custom_components" / "binmoe"
    if not link.is_symlink():
        link.symlink_to(os.path.relpath(REPO / "custom_components" / "binmoe", link.parent))
    (config / "configuration.yaml").write_text(
        "# Throw-away Home Assistant configuration made by benchmarks/fault_soak.py.\n"
        "homeassistant:\n  name: BinMoE soak\n  unit_system: metric\n  time_zone: UTC\n"
        f"http:\n  server_port: {port}\n"
        "api:\nconfig:\ndiagnostics:\nonboarding:\n"
        "logger:\n  default: warning\n  logs:\n    custom_components.binmoe: debug\n"
        "    homeassistant.components.mqtt: info\n    homeassistant.components.esphome: info\n"
    )
    inside = "/src/" + str(config.relative_to(REPO))
    # --skip-pip: the environment is requirements/lock/ha.txt; HA's own pins would downgrade it (as scripts/demo)
    argv = [
        str(REPO / "scripts" / "ha-env"),
        "hass",
        "--skip-pip",
        "-c",
        inside,
        "--log-file",
        f"{inside}/ha-{{run}}.log",
    ]
    return Service("hass", argv, work)


def ha_logs(work: Path) -> list[Path]:
    return sorted((work / "config").glob("ha-*.log"), key=lambda p: int(p.stem.removeprefix("ha-")))


def build_node(work: Path, api_port: int, clips: Path) -> Path:
    """The soak node (benchmarks/fault_soak_node.yaml) built for this machine by scripts/lib/host_build.py."""
    run = subprocess.run(
        [str(ESPHOME_PYTHON), "scripts/lib/host_build.py", "benchmarks/fault_soak_node.yaml",
         f"api_port={api_port}", f"clips={clips}"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    (work / "node-build.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        raise SystemExit(f"building the soak node failed; see {work / 'node-build.log'}")
    return Path(run.stdout.strip().splitlines()[-1])


def make_clips(clips: Path) -> None:
    subprocess.run([sys.executable, "scripts/lib/make_clips.py", str(clips)], cwd=REPO, check=True)
