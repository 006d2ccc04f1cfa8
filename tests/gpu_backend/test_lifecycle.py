"""Crash recovery and clean shutdown of the real engine, each test on a gateway of its own (they kill
processes, so they share no gateway with other tests and may run in any order)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from .conftest import RunningGateway, free_port, running_gateway, wait_healthy

pytestmark = pytest.mark.real_backend


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    """A gateway for this test alone: each test kills or stops it."""
    with running_gateway(tmp_path, free_port()) as running:
        yield running


def _engine_children(gateway: RunningGateway) -> list[psutil.Process]:
    parent = psutil.Process(gateway.process.pid)
    return [p for p in parent.children() if "vllm.entrypoints" in " ".join(p.cmdline())]


def test_restart_after_engine_killed(gateway: RunningGateway) -> None:
    (engine,) = _engine_children(gateway)
    os.killpg(engine.pid, signal.SIGKILL)
    engine.wait(30)
    deadline = time.monotonic() + 10
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = httpx.get(f"{gateway.url}/health").status_code
        time.sleep(0.2)
    assert status == 503  # the gateway noticed and says "starting"
    with gateway.client() as client:  # ... and the knowledge base still diagnoses, without the LLM
        response = client.post("/v1/binmoe/diagnose", json={"v": 1, "question": "Why is the fridge beeping?"})
    assert response.status_code == 200, response.text
    assert (response.json()["llm_status"], response.json()["severity"]) == ("unavailable", "warning")
    assert wait_healthy(gateway.url, 240), gateway.log.read_text()[-3000:]
    (new_engine,) = _engine_children(gateway)
    assert new_engine.pid != engine.pid
    with gateway.client() as client:
        text = client.get("/metrics").text
    assert "binmoe_engine_restarts 1.0" in text


def test_sigterm_shuts_down_cleanly(gateway: RunningGateway) -> None:
    engines = _engine_children(gateway)
    assert engines
    gateway.process.send_signal(signal.SIGTERM)  # only the gateway: it must take its engine down
    assert gateway.process.wait(60) == 0
    _gone, alive = psutil.wait_procs(engines, timeout=30)
    assert not alive, f"orphaned engine processes: {alive}"
