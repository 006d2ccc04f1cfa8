"""The fault soak's accounting and its small parts (benchmarks/soak_*.py): log parsing, counting by the
nodes' sequence numbers, alarm latency matching, the relay and the MQTT node against a real mosquitto. The
soak itself is a benchmark (benchmarks/fault_soak.py), not run here."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.soak_ledger import (
    Fault,
    HubRecord,
    MessageRef,
    Routed,
    alarm_latency,
    count_node_log_messages,
    faults_during,
    gap_window,
    log_time,
    lost_runs,
    node_counts,
)
from benchmarks.soak_mqtt_node import (
    HA_STATUS_TOPIC,
    HUB_STATUS_TOPIC,
    PATTERN,
    HubStatus,
    MqttNode,
    Outbox,
    make_message,
)
from benchmarks.soak_proxy import DroppableRelay
from gpu_backend.protocol import NodeMessage
from tests.gpu_backend.conftest import free_port

BOOT = "0badc0de"
PREFIX = "2026-12-03 07:50:01.250 DEBUG (MainThread) [custom_components.binmoe.hub] "


def hub_lines(*lines: str) -> HubRecord:
    record = HubRecord()
    record.add_lines(lines)
    return record


def test_hub_lines_are_parsed_with_their_time() -> None:
    record = hub_lines(
        PREFIX + f"routed node-a/{BOOT}/3 escalation smoke_alarm: queued critical",
        PREFIX + f"routed node-a/{BOOT}/4 detection knock: drop",
        PREFIX + f"diagnosed node-a/{BOOT}/3",
        "2026-12-03 07:50:02.000 DEBUG (MainThread) [custom_components.binmoe.queue] queue full, dropped "
        f"node-a/{BOOT}/9",
        "2026-12-03 07:50:02.000 WARNING (MainThread) [custom_components.binmoe] GPU tier refused escalation "
        f"node-a/{BOOT}/10: HTTP 422",
        "2026-12-03 07:50:02.000 WARNING (MainThread) [custom_components.binmoe] GPU tier refused queued "
        f"escalation node-a/{BOOT}/11, dropped: HTTP 422",
        "2026-12-03 07:50:02.000 INFO (MainThread) [custom_components.binmoe] something else entirely",
    )
    first = record.routed[0]
    assert first.ref == MessageRef("node-a", BOOT, 3)
    assert (first.kind, first.label, first.outcome, first.critical) == ("escalation", "smoke_alarm", "queued", True)
    assert first.at == pytest.approx(1796284201.25)  # 2026-12-03 07:50:01.250 UTC
    assert record.routed[1].outcome == "drop" and not record.routed[1].critical
    assert record.diagnosed == [MessageRef("node-a", BOOT, 3)]
    assert record.queue_dropped == [MessageRef("node-a", BOOT, 9)]
    assert [r.seq for r in record.refused] == [10, 11]


def test_log_time_needs_a_timestamp() -> None:
    assert log_time("routed x/0badc0de/1 detection knock: local") is None


def test_node_log_counts_every_message_the_node_made() -> None:
    lines = [
        "[07:50:01][D][binmoe:109]: Detection: knock (confidence 0.93, margin 9)",
        "[07:50:02][D][binmoe:109]: Escalation: doorbell (confidence 0.51, margin 1)",
        "[07:50:03][D][binmoe:109]: Escalation dropped (rate limit): doorbell (confidence 0.51, margin 1)",
        "\x1b[0;36m[D][binmoe:109]: Detection: smoke_alarm (confidence 0.97, margin 14)\x1b[0m",
        "[07:50:04][I][app:100]: ESPHome version 2026.10.0",
        "[07:50:05][D][binmoe:140]: Detection: co_alarm (temporal-four code)",  # an alarm recognised by its code
        "[07:50:06][D][binmoe:349]: Queued message 4 (no hub listening): 1 in the outbox",  # counted above
    ]
    assert count_node_log_messages(lines) == 4  # the node's own rate limit allocates no seq


def test_node_counts_by_sequence_number() -> None:
    routed = [
        (0, "detection knock: local"),
        (1, "escalation doorbell: diagnose"),
        (2, "escalation doorbell: queued"),
        (2, "escalation doorbell: queued"),  # delivered twice
        (4, "detection knock: drop"),
        (6, "escalation water_running: queued"),
        (7, "escalation water_running: queued"),
        (8, "escalation smoke_alarm: diagnose critical"),
        (10, "escalation appliance_beep: part_of_alarm"),  # within an alarm the node reported: not diagnosed
        (11, "escalation appliance_beep: diagnose"),
    ]
    record = hub_lines(
        *(PREFIX + f"routed node-a/{BOOT}/{seq} {rest}" for seq, rest in routed),
        PREFIX + f"routed other/{BOOT}/3 detection knock: local",  # another node
        PREFIX + "routed node-a/ffffffff/3 detection knock: local",  # an earlier boot of the same node
        PREFIX + f"diagnosed node-a/{BOOT}/1",
        PREFIX + f"diagnosed node-a/{BOOT}/8",
        PREFIX + f"queue full, dropped node-a/{BOOT}/6",
        PREFIX + f"GPU tier refused escalation node-a/{BOOT}/7: HTTP 422",
        PREFIX + f"part of an alarm: node-a/{BOOT}/11",  # taken back when the node reported the alarm
    )
    counts = node_counts("node-a", BOOT, 12, record)
    assert counts.sent == 12 and counts.received == 9 and counts.duplicates == 1
    assert counts.local == 1 and counts.escalated == 6 and counts.diagnosed == 2
    assert counts.still_queued == 1  # seq 2
    assert counts.dropped_by_policy == 5  # 4, 10 (router), 6 (full queue), 7 (refused), 11 (part of an alarm)
    assert counts.lost_seqs == [3, 5, 9] and counts.lost == 3 and counts.unknown == 0
    assert node_counts("node-a", BOOT, 8, record).unknown == 3  # seqs 8, 10, 11: beyond what the node made


def test_late_duplicate_and_recovered_messages_count_once_by_seq() -> None:
    """Store and forward (docs/protocol.md §1): a message from the node's outbox is logged with `queued N ms`,
    `recovered` when the hub had counted its seq as lost, and a second arrival of a seq as `duplicate`."""
    record = hub_lines(
        PREFIX + f"routed node-a/{BOOT}/0 detection knock: local",
        PREFIX + f"routed node-a/{BOOT}/2 detection knock: local",
        PREFIX + f"routed node-a/{BOOT}/1 escalation smoke_alarm: queued critical recovered queued 41200 ms",
        PREFIX + f"routed node-a/{BOOT}/2 detection knock: duplicate",
        PREFIX + f"routed node-a/{BOOT}/3 detection knock: local queued 800 ms",  # after a hub restart
    )
    late = record.routed[2]
    assert (late.outcome, late.critical, late.recovered, late.queued_ms) == ("queued", True, True, 41200)
    assert (record.routed[3].outcome, record.routed[3].queued_ms) == ("duplicate", None)
    assert (record.routed[4].recovered, record.routed[4].queued_ms) == (False, 800)
    counts = node_counts("node-a", BOOT, 4, record)
    assert (counts.received, counts.lost, counts.duplicates) == (4, 0, 1)
    assert (counts.late, counts.recovered, counts.local, counts.escalated) == (2, 1, 3, 1)


def test_lost_runs_and_their_faults() -> None:
    assert lost_runs([3, 4, 5, 9, 11, 12]) == [(3, 5), (9, 9), (11, 12)]
    faults = [Fault("HA restarted", 100, 160), Fault("broker restarted", 200, 203)]
    assert faults_during(150, 170, faults) == ["HA restarted"]
    assert faults_during(170, 190, faults) == []
    assert faults_during(90, 250, faults) == ["HA restarted", "broker restarted"]


def test_gap_window_is_between_the_neighbours_arrivals() -> None:
    record = hub_lines(
        f"2026-12-03 07:50:01.000 DEBUG (MainThread) [x] routed n/{BOOT}/1 detection knock: local",
        f"2026-12-03 07:50:31.000 DEBUG (MainThread) [x] routed n/{BOOT}/5 detection knock: local",
    )
    before, after = gap_window("n", BOOT, (2, 4), record)
    assert before is not None and after is not None and after - before == pytest.approx(30)
    assert gap_window("n", BOOT, (6, 7), record)[1] is None


def critical(seq: int, at: float, node: str = "n") -> Routed:
    return Routed(MessageRef(node, BOOT, seq), "detection", "smoke_alarm", "local", True, at)


def test_alarm_latency_matches_each_alarm_with_a_later_notification() -> None:
    alarms = [critical(1, 100.0), critical(2, 105.0), critical(3, 110.0), critical(4, 300.0)]
    seen = [("n", 100.012), ("other", 105.001), ("n", 105.030), ("n", 113.5)]
    watching = [(50.0, 200.0)]
    result = alarm_latency(alarms, seen, watching, limit_s=2.0)
    assert result.arrived == 4
    assert result.latencies_s == pytest.approx([0.012, 0.030])
    assert result.late_or_missing == 1  # seq 3: watched, seen only 3.5 s later
    assert result.unobserved == 1  # seq 4: nobody subscribed at 300 s
    assert result.within(2.0) == 2 and "max 30 ms" in result.summary()


def test_alarm_latency_tolerates_the_logs_millisecond_truncation() -> None:
    result = alarm_latency([critical(1, 100.0015)], [("n", 100.0005)], [(0.0, 200.0)])
    assert result.latencies_s == [0.0]


def test_mqtt_node_messages_follow_the_protocol() -> None:
    for seq in range(2 * len(PATTERN)):
        message = NodeMessage.model_validate(make_message("soak-mqtt", BOOT, seq, time.time()))
        assert message.seq == seq and message.class_ == PATTERN[seq % len(PATTERN)]["class"]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[int]:
    """A real mosquitto broker on a free loopback port."""
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(["mosquitto", "-c", str(config)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    yield port
    broker.terminate()
    broker.wait(10)


def announce(port: int, topic: str, payload: str, retain: bool = True) -> None:
    """Publish a hub status as Home Assistant's integration (or the MQTT bridge, or HA's will) would."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def subscribe_nodes(port: int, received: list[dict[str, Any]]) -> mqtt.Client:
    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2)
    subscriber.on_message = lambda _c, _u, msg: received.append(json.loads(msg.payload))
    subscriber.connect("127.0.0.1", port)
    subscriber.subscribe("binmoe/+/detection", qos=1)
    subscriber.subscribe("binmoe/+/escalation", qos=1)
    subscriber.loop_start()
    return subscriber


def wait_for(condition: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_mqtt_node_publishes_in_sequence_through_a_real_broker(mosquitto: int) -> None:
    received: list[dict[str, Any]] = []
    subscriber = subscribe_nodes(mosquitto, received)
    announce(mosquitto, HUB_STATUS_TOPIC, "online")  # a hub listens (retained)
    node = MqttNode("soak-mqtt", mosquitto, period_s=0.1)
    node.start()
    time.sleep(0.7)
    node.stop(flush_s=5)
    time.sleep(0.3)
    subscriber.loop_stop()
    assert len(node.sent) >= 4 and node.unacknowledged() == 0
    assert [m["seq"] for m in received] == [s.seq for s in node.sent]
    assert {m["boot"] for m in received} == {node.boot}
    assert node.fates()["queued"] <= 1  # at most the first, made before the retained status arrived


def test_mqtt_node_keeps_its_messages_until_a_hub_listens(mosquitto: int) -> None:
    """docs/protocol.md §4: nothing goes out before `online` on binmoe/hub/status; then the outbox, oldest first
    with queued_ms; `offline` on Home Assistant's will topic holds the node again."""
    received: list[dict[str, Any]] = []
    subscriber = subscribe_nodes(mosquitto, received)
    node = MqttNode("soak-mqtt", mosquitto, period_s=0.1)
    node.start()
    wait_for(lambda: len(node.sent) >= 5, 5)
    assert received == [] and all(s.queued for s in node.sent)
    announce(mosquitto, HUB_STATUS_TOPIC, "online")
    wait_for(lambda: len(received) >= 8, 5)
    first = [m for m in received if "queued_ms" in m]
    assert [m["seq"] for m in received[: len(first)]] == list(range(len(first)))  # the outbox first, in order
    assert len(first) >= 5 and first[0]["queued_ms"] > first[-1]["queued_ms"] >= 0
    assert all("queued_ms" not in m for m in received[len(first) :])  # then as they are made
    announce(mosquitto, HA_STATUS_TOPIC, "offline", retain=False)  # Home Assistant died (its will)
    time.sleep(0.3)
    count = len(received)
    wait_for(lambda: node.sent[-1].queued and len(node.outbox.held) >= 3, 5)
    assert len(received) <= count + 1  # at most one in flight when the will came
    announce(mosquitto, HUB_STATUS_TOPIC, "online")  # Home Assistant back
    node.stop(flush_s=5)
    wait_for(lambda: len(received) >= len(node.sent), 5)
    subscriber.loop_stop()
    assert sorted(m["seq"] for m in received) == [s.seq for s in node.sent]  # nothing lost, nothing twice
    fates = node.fates()
    assert fates["sent_at_once"] + fates["queued"] == len(node.sent)
    assert fates["sent_late"] == fates["queued"] and fates["dropped_from_full_outbox"] == 0


def test_outbox_is_bounded_oldest_first() -> None:
    outbox = Outbox(size=3)
    for seq in range(5):
        outbox.put({"seq": seq}, made=float(seq))
    assert outbox.dropped == [0, 1]  # the oldest go when it is full
    first = outbox.take(now=10.0)
    assert first == {"seq": 2, "queued_ms": 8000}
    assert [outbox.take(10.5), outbox.take(10.5), outbox.take(10.5)] == [
        {"seq": 3, "queued_ms": 7500},
        {"seq": 4, "queued_ms": 6500},
        None,
    ]
    assert outbox.late == [(2, 8000), (3, 7500), (4, 6500)]


def test_hub_status_follows_the_protocol() -> None:
    status = HubStatus()
    assert not status.listening  # nothing seen yet
    status.heard(HA_STATUS_TOPIC, b"online")
    assert not status.listening  # Home Assistant's birth alone: BinMoE may not be loaded
    status.heard(HUB_STATUS_TOPIC, b"online")
    assert status.listening
    status.heard(HA_STATUS_TOPIC, b"offline")
    assert not status.listening
    status.heard(HUB_STATUS_TOPIC, b"online")
    status.connected()  # a (re)connect: wait for `online` again
    assert not status.listening
    status.heard(HUB_STATUS_TOPIC, b"online")
    status.heard(HUB_STATUS_TOPIC, b"offline")
    assert not status.listening


async def read_or_reset(reader: asyncio.StreamReader) -> bytes:
    """What the relay sent, or b"" when it closed or reset the connection."""
    try:
        return await reader.read(100)
    except ConnectionResetError:
        return b""


async def test_relay_forwards_and_drops_connections() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    relay = DroppableRelay(free_port(), server.sockets[0].getsockname()[1])
    await relay.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.listen_port)
    writer.write(b"ping")
    assert await reader.read(100) == b"ping" and relay.active == 1
    relay.drop(refuse_s=0.5)
    assert await read_or_reset(reader) == b""  # the connection is gone
    refused_reader, _ = await asyncio.open_connection("127.0.0.1", relay.listen_port)
    assert await read_or_reset(refused_reader) == b""  # refused while the drop lasts
    await asyncio.sleep(0.6)
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.listen_port)
    writer.write(b"back")
    assert await reader.read(100) == b"back" and relay.connections == 2
    writer.close()
    await relay.stop()
    server.close()
