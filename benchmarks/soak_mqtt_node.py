"""The fault soak's MQTT node: a publisher that speaks the node protocol (docs/protocol.md §1, MQTT form) to a
real broker, as a non-ESPHome device would. ESPHome's host platform has no MQTT client here, so this stands in
for an MQTT node; it is the device under test's peer, not a double of a project component.

Like a device with paho's client it publishes with QoS 1 and keeps what the broker has not acknowledged
(also what it made while the broker was away) to send after it reconnects. It records every message it
made with its sequence number: the soak's "sent" for this node.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gpu_backend.protocol import NodeMessage
from node_factory.corpus.synth import SOUND_CLASSES

# One message per tick, in this order: a confident detection, a low-margin escalation, a smoke alarm
# (critical), an escalate-class escalation.
PATTERN: tuple[dict[str, Any], ...] = (
    {"kind": "detection", "class": "knock", "margin": 9, "confidence": 0.93},
    {"kind": "escalation", "class": "doorbell", "margin": 1, "confidence": 0.55, "reason": "low_margin"},
    {"kind": "detection", "class": "smoke_alarm", "margin": 12, "confidence": 0.96},
    {"kind": "escalation", "class": "water_running", "margin": 4, "confidence": 0.7, "reason": "escalate_class"},
)


@dataclass(frozen=True)
class Sent:
    """One message the node made."""

    seq: int
    kind: str
    label: str
    at: float  # UNIX time it was made (and handed to the MQTT client)


def make_message(node_id: str, boot: str, seq: int, started: float) -> dict[str, Any]:
    """The protocol message number `seq`, checked against the reference schema."""
    shape = PATTERN[seq % len(PATTERN)]
    class_idx = SOUND_CLASSES.index(shape["class"])
    scores = [0] * len(SOUND_CLASSES)
    scores[class_idx] = shape["margin"]
    message = {
        "v": 1,
        "node_id": node_id,
        "task": "sound",
        "boot": boot,
        "seq": seq,
        "uptime_ms": int((time.time() - started) * 1000),
        "class_idx": class_idx,
        "scores": scores,
        "model": "sound-v1",
        "model_hash": "5be0a1c3",
        "level_db": -23.5,
        **shape,
    }
    NodeMessage.model_validate(message)  # raises if the soak's node would break the protocol
    return message


class MqttNode:
    """Publishes one message every `period_s` from start() until stop(); reconnects by itself."""

    def __init__(self, node_id: str, broker_port: int, period_s: float) -> None:
        self.node_id = node_id
        self.boot = secrets.token_hex(4)
        self.period_s = period_s
        self.sent: list[Sent] = []
        self._started = time.time()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{node_id}-{self.boot}")
        self._client.reconnect_delay_set(min_delay=1, max_delay=4)
        self._client.max_queued_messages_set(0)  # keep everything not yet acknowledged
        self._client.connect_async("127.0.0.1", broker_port, keepalive=10)
        # message ids handed to the client, and those the broker acknowledged (PUBACK); the ack may come before
        # publish() returns, and paho calls on_publish holding its own lock: no lock of ours around publish()
        self._mids: set[int] = set()
        self._acked: set[int] = set()
        self._lock = threading.Lock()
        self._client.on_publish = self._acknowledged
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-mqtt-node", daemon=True)

    def start(self) -> None:
        self._client.loop_start()
        self._thread.start()

    def _run(self) -> None:
        seq = 0
        while not self._stop.wait(self.period_s):
            message = make_message(self.node_id, self.boot, seq, self._started)
            topic = f"binmoe/{self.node_id}/{message['kind']}"
            self.sent.append(Sent(seq, message["kind"], message["class"], time.time()))
            info = self._client.publish(topic, json.dumps(message), qos=1)
            with self._lock:
                self._mids.add(info.mid)
            seq += 1

    def drop_connection(self) -> None:
        """Cut the TCP connection under the client (no DISCONNECT packet), as a network fault would."""
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)

    def _acknowledged(self, _client: mqtt.Client, _userdata: Any, mid: int, *_args: Any) -> None:
        with self._lock:
            self._acked.add(mid)

    def unacknowledged(self) -> int:
        with self._lock:
            return len(self._mids - self._acked)

    def stop(self, flush_s: float = 30.0) -> None:
        """Stop making messages; give the client `flush_s` to deliver what it holds, then disconnect."""
        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + flush_s
        while self.unacknowledged() and time.monotonic() < deadline:
            time.sleep(0.2)
        self._client.disconnect()
        self._client.loop_stop()
