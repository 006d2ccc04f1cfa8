"""The GPU tier as the hub sees it: reachable or not, what it serves, and the escalations waiting for it.

Nothing else in the integration needs the GPU tier: the entry loads while it is down, escalations wait in
the persisted queue and are replayed in order when it answers again, and a repair issue appears when it
stays away longer than the configured time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval

from .api import BackendInfo, BinMoEClient, BinMoEError, CannotConnect, InvalidAuth
from .const import DOMAIN, ISSUE_BACKEND_DOWN, LOGGER, REPLAY_INTERVAL
from .queue import EscalationQueue, request_ref
from .runtime import BinMoEConfigEntry
from .signals import signal_update

type ResultListener = Callable[[dict[str, Any], dict[str, Any]], None]


class BackendLink:
    """One per config entry. `on_result(request, diagnosis)` is called for every diagnosis that arrives."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: BinMoEConfigEntry,
        client: BinMoEClient,
        queue: EscalationQueue,
        repair_after_min: float,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.client = client
        self.queue = queue
        self.repair_after_s = repair_after_min * 60
        self.info: BackendInfo | None = None  # None until the GPU tier has answered once
        self.online = True
        self.down_since: float | None = None
        self.latencies_ms: deque[float] = deque(maxlen=200)
        self.on_result: ResultListener = lambda _request, _result: None
        self._unsub_tick: Callable[[], None] | None = None
        self._replaying = False
        self._in_flight: set[asyncio.Task[None]] = set()  # diagnoses asked for now, not yet answered

    # ---- lifecycle -------------------------------------------------------------------------------
    async def async_connect(self) -> None:
        """First contact at set-up. Only a rejected key is an error; an unreachable GPU tier is a state."""
        try:
            self._set_info(await self.client.async_get_info())
        except InvalidAuth:
            raise
        except BinMoEError as err:
            self._set_online(False, str(err))

    @callback
    def async_start(self) -> None:
        """Check on the GPU tier periodically; send what the queue holds if it answers."""
        self._unsub_tick = async_track_time_interval(
            self.hass, self._async_tick, timedelta(seconds=REPLAY_INTERVAL), cancel_on_shutdown=True
        )
        if len(self.queue) and self.online:
            self.entry.async_create_background_task(self.hass, self.async_replay(), "binmoe replay")

    async def async_stop(self) -> None:
        """Unload: diagnoses still in flight go back into the queue before it is written to disk."""
        if self._unsub_tick is not None:
            self._unsub_tick()
            self._unsub_tick = None
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.queue.async_flush()

    # ---- diagnoses -------------------------------------------------------------------------------
    def submit(self, request: dict[str, Any]) -> bool:
        """Ask for a diagnosis now, or queue it (GPU tier down, or others wait before it). True if queued."""
        if not self.online or len(self.queue):
            self.queue.push(request)
            self._notify()
            return True
        escalation = request.get("escalation") or {}
        task = self.entry.async_create_background_task(
            self.hass, self._async_diagnose_now(request), f"binmoe diagnose {escalation.get('node_id')}"
        )
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return False

    async def async_diagnose(self, request: dict[str, Any]) -> dict[str, Any]:
        """Service call path: ask now and raise on failure (nothing is queued)."""
        return await self._async_call(request)

    async def _async_call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One diagnosis: records what the answer says about the GPU tier (online, offline, key rejected),
        publishes the result, and raises the client's errors."""
        started = time.perf_counter()
        try:
            result = await self.client.async_diagnose(request)
        except CannotConnect as err:
            self._set_online(False, str(err))
            raise
        except InvalidAuth:
            self._auth_failed()
            raise
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        self._set_online(True)
        self.on_result(request, result)
        return result

    async def _async_diagnose_now(self, request: dict[str, Any]) -> None:
        try:
            await self._async_call(request)
        except asyncio.CancelledError:
            # Home Assistant stops (or the entry unloads) while the GPU tier works on it: the escalation goes
            # back into the queue, which is written to disk on the way out, and is sent after the next start.
            self.queue.push_front(request)
            raise
        except CannotConnect, InvalidAuth:
            self.queue.push(request)  # kept for when the GPU tier answers (or the new key is entered)
            self._notify()
        except BinMoEError as err:
            LOGGER.warning("GPU tier refused escalation %s: %s", request_ref(request), err)

    async def async_replay(self) -> int:
        """Send queued escalations in order until the queue is empty or the GPU tier fails again."""
        if self._replaying:
            return 0
        self._replaying = True
        sent = 0
        try:
            while (request := self.queue.peek()) is not None:
                try:
                    await self._async_call(request)
                except CannotConnect, InvalidAuth:
                    break
                except BinMoEError as err:
                    LOGGER.warning("GPU tier refused queued escalation %s, dropped: %s", request_ref(request), err)
                else:
                    sent += 1
                if self.queue.peek() is request:  # not withdrawn while it was being sent
                    self.queue.pop()
        finally:
            self._replaying = False
            self._notify()
        return sent

    def withdraw(self, predicate: Callable[[dict[str, Any]], bool]) -> int:
        """Take the queued escalations `predicate` picks out of the queue (diagnoses no longer wanted); one
        in flight is answered all the same (the hub recognises it). Returns how many were queued."""
        withdrawn = self.queue.remove_if(predicate)
        if withdrawn:
            self._notify()
        return withdrawn

    def clear_queue(self) -> int:
        """Discard every queued escalation; returns how many."""
        cleared = self.queue.clear()
        self._notify()
        return cleared

    def latency_percentile(self, q: float) -> float | None:
        """Of the last 200 diagnosis calls, in milliseconds."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)

    # ---- state -----------------------------------------------------------------------------------
    async def _async_tick(self, _now: datetime | None = None) -> None:
        if len(self.queue):
            await self.async_replay()  # the real test of the GPU tier: a diagnosis, not only /health
        elif not self.online or self.info is None:
            with contextlib.suppress(BinMoEError):
                await self.async_refresh_info()
        self._check_repair()

    async def async_refresh_info(self) -> BackendInfo:
        """Ask the GPU tier what it serves now; raises the client's errors after recording the state."""
        try:
            info = await self.client.async_get_info()
        except InvalidAuth:
            self._auth_failed()
            raise
        except BinMoEError as err:
            self._set_online(False, str(err))
            raise
        self._set_info(info)
        return info

    def _set_info(self, info: BackendInfo) -> None:
        if self.info is not None and info.model != self.info.model:
            LOGGER.info("The BinMoE GPU tier now serves %s (was %s)", info.model, self.info.model)
        self.info = info
        registry = dr.async_get(self.hass)
        if device := registry.async_get_device_by_identifier((DOMAIN, self.entry.entry_id), self.entry.entry_id):
            registry.async_update_device(device.id, model=info.model)
        if info.gateway_id and self.entry.unique_id != info.gateway_id:
            # the gateway's own id, so that its zeroconf announcements are recognised (discovery.py)
            self.hass.config_entries.async_update_entry(self.entry, unique_id=info.gateway_id)
        self._set_online(True)

    def _auth_failed(self) -> None:
        """The key was rotated: stop using the GPU tier and ask the user for the new key (reauth)."""
        self._set_online(False, "it rejected the API key")
        self.entry.async_start_reauth(self.hass)

    def _set_online(self, online: bool, reason: str = "") -> None:
        """Log once when the GPU tier goes away and once when it is back (not on every failed call)."""
        if online == self.online:
            return
        self.online = online
        if online:
            LOGGER.info("GPU tier at %s is reachable again", self.client.url)
            self.down_since = None
            ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_BACKEND_DOWN}_{self.entry.entry_id}")
        else:
            LOGGER.warning(
                "GPU tier at %s is unreachable%s; routing and critical alerts go on, escalations are queued",
                self.client.url,
                f" ({reason})" if reason else "",
            )
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
