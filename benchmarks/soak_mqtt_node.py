"""The fault soak's MQTT node: a publisher that speaks the node protocol (docs/protocol.md §1, MQTT form) to a
real broker, as a non-ESPHome device would. ESPHome's host platform has no MQTT client here, so this stands in
for an MQTT node; it is the device under test's peer, not a double of a project component.

It behaves as docs/protocol.md §4 ("Hub status") asks of an MQTT node: it sends only while a hub listens (it has
seen `online` on `binmoe/hub/status` since its own (re)connect, and no `offline` there or on Home Assistant's
`homeassistant/status` since); otherwise it keeps what it makes in a bounded outbox (the oldest dropped when
full) and sends that, oldest first with `queued_ms`, as soon as a hub listens again. It publishes with QoS 1 and
records every message it made with its sequence number (the soak's "sent" for this node) and what became of it.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gpu_backend.mqtt_bridge import HUB_STATUS_TOPIC  # retained, by HA's integration or the bridge
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


HA_STATUS_TOPIC = "homeassistant/status"  # Home Assistant's birth and will (not retained)
OUTBOX_SIZE = 64


@dataclass(frozen=True)
class Sent:
    """One message the node made."""

    seq: int
    kind: str
    label: str
    at: float  # UNIX time it was made
    queued: bool = False  # no hub listened when it was made: it went to the outbox


@dataclass
class Outbox:
    """Messages made while no hub listened, oldest first; bounded (the oldest goes when it is full)."""

    size: int = OUTBOX_SIZE
    held: deque[tuple[dict[str, Any], float]] = field(default_factory=deque)  # (message, monotonic time made)
    dropped: list[int] = field(default_factory=list)  # seqs dropped because the outbox was full
    late: list[tuple[int, int]] = field(default_factory=list)  # (seq, queued_ms) of those sent from it

    def put(self, message: dict[str, Any], made: float) -> None:
        if len(self.held) >= self.size:
            self.dropped.append(self.held.popleft()[0]["seq"])
        self.held.append((message, made))

    def take(self, now: float) -> dict[str, Any] | None:
        """The oldest message, with how long it waited (`queued_ms`); None when empty."""
        if not self.held:
            return None
        message, made = self.held.popleft()
        queued_ms = max(0, int((now - made) * 1000))
        self.late.append((message["seq"], queued_ms))
        return {**message, "queued_ms": queued_ms}


class HubStatus:
    """Whether a hub listens, from the status topics as docs/protocol.md §4 defines it."""

    def __init__(self) -> None:
        self.listening = False

    def connected(self) -> None:
        self.listening = False  # until `online` is seen again on this connection (retained, or announced)

    def heard(self, topic: str, payload: bytes | bytearray) -> None:
        if payload == b"offline" and topic in (HUB_STATUS_TOPIC, HA_STATUS_TOPIC):
            self.listening = False
        elif payload == b"online" and topic == HUB_STATUS_TOPIC:
            self.listening = True


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
    """Makes one message every `period_s` from start() until stop(); reconnects by itself."""

    def __init__(self, node_id: str, broker_port: int, period_s: float, outbox_size: int = OUTBOX_SIZE) -> None:
        self.node_id = node_id
        self.boot = secrets.token_hex(4)
        self.period_s = period_s
        self.sent: list[Sent] = []
        self.outbox = Outbox(outbox_size)
        self.status = HubStatus()
        self._started = time.time()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{node_id}-{self.boot}")
        self._client.reconnect_delay_set(min_delay=1, max_delay=4)
        self._client.max_queued_messages_set(0)  # keep everything not yet acknowledged
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._client.connect_async("127.0.0.1", broker_port, keepalive=10)
        # message ids handed to the client, and those the broker acknowledged (PUBACK); the ack may come before
        # publish() returns, and paho calls on_publish holding its own lock: no lock of ours around publish()
        self._mids: set[int] = set()
        self._acked: set[int] = set()
        self._lock = threading.Lock()
        self._client.on_publish = self._acknowledged
        self._wake = threading.Event()  # the hub status changed: flush the outbox now
        self._stop = threading.Event()
        self._flush_until = 0.0  # after stop(): monotonic deadline for emptying the outbox
        self._thread = threading.Thread(target=self._run, name="soak-mqtt-node", daemon=True)

    def start(self) -> None:
        self._client.loop_start()
        self._thread.start()

    # paho's callbacks (its network thread): only the status changes here; publishing stays on our thread
    def _connected(self, client: mqtt.Client, _userdata: Any, _flags: Any, _reason: Any, _props: Any) -> None:
        self.status.connected()
        client.subscribe([(HUB_STATUS_TOPIC, 1), (HA_STATUS_TOPIC, 1)])

    def _disconnected(self, _client: mqtt.Client, _userdata: Any, *_args: Any) -> None:
        self.status.connected()

    def _message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.status.heard(message.topic, message.payload)
        self._wake.set()

    def _run(self) -> None:
        seq = 0
        next_at = time.monotonic() + self.period_s
        while True:
            now = time.monotonic()
            if self._stop.is_set():
                if not self.outbox.held or now >= self._flush_until:
                    return
            elif now >= next_at:
                self._make(seq)
                seq += 1
                next_at += self.period_s
            self._flush()
            self._wake.wait(max(0.0, min(next_at - time.monotonic(), 0.2)))
            self._wake.clear()

    def _make(self, seq: int) -> None:
        message = make_message(self.node_id, self.boot, seq, self._started)
        queued = not self.status.listening or bool(self.outbox.held)  # oldest first: behind what waits
        self.sent.append(Sent(seq, message["kind"], message["class"], time.time(), queued))
        if queued:
            self.outbox.put(message, time.monotonic())
        else:
            self._publish(message)

    def _flush(self) -> None:
        while self.status.listening and (message := self.outbox.take(time.monotonic())) is not None:
            self._publish(message)

    def _publish(self, message: dict[str, Any]) -> None:
        info = self._client.publish(f"binmoe/{self.node_id}/{message['kind']}", json.dumps(message), qos=1)
        with self._lock:
            self._mids.add(info.mid)

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

    def fates(self) -> dict[str, int]:
        """What became of the messages made: sent at once, queued in the outbox (then sent late, dropped when it
        was full, or still held)."""
        return {
            "sent_at_once": sum(1 for s in self.sent if not s.queued),
            "queued": sum(1 for s in self.sent if s.queued),
            "sent_late": len(self.outbox.late),
            "dropped_from_full_outbox": len(self.outbox.dropped),
            "still_in_outbox": len(self.outbox.held),
        }

    def stop(self, flush_s: float = 30.0) -> None:
        """Stop making messages; give the outbox and the client `flush_s` to deliver what they hold (a hub must
        listen for the outbox), then disconnect."""
        deadline = time.monotonic() + flush_s
        self._flush_until = deadline
        self._stop.set()
        self._wake.set()
        self._thread.join()
        while self.unacknowledged() and time.monotonic() < deadline:
            time.sleep(0.2)
        self._client.disconnect()
        self._client.loop_stop()
