"""The hub: receives node messages (ESPHome events, MQTT), routes them, diagnoses escalations, queues them
while the GPU tier is down, and keeps the statistics the entities show."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .api import BinMoEClient, BinMoEError, CannotConnect
from .const import (
    DOMAIN,
    ESPHOME_EVENT_DETECTION,
    ESPHOME_EVENT_ESCALATION,
    EVENT_DETECTION,
    EVENT_DIAGNOSIS,
    EVENT_ESCALATION,
    ISSUE_BACKEND_DOWN,
    LOGGER,
    MQTT_TOPIC,
    PROTOCOL_VERSION,
    REPLAY_INTERVAL,
)
from .protocol import InvalidMessage, NodeMessage, parse_message
from .queue import EscalationQueue
from .router import Action, Router, RouterPolicy


def notify_critical(hass: HomeAssistant, message: NodeMessage) -> None:
    """Critical classes (smoke/CO) alert at once; the GPU tier's diagnosis, if any, follows later."""
    persistent_notification.async_create(
        hass,
        f"Node **{message.node_id}** detected **{message.label.replace('_', ' ')}** "
        f"(confidence {message.confidence:.0%}).",
        title="BinMoE alarm",
        notification_id=f"{DOMAIN}_critical_{message.node_id}",
    )


def signal_update(entry_id: str) -> str:
    """Dispatcher signal: statistics changed."""
    return f"{DOMAIN}_{entry_id}_update"


def signal_new_node(entry_id: str) -> str:
    """Dispatcher signal: a node reported for the first time (dynamic devices)."""
    return f"{DOMAIN}_{entry_id}_new_node"


def signal_node_message(entry_id: str, node_id: str) -> str:
    return f"{DOMAIN}_{entry_id}_node_{node_id}"


@dataclass
class NodeInfo:
    """What the hub knows about one node."""

    node_id: str
    task: str
    model: str
    device_id: str | None = None
    messages: int = 0
    escalations: int = 0
    last_message: NodeMessage | None = None

    @property
    def escalation_rate(self) -> float:
        return 100.0 * self.escalations / self.messages if self.messages else 0.0


@dataclass
class HubStats:
    detections: int = 0
    handled_locally: int = 0
    escalations: int = 0
    diagnosed: int = 0
    ignored: int = 0
    dropped: int = 0
    bad_payloads: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))

    def latency_percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


class BinMoEHub:
    """One per config entry; lives in `entry.runtime_data.hub`."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        client: BinMoEClient,
        policy: RouterPolicy,
        queue: EscalationQueue,
        repair_after_min: float,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.router = Router(policy)
        self.queue = queue
        self.repair_after_s = repair_after_min * 60
        self.stats = HubStats()
        self.nodes: dict[str, NodeInfo] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)  # node messages and diagnoses, newest last
        self.last_diagnosis: dict[str, Any] | None = None
        self.backend_online = True
        self.down_since: float | None = None
        self._bad_payload_logged: set[str] = set()
        self._unsubs: list[Callable[[], None]] = []
        self._replaying = False

    # ---- lifecycle -------------------------------------------------------------------------------
    async def async_start(self) -> None:
        for event_type in (ESPHOME_EVENT_DETECTION, ESPHOME_EVENT_ESCALATION):
            self._unsubs.append(self.hass.bus.async_listen(event_type, self._handle_esphome_event))
        self._unsubs.append(async_track_time_interval(self.hass, self._async_tick, timedelta(seconds=REPLAY_INTERVAL)))
        if "mqtt" in self.hass.config.components:
            await self._async_subscribe_mqtt()
        if len(self.queue):
            self.entry.async_create_background_task(self.hass, self.async_replay(), "binmoe replay")

    async def _async_subscribe_mqtt(self) -> None:
        from homeassistant.components import mqtt

        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            LOGGER.warning("MQTT is configured but not connected; BinMoE MQTT nodes are not received")
            return

        @callback
        def _on_message(msg: mqtt.ReceiveMessage) -> None:
            parts = msg.topic.split("/")
            if len(parts) != 3 or parts[2] not in ("detection", "escalation"):
                return  # e.g. binmoe/<node>/diagnosis published by the MQTT bridge
            try:
                data = json.loads(msg.payload)
            except ValueError:
                self._bad_payload(parts[1], "payload is not JSON")
                return
            if not isinstance(data, dict) or data.get("node_id") != parts[1] or data.get("kind") != parts[2]:
                self._bad_payload(parts[1], "node_id/kind do not match the topic")
                return
            self.handle_payload(data)

        self._unsubs.append(await mqtt.async_subscribe(self.hass, MQTT_TOPIC, _on_message, qos=1))

    async def async_stop(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        await self.queue.async_flush()

    # ---- inputs ----------------------------------------------------------------------------------
    @callback
    def _handle_esphome_event(self, event: Event) -> None:
        self.handle_payload(dict(event.data))

    def _bad_payload(self, node: str, reason: str) -> None:
        self.stats.bad_payloads += 1
        if node not in self._bad_payload_logged:  # once per node, so a broken node cannot flood the log
            self._bad_payload_logged.add(node)
            LOGGER.warning("Invalid BinMoE payload from %s: %s (further ones are only counted)", node, reason)
        self._notify()

    @callback
    def handle_payload(self, data: dict[str, Any]) -> None:
        """Validate and route one node message. Never raises into the event loop."""
        device_id = data.get("device_id")
        try:
            message = parse_message(data)
        except InvalidMessage as err:
            self._bad_payload(str(data.get("node_id", "unknown node")), str(err))
            return
        self._route(message, device_id if isinstance(device_id, str) else None)

    # ---- routing ---------------------------------------------------------------------------------
    def _route(self, message: NodeMessage, device_id: str | None) -> None:
        node = self.nodes.get(message.node_id)
        if node is None:
            node = self.nodes[message.node_id] = NodeInfo(message.node_id, message.task, message.model, device_id)
            async_dispatcher_send(self.hass, signal_new_node(self.entry.entry_id), node)
        node.messages += 1
        node.last_message = message
        decision = self.router.decide(message, time.monotonic())
        payload = message.as_payload()
        self.recent.append({"type": message.kind, "decision": decision.action.value, **payload})
        if message.kind == "detection":
            self.stats.detections += 1
        if decision.action is Action.LOCAL:
            self.stats.handled_locally += 1
            self.hass.bus.async_fire(EVENT_DETECTION, {**payload, "handled_by": decision.handled_by})
        elif decision.action is Action.IGNORE:
            self.stats.ignored += 1
        elif decision.action is Action.DROP:
            self.stats.dropped += 1
        else:
            node.escalations += 1
            self.stats.escalations += 1
            queued = not self.backend_online or len(self.queue) > 0  # keep the order behind the queue
            self.hass.bus.async_fire(
                EVENT_ESCALATION,
                {
                    **payload,
                    "decision": "queued" if queued else "diagnose",
                    "handled_by": decision.handled_by,
                },
            )
            request = {"v": PROTOCOL_VERSION, "escalation": payload}
            if queued:
                self.queue.push(request)
            else:
                self.entry.async_create_background_task(
                    self.hass, self._async_diagnose_now(request), f"binmoe diagnose {message.node_id}"
                )
        if decision.action in (Action.IGNORE, Action.DROP) and message.kind == "escalation":
            self.hass.bus.async_fire(
                EVENT_ESCALATION,
                {**payload, "decision": "ignored" if decision.action is Action.IGNORE else "dropped"},
            )
        if decision.critical and decision.action is not Action.DROP:
            self._notify_critical(message)
        async_dispatcher_send(self.hass, signal_node_message(self.entry.entry_id, message.node_id), message)
        self._notify()

    def _notify_critical(self, message: NodeMessage) -> None:
        notify_critical(self.hass, message)

    # ---- diagnosis, queue, backend state -------------------------------------------------------------
    async def _async_call(self, request: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        result = await self.client.async_diagnose(request)
        self.stats.latencies_ms.append((time.perf_counter() - started) * 1000)
        return result

    async def _async_diagnose_now(self, request: dict[str, Any]) -> None:
        try:
            result = await self._async_call(request)
        except CannotConnect as err:
            LOGGER.info("GPU tier unreachable (%s); escalation queued", err)
            self._set_backend_online(False)
            self.queue.push(request)
            self._notify()
            return
        except BinMoEError as err:
            LOGGER.warning("GPU tier refused an escalation: %s", err)
            return
        self._set_backend_online(True)
        self._publish_diagnosis(request, result)

    async def async_diagnose(self, request: dict[str, Any]) -> dict[str, Any]:
        """Service call path: ask now, raise on failure (no queueing)."""
        try:
            result = await self._async_call(request)
        except CannotConnect:
            self._set_backend_online(False)
            raise
        self._set_backend_online(True)
        self._publish_diagnosis(request, result)
        return result

    def _publish_diagnosis(self, request: dict[str, Any], result: dict[str, Any]) -> None:
        self.stats.diagnosed += 1
        escalation = request.get("escalation") or {}
        data = {**result, "node_id": escalation.get("node_id"), "seq": escalation.get("seq")}
        data["class"] = escalation.get("class")
        self.last_diagnosis = data
        self.recent.append({"type": "diagnosis", **data})
        self.hass.bus.async_fire(EVENT_DIAGNOSIS, data)
        self._notify()

    async def async_replay(self) -> int:
        """Send queued escalations in order until the queue is empty or the backend fails again."""
        if self._replaying:
            return 0
        self._replaying = True
        sent = 0
        try:
            while (request := self.queue.peek()) is not None:
                try:
                    result = await self._async_call(request)
                except CannotConnect:
                    self._set_backend_online(False)
                    break
                except BinMoEError as err:
                    LOGGER.warning("dropping a queued escalation the GPU tier refused: %s", err)
                    self.queue.pop()
                    continue
                self.queue.pop()
                sent += 1
                self._set_backend_online(True)
                self._publish_diagnosis(request, result)
        finally:
            self._replaying = False
            self._notify()
        return sent

    async def _async_tick(self, _now: Any = None) -> None:
        if len(self.queue):
            await self.async_replay()
        elif not self.backend_online:
            try:
                await self.client.async_get_info()
            except BinMoEError:
                pass
            else:
                self._set_backend_online(True)
        self._check_repair()

    def _set_backend_online(self, online: bool) -> None:
        if online == self.backend_online:
            return
        self.backend_online = online
        if online:
            LOGGER.info("GPU tier at %s is reachable again", self.client.url)
            self.down_since = None
            ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_BACKEND_DOWN}_{self.entry.entry_id}")
        else:
            LOGGER.warning("GPU tier at %s is unreachable", self.client.url)
            self.down_since = time.monotonic()
        self._notify()

    def _check_repair(self) -> None:
        if self.down_since is None or time.monotonic() - self.down_since < self.repair_after_s:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_BACKEND_DOWN}_{self.entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_BACKEND_DOWN,
            translation_placeholders={
                "url": self.client.url,
                "minutes": str(int(self.repair_after_s // 60)),
                "queued": str(len(self.queue)),
            },
        )

    def _notify(self) -> None:
        async_dispatcher_send(self.hass, signal_update(self.entry.entry_id))
