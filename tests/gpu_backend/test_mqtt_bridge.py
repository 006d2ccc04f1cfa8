"""The MQTT bridge against a real Mosquitto broker (started here, loopback only) and the real gateway."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from gpu_backend.fixture_moe import SMOKE_ESCALATION
from gpu_backend.knowledge import load_knowledge_base
from gpu_backend.mqtt_bridge import BridgeSettings, run_bridge

from .conftest import API_KEY, RunningGateway, free_port

BROKER_PORT = free_port()
pytestmark = pytest.mark.real_backend


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.fail("mosquitto is not installed (scripts/bootstrap backend installs it)")
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    conf.write_text(f"listener {BROKER_PORT} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    assert process.poll() is None, "mosquitto did not start"
    yield BROKER_PORT
    process.terminate()
    process.wait(10)


async def _publish(payload: Any, node: str = "hallway-sound") -> None:
    async with aiomqtt.Client("127.0.0.1", BROKER_PORT, identifier="test-node") as client:
        await client.publish(f"binmoe/{node}/escalation", json.dumps(payload), qos=1)


async def _expect_diagnosis(node: str, within_s: float) -> dict[str, Any]:
    async with aiomqtt.Client("127.0.0.1", BROKER_PORT, identifier=f"test-watch-{node}") as client:
        await client.subscribe(f"binmoe/{node}/diagnosis", qos=1)
        async with asyncio.timeout(within_s):
            async for message in client.messages:
                return dict(json.loads(bytes(message.payload)))  # type: ignore[arg-type]
    raise AssertionError("unreachable")


async def _run_bridge_until(settings: BridgeSettings, watcher: asyncio.Task[dict[str, Any]]) -> dict[str, Any]:
    stop = asyncio.Event()
    bridge = asyncio.create_task(run_bridge(settings, stop))
    try:
        return await watcher
    finally:
        stop.set()
        await asyncio.wait_for(bridge, 15)


async def test_bridge_diagnoses_escalation(broker: int, gateway: RunningGateway) -> None:
    settings = BridgeSettings(broker_port=broker, backend_url=gateway.url, api_key=API_KEY, client_id="b1")
    watcher = asyncio.create_task(_expect_diagnosis("hallway-sound", 120))
    await asyncio.sleep(0.3)
    stop = asyncio.Event()
    bridge = asyncio.create_task(run_bridge(settings, stop))
    await asyncio.sleep(0.5)
    await _publish({"not": "an escalation"})  # dropped (logged), never blocks the queue
    await _publish(SMOKE_ESCALATION)
    try:
        diagnosis = await watcher
    finally:
        stop.set()
        await asyncio.wait_for(bridge, 15)
    smoke = load_knowledge_base().lookup("sound", "smoke_alarm")
    assert smoke is not None
    assert diagnosis["cause"] == smoke.entry.default.cause  # no context, no history: the default cause
    assert diagnosis["severity"] == "critical"
    assert (diagnosis["node_id"], diagnosis["seq"]) == ("hallway-sound", SMOKE_ESCALATION["seq"])


async def test_unacknowledged_escalation_is_redelivered(broker: int, gateway: RunningGateway) -> None:
    # First the bridge runs against a dead backend: it must not acknowledge the escalation...
    dead = BridgeSettings(broker_port=broker, backend_url="http://127.0.0.1:1", client_id="b2", diagnose_attempts=1)
    stop = asyncio.Event()
    bridge = asyncio.create_task(run_bridge(dead, stop))
    await asyncio.sleep(0.5)
    await _publish({**SMOKE_ESCALATION, "node_id": "attic-sound", "seq": 99})
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.wait_for(bridge, 15)
    # ...so the same session, reconnecting with a live backend, gets it again and publishes the diagnosis.
    live = BridgeSettings(broker_port=broker, backend_url=gateway.url, api_key=API_KEY, client_id="b2")
    watcher = asyncio.create_task(_expect_diagnosis("attic-sound", 120))
    await asyncio.sleep(0.3)
    diagnosis = await _run_bridge_until(live, watcher)
    assert diagnosis["seq"] == 99
    assert diagnosis["severity"] in {"info", "warning", "critical"}
