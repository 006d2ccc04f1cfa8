"""MQTT bridge for deployments without Home Assistant (docs/protocol.md §4).

Subscribes to `binmoe/+/escalation` (QoS 1, persistent session), asks the gateway for a diagnosis and publishes it
to `binmoe/<node_id>/diagnosis` (QoS 1). It also reads `binmoe/+/detection` for each node's latest alarm event
report (a detection with `event_windows` or `alarm_code`) and sends it with the node's later escalations as
`context.recent`, so that the GPU tier diagnoses a window heard while the node's smoke or CO alarm sounds as that
alarm (docs/diagnosis.md), as it does for Home Assistant. A message is acknowledged to the broker only after its
diagnosis has been published (PUBACK received): if the bridge or the backend goes down in between, the broker
delivers the escalation again after the bridge reconnects. Like Home Assistant's integration it keeps the retained
hub status `binmoe/hub/status`: `online` once subscribed, `offline` (also its MQTT will) when it goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import ssl
from dataclasses import dataclass
from typing import Any

import aiomqtt
import httpx
from pydantic import ValidationError

from .protocol import NodeMessage

LOGGER = logging.getLogger(__name__)
ESCALATION_TOPIC = "binmoe/+/escalation"
DETECTION_TOPIC = "binmoe/+/detection"
MAX_NODES_REMEMBERED = 1024  # alarm reports kept, one per node (the oldest node's goes first)
# retained: MQTT nodes send only while it is `online` (docs/protocol.md §4, "Hub status"); the broker publishes
# the will `offline` when the bridge's connection dies
HUB_STATUS_TOPIC = "binmoe/hub/status"


class BackendUnavailable(Exception):
    """The gateway could not answer now; the escalation must stay unacknowledged."""


@dataclass
class BridgeSettings:
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    backend_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    client_id: str = "binmoe-bridge"
    username: str | None = None
    password: str | None = None
    diagnose_attempts: int = 3
    reconnect_max_s: float = 60.0
    # TLS to the broker: on when any of these is set (tls alone: the system's CAs); the broker's certificate
    # and host name are always verified
    tls: bool = False
    tls_ca: str | None = None  # CA file that signed the broker's certificate
    tls_cert: str | None = None  # client certificate (and key) for brokers that require one
    tls_key: str | None = None
    backend_ca: str | None = None  # CA file for an https gateway with a certificate of its own CA

    def tls_params(self) -> aiomqtt.TLSParameters | None:
        if not (self.tls or self.tls_ca or self.tls_cert):
            return None
        return aiomqtt.TLSParameters(ca_certs=self.tls_ca, certfile=self.tls_cert, keyfile=self.tls_key)

    def backend_verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=self.backend_ca) if self.backend_ca else True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default="127.0.0.1:1883", help="MQTT broker host:port")
    parser.add_argument("--backend", default="http://127.0.0.1:8000", help="BinMoE gateway URL")
    parser.add_argument("--api-key", default=os.environ.get("BINMOE_API_KEY"))
    parser.add_argument("--client-id", default="binmoe-bridge", help="MQTT client id (persistent session)")
    parser.add_argument("--username", default=os.environ.get("BINMOE_MQTT_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("BINMOE_MQTT_PASSWORD"))
    tls = parser.add_argument_group("TLS (the broker's certificate and host name are always verified)")
    tls.add_argument("--tls", action="store_true", help="connect to the broker with TLS (the system's CAs)")
    tls.add_argument("--tls-ca", help="CA file of the broker's certificate (implies --tls)")
    tls.add_argument("--tls-cert", help="client certificate file, for brokers that require one (implies --tls)")
    tls.add_argument("--tls-key", help="the client certificate's key file (if not in --tls-cert)")
    tls.add_argument("--backend-ca", help="CA file of an https gateway's certificate (default: the system's CAs)")


def run(args: argparse.Namespace) -> int:
    asyncio.run(run_bridge(settings_from_args(args)))
    return 0


def settings_from_args(args: argparse.Namespace) -> BridgeSettings:
    host, _, port = args.broker.rpartition(":")
    return BridgeSettings(
        broker_host=host or args.broker,
        broker_port=int(port) if host else 1883,
        backend_url=args.backend.rstrip("/"),
        api_key=args.api_key,
        client_id=args.client_id,
        username=args.username,
        password=args.password,
        tls=args.tls,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        backend_ca=args.backend_ca,
    )


@dataclass
class AlarmReports:
    """Each node's latest alarm event report: the context the GPU tier needs to tell that an escalation was made
    while the node's alarm sounded (the bridge sees no Home Assistant history)."""

    latest: dict[str, NodeMessage]

    def note(self, detection: NodeMessage) -> None:
        if not detection.reports_alarm_event:
            return
        self.latest.pop(detection.node_id, None)
        self.latest[detection.node_id] = detection
        while len(self.latest) > MAX_NODES_REMEMBERED:
            del self.latest[next(iter(self.latest))]

    def context(self, escalation: NodeMessage) -> dict[str, Any] | None:
        """`context` for the escalation's diagnosis: its node's latest report made before it in the same boot."""
        report = self.latest.get(escalation.node_id)
        if report is None or report.boot != escalation.boot or report.uptime_ms > escalation.uptime_ms:
            return None
        return {"recent": [report.model_dump(by_alias=True, exclude_none=True)]}


async def diagnose(
    http: httpx.AsyncClient, escalation: dict[str, Any], attempts: int, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST to the gateway; retry 429/503/connection errors, raise BackendUnavailable when they persist."""
    delay = 0.5
    body = {"v": 1, "escalation": escalation, **({"context": context} if context else {})}
    for attempt in range(1, attempts + 1):
        try:
            response = await http.post("/v1/binmoe/diagnose", json=body)
        except httpx.HTTPError as err:
            reason = f"{type(err).__name__}: {err}"
        else:
            if response.status_code == 200:
                result: dict[str, Any] = response.json()
                return result
            if response.status_code not in (429, 503):
                raise ValueError(f"gateway refused the escalation: HTTP {response.status_code} {response.text[:200]}")
            reason = f"HTTP {response.status_code}"
        if attempt < attempts:
            await asyncio.sleep(delay * (1 + random.random() * 0.1))
            delay *= 2
    raise BackendUnavailable(reason)


def parse_escalation(topic: str, payload: bytes) -> NodeMessage:
    """The escalation a message of `binmoe/<node_id>/escalation` carries; ValueError for anything else (a
    payload that is no valid escalation, or one whose node_id is not the topic's: a node speaks only for
    itself)."""
    return parse_message(topic, payload, "escalation")


def parse_message(topic: str, payload: bytes, kind: str) -> NodeMessage:
    """The node message of `kind` a message of `binmoe/<node_id>/<kind>` carries; ValueError for anything else."""
    try:
        message = NodeMessage.model_validate_json(payload)
    except ValidationError as err:
        raise ValueError(str(err)) from err
    if message.kind != kind:
        raise ValueError(f"kind is {message.kind!r}")
    if topic != f"binmoe/{message.node_id}/{kind}":
        raise ValueError(f"node_id {message.node_id!r} does not match the topic")
    return message


async def _handle(
    client: aiomqtt.Client, http: httpx.AsyncClient, message: aiomqtt.Message, attempts: int, alarms: AlarmReports
) -> None:
    payload = message.payload
    kind = "detection" if message.topic.value.endswith("/detection") else "escalation"
    try:
        if not isinstance(payload, bytes | bytearray):
            raise ValueError(f"payload of type {type(payload).__name__}")
        parsed = parse_message(message.topic.value, bytes(payload), kind)
    except ValueError as err:
        # It can never succeed: acknowledge so the broker does not redeliver it forever.
        LOGGER.warning("dropping invalid %s on %s: %s", kind, message.topic, err)
        _ack(client, message)
        return
    if kind == "detection":
        alarms.note(parsed)
        _ack(client, message)
        return
    escalation = parsed
    body = escalation.model_dump(by_alias=True, exclude_none=True)
    try:
        result = await diagnose(http, body, attempts, alarms.context(escalation))
    except ValueError as err:
        LOGGER.warning("escalation %s/%s refused: %s", escalation.node_id, escalation.seq, err)
        _ack(client, message)
        return
    result |= {"node_id": escalation.node_id, "seq": escalation.seq}
    await client.publish(f"binmoe/{escalation.node_id}/diagnosis", json.dumps(result), qos=1)
    _ack(client, message)
    LOGGER.info("diagnosed %s/%s: %s", escalation.node_id, escalation.seq, result.get("cause"))


def _ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    # aiomqtt has no manual-ack API; paho (underneath) does. Safe: paho queues it on its own loop.
    client._client.ack(message.mid, message.qos)


async def run_bridge(settings: BridgeSettings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever), reconnecting with exponential backoff."""
    stop = stop or asyncio.Event()
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    backoff = 1.0
    verify = settings.backend_verify()
    alarms = AlarmReports({})
    async with httpx.AsyncClient(base_url=settings.backend_url, headers=headers, timeout=300, verify=verify) as http:
        while not stop.is_set():
            client = aiomqtt.Client(
                settings.broker_host,
                settings.broker_port,
                identifier=settings.client_id,
                clean_session=False,  # keep unacknowledged escalations across reconnects
                username=settings.username,
                password=settings.password,
                tls_params=settings.tls_params(),
                will=aiomqtt.Will(HUB_STATUS_TOPIC, "offline", qos=1, retain=True),
            )
            client._client.manual_ack_set(True)
            try:
                async with client:
                    await client.subscribe(ESCALATION_TOPIC, qos=1)  # returns on the broker's SUBACK
                    await client.subscribe(DETECTION_TOPIC, qos=1)
                    await client.publish(HUB_STATUS_TOPIC, "online", qos=1, retain=True)
                    LOGGER.info("bridge subscribed to %s on %s", ESCALATION_TOPIC, settings.broker_host)
                    backoff = 1.0
                    reader = asyncio.create_task(_consume(client, http, settings, alarms))
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    stopper.cancel()
                    if reader.done():
                        reader.result()  # re-raises what ended the consumer (broker lost, backend down)
                    else:
                        reader.cancel()
                        # a clean disconnect sends no will: say it ourselves
                        await client.publish(HUB_STATUS_TOPIC, "offline", qos=1, retain=True)
            except (aiomqtt.MqttError, BackendUnavailable) as err:
                LOGGER.warning("bridge: %s; reconnecting in %.0f s", err, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, settings.reconnect_max_s)


async def _consume(
    client: aiomqtt.Client, http: httpx.AsyncClient, settings: BridgeSettings, alarms: AlarmReports
) -> None:
    async for message in client.messages:
        await _handle(client, http, message, settings.diagnose_attempts, alarms)
