"""The hub: validates node messages, routes them by the user's policy, alerts at once for critical classes,
hands escalations to the GPU-tier link, and keeps the statistics and node list the entities show."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.setup import EventComponentLoaded
from homeassistant.util import dt as dt_util

from .backend import BackendLink
from .baseline_speeds import BaselineSpeedWatch
from .const import (
    DOMAIN,
    EVENT_DETECTION,
    EVENT_DIAGNOSIS,
    EVENT_DIAGNOSIS_WITHDRAWN,
    EVENT_ESCALATION,
    LOGGER,
    PROTOCOL_VERSION,
    hub_unique_id,
)
from .hub_status import async_track_hub_status
from .inputs import async_listen_esphome, async_subscribe_mqtt
from .protocol import InvalidMessage, NodeMessage, parse_message
from .queue import request_ref
from .router import Action, AlarmEpisode, Decision, Router, RouterPolicy
from .runtime import BinMoEConfigEntry
from .signals import signal_new_node, signal_node_message, signal_update

RECENT_SENT = 20  # earlier messages of the node sent with an escalation (the protocol's limit)
# hub bookkeeping; features and captures are large (only the escalation itself needs them)
RECENT_DROPPED_KEYS = (
    "type",
    "decision",
    "features",
    "feature_shape",
    "capture",
    "capture_rate",
    "capture_encoding",
)
LATE_ALARM_MS = 2000  # an alarm the node held in its outbox this long says when it was heard
# what binmoe_diagnosis_withdrawn repeats of the diagnosis it takes back (docs/protocol.md §3)
WITHDRAWN_KEYS = ("node_id", "seq", "class", "cause", "severity", "summary")
WITHDRAWN_REMEMBERED = 256  # escalations withdrawn as part of an alarm, so their diagnoses are recognised


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
    last_seen: datetime | None = None

    @property
    def escalated_share(self) -> float:
        """Escalations per message the node reported, in percent (not the node's own window-based rate)."""
        return 100.0 * self.escalations / self.messages if self.messages else 0.0


@dataclass
class HubStats:
    detections: int = 0
    handled_locally: int = 0
    escalations: int = 0
    diagnosed: int = 0
    ignored: int = 0
    dropped: int = 0
    part_of_alarm: int = 0  # escalations an alarm event covered: not diagnosed, or their diagnosis withdrawn
    bad_payloads: int = 0

    @property
    def local_share(self) -> float | None:
        """Of the messages routed to the node or the GPU tier, the share the node handled, in percent."""
        routed = self.handled_locally + self.escalations
        return 100.0 * self.handled_locally / routed if routed else None


class BinMoEHub:
    """One per config entry; lives in `entry.runtime_data.hub`."""

    def __init__(
        self, hass: HomeAssistant, entry: BinMoEConfigEntry, backend: BackendLink, policy: RouterPolicy
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.backend = backend
        self.router = Router(policy)
        self.stats = HubStats()
        self.nodes: dict[str, NodeInfo] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)  # node messages and diagnoses, newest last
        self.last_diagnosis: dict[str, Any] | None = None
        # per local day, for spoken answers such as "how many escalations today"
        self.escalations_by_day: Counter[date] = Counter()
        self.local_by_day: Counter[date] = Counter()
        self._bad_payload_logged: set[str] = set()
        # request_ref (node_id/boot/seq) of escalations withdrawn as part of an alarm -> that alarm's summary
        self._withdrawn: dict[str, dict[str, Any]] = {}
        self.baseline_speeds = BaselineSpeedWatch(hass)  # repair issues: anomalies at speeds a baseline never saw
        self._unsubs: list[CALLBACK_TYPE] = []
        self._stopped = False
        backend.on_result = self._publish_diagnosis

    async def async_start(self) -> None:
        self._unsubs.extend(async_listen_esphome(self.hass, self.handle_payload))
        self._unsubs.append(self.baseline_speeds.start())
        if "mqtt" in self.hass.config.components:
            await self._async_start_mqtt()
        else:  # MQTT set up after BinMoE (added later, e.g. in the UI): hear its nodes from then on
            self._unsubs.append(
                self.hass.bus.async_listen(EVENT_COMPONENT_LOADED, self._async_mqtt_loaded, event_filter=_is_mqtt)
            )

    async def _async_mqtt_loaded(self, _event: Event[EventComponentLoaded]) -> None:
        await self._async_start_mqtt()

    async def _async_start_mqtt(self) -> None:
        unsub = await async_subscribe_mqtt(self.hass, self.handle_payload, self.bad_payload)
        if unsub is not None and self._stopped:  # the entry was unloaded while MQTT connected
            unsub()
        elif unsub is not None:
            self._unsubs.extend((unsub, async_track_hub_status(self.hass)))

    @callback
    def async_stop(self) -> None:
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self.baseline_speeds.close()  # their fix flows need a loaded entry

    # ---- inputs ----------------------------------------------------------------------------------
    @callback
    def handle_payload(self, data: dict[str, Any]) -> None:
        """Validate and route one node message. Never raises into the event loop."""
        device_id = data.get("device_id")
        try:
            message = parse_message(data)
        except InvalidMessage as err:
            self.bad_payload(str(data.get("node_id", "unknown node")), str(err))
            return
        self._route(message, device_id if isinstance(device_id, str) else None)

    @callback
    def bad_payload(self, node: str, reason: str) -> None:
        self.stats.bad_payloads += 1
        if node not in self._bad_payload_logged:  # once per node, so a broken node cannot flood the log
            self._bad_payload_logged.add(node)
            LOGGER.warning("Invalid BinMoE payload from %s: %s (further ones are only counted)", node, reason)
        self._notify()

    def forget_node(self, node_id: str) -> None:
        """The user deleted the node's device; it comes back if the node reports again."""
        self.nodes.pop(node_id, None)
        self.baseline_speeds.resolved(node_id)

    # ---- routing ---------------------------------------------------------------------------------
    def _route(self, message: NodeMessage, device_id: str | None) -> None:
        decision = self.router.decide(message, time.monotonic())
        if decision.action is Action.DUPLICATE:  # routed when it first came: no event, alert or diagnosis again
            _log_routed(message, decision, "duplicate")
            return
        node = self.nodes.get(message.node_id)
        if node is None:
            node = self.nodes[message.node_id] = NodeInfo(message.node_id, message.task, message.model, device_id)
            async_dispatcher_send(self.hass, signal_new_node(self.entry.entry_id), node)
        node.messages += 1
        node.last_message = message
        node.last_seen = dt_util.utcnow()
        self.baseline_speeds.check(message)
        today = dt_util.now().date()
        payload = message.as_payload()
        kept = {k: v for k, v in payload.items() if k != "capture"}  # tens of KB, needed by this escalation only
        part_of_alarm = decision.alarm.summary() if decision.action is Action.PART_OF_ALARM and decision.alarm else None
        self.recent.append(
            {
                "type": message.kind,
                "decision": decision.action.value,
                **kept,
                **({"part_of_alarm": part_of_alarm} if part_of_alarm else {}),
            }
        )
        if message.kind == "detection":
            self.stats.detections += 1
        outcome = decision.action.value
        if decision.action is Action.LOCAL:
            self.stats.handled_locally += 1
            self.local_by_day[today] += 1
            self.hass.bus.async_fire(EVENT_DETECTION, {**payload, "handled_by": decision.handled_by})
        elif decision.action is Action.IGNORE:
            self.stats.ignored += 1
        elif decision.action is Action.DROP:
            self.stats.dropped += 1
        elif decision.action is Action.PART_OF_ALARM:
            self.stats.part_of_alarm += 1
            self.hass.bus.async_fire(
                EVENT_ESCALATION, {**payload, "decision": "part_of_alarm", "part_of_alarm": part_of_alarm}
            )
        else:
            node.escalations += 1
            self.stats.escalations += 1
            self.escalations_by_day[today] += 1
            request = {"v": PROTOCOL_VERSION, "escalation": payload, "context": self.diagnosis_context(node)}
            queued = self.backend.submit(request)
            outcome = "queued" if queued else "diagnose"
            self.hass.bus.async_fire(
                EVENT_ESCALATION,
                {**payload, "decision": "queued" if queued else "diagnose", "handled_by": decision.handled_by},
            )
        if decision.action in (Action.IGNORE, Action.DROP) and message.kind == "escalation":
            self.hass.bus.async_fire(
                EVENT_ESCALATION,
                {**payload, "decision": "ignored" if decision.action is Action.IGNORE else "dropped"},
            )
        if decision.alarm is not None and decision.action is not Action.PART_OF_ALARM:
            self._withdraw_fragments(decision.alarm)
        if decision.critical:  # also when over the rate limit: that limits diagnoses, never alerts
            notify_critical(self.hass, message)
        _log_routed(message, decision, outcome)
        async_dispatcher_send(self.hass, signal_node_message(self.entry.entry_id, message.node_id), message)
        self._notify()

    def _withdraw_fragments(self, alarm: AlarmEpisode) -> None:
        """The node's escalations routed before it reported the alarm, from the seconds the alarm covers, are
        the alarm heard before its pattern was complete: withdrawn from the queue, their diagnoses (made or
        still coming) marked `part_of_alarm` and no longer the last diagnosis (docs/integration.md)."""
        summary = alarm.summary()
        taken = [
            item
            for item in self.recent
            if item.get("decision") == Action.DIAGNOSE
            and not self.router.is_alarm_event(item["class"], item.get("event_windows"), item.get("alarm_code"))
            and alarm.takes(
                True,  # sent for a diagnosis: the node's escalation or a detection the hub escalated
                item.get("reason"),
                item["node_id"],
                item["boot"],
                item["uptime_ms"],
                item.get("alarm_active"),
            )
        ]
        if not taken:
            return
        for item in taken:
            item["decision"], item["part_of_alarm"] = Action.PART_OF_ALARM.value, summary
        refs = {request_ref({"escalation": item}) for item in taken}  # node_id/boot/seq
        self.stats.part_of_alarm += len(refs)
        for ref in refs:
            self._withdrawn[ref] = summary
        while len(self._withdrawn) > WITHDRAWN_REMEMBERED:
            del self._withdrawn[next(iter(self._withdrawn))]
        withdrawn = self.backend.withdraw(lambda request: request_ref(request) in refs)
        diagnosed = {(item["node_id"], item["seq"]) for item in taken}
        announced = []  # diagnoses a binmoe_diagnosis event already told of
        for item in self.recent:
            if item["type"] == "diagnosis" and (item.get("node_id"), item.get("seq")) in diagnosed:
                if "part_of_alarm" not in item:
                    announced.append(item)
                item["part_of_alarm"] = summary
        last = self.last_diagnosis
        if last is not None and (last.get("node_id"), last.get("seq")) in diagnosed:
            earlier = (
                item for item in reversed(self.recent) if item["type"] == "diagnosis" and "part_of_alarm" not in item
            )
            self.last_diagnosis = next(({k: v for k, v in item.items() if k != "type"} for item in earlier), None)
        for item in announced:  # after the hub holds its new last diagnosis, before the sensor shows it
            self._fire_withdrawn(item, summary)
        for ref in sorted(refs):  # one line each: the fault soak's ledger counts them
            LOGGER.debug("part of an alarm: %s", ref)
        LOGGER.debug("%d of them withdrawn from the queue", withdrawn)

    def _fire_withdrawn(self, diagnosis: dict[str, Any], alarm: dict[str, Any]) -> None:
        """Tell of a diagnosis already announced that turned out to be part of an alarm: the logbook then says
        why the *Last diagnosis* changes back (logbook.py), and automations can undo what they did."""
        data = {key: diagnosis[key] for key in WITHDRAWN_KEYS if key in diagnosis} | {"part_of_alarm": alarm}
        sensor = er.async_get(self.hass).async_get_entity_id(
            "sensor", DOMAIN, hub_unique_id(self.entry.entry_id, "last_diagnosis")
        )
        if sensor is not None:  # the logbook files the entry under it (a logbook card of that sensor shows it)
            data["entity_id"] = sensor
        self.hass.bus.async_fire(EVENT_DIAGNOSIS_WITHDRAWN, data)

    def diagnosis_context(self, node: NodeInfo) -> dict[str, Any]:
        """What the GPU tier's diagnosis expert weighs besides the escalation: where the node is, the local
        hour, and the node's earlier messages (it derives repetition, interval and duration from them)."""
        earlier = [item for item in self.recent if item.get("node_id") == node.node_id and item["type"] != "diagnosis"]
        recent = [
            {k: v for k, v in item.items() if k not in RECENT_DROPPED_KEYS}
            for item in earlier[-(RECENT_SENT + 1) : -1]  # the last one is the escalation itself
        ]
        context: dict[str, Any] = {"node_name": node.node_id, "local_hour": dt_util.now().hour, "recent": recent}
        if (area := self._area_name(node)) is not None:
            context["area"] = area
        return context

    def _area_name(self, node: NodeInfo) -> str | None:
        """The area of the node's device: its BinMoE device, else the ESPHome device it belongs to."""
        devices = dr.async_get(self.hass)
        candidates = [
            devices.async_get_device_by_identifier(
                (DOMAIN, f"{self.entry.entry_id}_{node.node_id}"), self.entry.entry_id
            ),
            devices.async_get(node.device_id) if node.device_id else None,
        ]
        areas = ar.async_get(self.hass)
        for device in candidates:
            area = areas.async_get_area(device.area_id) if device is not None and device.area_id else None
            if area is not None:
                return area.name
        return None

    def _publish_diagnosis(self, request: dict[str, Any], result: dict[str, Any]) -> None:
        self.stats.diagnosed += 1
        escalation = request.get("escalation") or {}
        self.baseline_speeds.diagnosed(escalation, result)
        data = {**result, "node_id": escalation.get("node_id"), "seq": escalation.get("seq")}
        data["class"] = result.get("class") or escalation.get("class")  # the teacher may have named another
        if (alarm := self._withdrawn.get(request_ref(request))) is not None:
            # asked for before the node reported the alarm it belongs to: kept in the history, not announced
            LOGGER.debug("diagnosed %s", request_ref(request))  # answered; part of the node's alarm: not published
            self.recent.append({"type": "diagnosis", **data, "part_of_alarm": alarm})
            self._notify()
            return
        self.last_diagnosis = data
        LOGGER.debug("diagnosed %s", request_ref(request))
        self.recent.append({"type": "diagnosis", **data})
        self.hass.bus.async_fire(EVENT_DIAGNOSIS, data)
        self._notify()

    def _notify(self) -> None:
        async_dispatcher_send(self.hass, signal_update(self.entry.entry_id))


def _log_routed(message: NodeMessage, decision: Decision, outcome: str) -> None:
    """One line per message with the node's own sequence number: what the fault soak counts
    (benchmarks/soak_ledger.py parses it; docs/benchmarks.md). `recovered`: its seq had been counted as lost;
    `queued N ms`: the node held it in its outbox that long (docs/protocol.md §1, "Store and forward")."""
    LOGGER.debug(
        "routed %s/%s/%d %s %s: %s%s%s%s",
        message.node_id,
        message.boot,
        message.seq,
        message.kind,
        message.label,
        outcome,
        " critical" if decision.critical else "",
        " recovered" if decision.recovered else "",
        f" queued {message.queued_ms} ms" if message.queued_ms is not None else "",
    )


@callback
def _is_mqtt(event_data: EventComponentLoaded) -> bool:
    return event_data["component"] == "mqtt"


def notify_critical(hass: HomeAssistant, message: NodeMessage) -> None:
    """Critical classes (smoke/CO) alert at once; the GPU tier's diagnosis, if any, follows later. A node's alarm
    event says the sound kept its pattern over seconds, not one window (docs/protocol.md §1)."""
    if message.alarm_code is not None:  # the alarm's standard pattern, not a model's probability
        code = "temporal-three (T3)" if message.alarm_code == "T3" else "temporal-four (T4)"
        detail = f"it sounded the {code} alarm pattern"
    else:
        pattern = ""
        if message.event_windows is not None and message.event_span_ms is not None:
            pattern = f"sounded in {message.event_windows} windows over the last {message.event_span_ms / 1000:.1f} s; "
        detail = f"{pattern}confidence {message.confidence:.0%}"
    late = ""
    if message.queued_ms is not None and message.queued_ms >= LATE_ALARM_MS:  # from the node's outbox
        ago = _ago(message.queued_ms)
        late = f" Heard {ago} ago and delivered late: Home Assistant could not hear the node then."
    persistent_notification.async_create(
        hass,
        f"Node **{message.node_id}** detected **{message.label.replace('_', ' ')}** ({detail}).{late}",
        title="BinMoE alarm",
        notification_id=f"{DOMAIN}_critical_{message.node_id}",
    )


def _ago(ms: int) -> str:
    seconds = round(ms / 1000)
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
