"""The fault soak's view of Home Assistant: set-up through the real onboarding and config flows (the demo's
helpers, scripts/lib/demo_setup.py), REST calls with a long-lived token, and a websocket client that sees
BinMoE's critical-alarm notifications as a dashboard would."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
CRITICAL_PREFIX = "binmoe_critical_"  # hub.py: notification_id of a node's critical alarm


def demo_setup() -> ModuleType:
    """scripts/lib/demo_setup.py (not a package: loaded from its path, with its neighbours importable)."""
    lib = REPO / "scripts" / "lib"
    if str(lib) not in sys.path:
        sys.path.insert(0, str(lib))
    spec = importlib.util.spec_from_file_location("demo_setup", lib / "demo_setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Hass:
    """REST and websocket access to one Home Assistant at `url` (its token survives restarts)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = ""
        self.setup = demo_setup()

    async def onboard(self) -> None:
        """Onboarding (the demo's helper), then a long-lived token: the soak outlives a 30-minute one."""
        await asyncio.to_thread(self.setup.wait_for, f"{self.url}/api/onboarding", 180)
        session = await asyncio.to_thread(self.setup.onboard, self.url, "soak", "binmoe-soak")
        short = session.token
        session.close()
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{self.url}/api/websocket") as ws:
            await _auth(ws, short)
            await ws.send_json({"id": 1, "type": "auth/long_lived_access_token", "client_name": "soak", "lifespan": 1})
            reply = await ws.receive_json()
            if not reply.get("success"):
                raise SystemExit(f"no long-lived token: {reply}")
            self.token = str(reply["result"])
            # Home Assistant 2026.x stages the YAML `http:` port as a pending config and, unless a user
            # confirms it within 5 minutes, restarts on the stable one (port 8123): confirm it, as a user would
            await ws.send_json({"id": 2, "type": "http/config/promote"})
            reply = await ws.receive_json()
            if not reply.get("success"):
                raise SystemExit(f"could not confirm Home Assistant's HTTP config: {reply}")

    async def flow(self, handler: str, data: dict[str, Any]) -> None:
        session = self.setup.HomeAssistant(self.url, self.token)
        try:
            await asyncio.to_thread(self.setup.start_flow, session, handler, data)
            await asyncio.to_thread(self.setup.wait_loaded, session, handler, 120)
        finally:
            session.close()

    async def get(self, path: str) -> Any:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"}) as session,
            session.get(f"{self.url}{path}", timeout=aiohttp.ClientTimeout(total=30)) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def post(self, path: str, data: dict[str, Any]) -> Any:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"}) as session,
            session.post(f"{self.url}{path}", json=data, timeout=aiohttp.ClientTimeout(total=30)) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def entries_loaded(self, domains: tuple[str, ...]) -> bool:
        try:
            entries = await self.get("/api/config/config_entries/entry")
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        states = {e["domain"]: e["state"] for e in entries}
        return all(states.get(domain) == "loaded" for domain in domains)

    async def has_service(self, domain: str, service: str) -> bool:
        try:
            services = await self.get("/api/services")
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False
        return any(d["domain"] == domain and service in d["services"] for d in services)

    async def diagnostics(self) -> dict[str, Any]:
        """The BinMoE entry's diagnostics download (custom_components/binmoe/diagnostics.py)."""
        (entry,) = [e for e in await self.get("/api/config/config_entries/entry") if e["domain"] == "binmoe"]
        data: dict[str, Any] = (await self.get(f"/api/diagnostics/config_entry/{entry['entry_id']}"))["data"]
        return data


class NotificationWatcher:
    """Subscribed to persistent notifications over the websocket, reconnecting whenever Home Assistant is
    back; records (node_id, UNIX time) of every critical-alarm notification it sees created or updated, and
    the intervals it was subscribed."""

    def __init__(self, hass: Hass) -> None:
        self.hass = hass
        self.seen: list[tuple[str, float]] = []
        self.watching: list[tuple[float, float]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ConnectionError, ValueError):
                await self._watch()
            await asyncio.sleep(0.2)

    async def _watch(self) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{self.hass.url}/api/websocket") as ws:
            await _auth(ws, self.hass.token)
            await ws.send_json({"id": 1, "type": "persistent_notification/subscribe"})
            since: float | None = None
            try:
                async for message in ws:
                    if message.type is not aiohttp.WSMsgType.TEXT:
                        break
                    now = time.time()
                    data = message.json()
                    if data.get("type") == "result" and data.get("success"):
                        since = now
                    event = data.get("event") or {}
                    if data.get("type") == "event" and event.get("type") in ("added", "updated"):
                        for notification_id in event.get("notifications", {}):
                            if notification_id.startswith(CRITICAL_PREFIX):
                                self.seen.append((notification_id.removeprefix(CRITICAL_PREFIX), now))
            finally:
                if since is not None:
                    self.watching.append((since, time.time()))


async def _auth(ws: aiohttp.ClientWebSocketResponse, token: str) -> None:
    hello = await ws.receive_json()
    if hello.get("type") != "auth_required":
        raise ConnectionError(f"unexpected websocket greeting: {hello}")
    await ws.send_json({"type": "auth", "access_token": token})
    reply = await ws.receive_json()
    if reply.get("type") != "auth_ok":
        raise ConnectionError(f"websocket auth failed: {reply}")
