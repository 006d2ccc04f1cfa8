"""A small client of Home Assistant's REST and websocket APIs, as the frontend uses them (scripts/demo).

REST calls use the standard library; websocket commands use the `websockets` package of the backend venv.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from websockets.sync.client import ClientConnection, connect


def http(url: str, data: Any = None, token: str | None = None, form: bool = False, method: str | None = None) -> Any:
    """GET (no data) or POST (JSON, or a form), or `method`, and return the decoded JSON answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        url, data=body, headers=headers, method=method or ("GET" if data is None else "POST")
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def wait_for(url: str, timeout: float) -> None:
    """Until `url` answers at all (an HTTP error such as 401 counts: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"Home Assistant did not answer at {url} within {timeout:.0f} s")


class HomeAssistant:
    """One logged-in user: REST with `get`/`post`, websocket commands with `ws`."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self._ws: ClientConnection | None = None
        self._next_id = 1
        self.events: list[dict[str, Any]] = []  # events of the subscriptions, as they arrive

    def get(self, path: str) -> Any:
        return http(f"{self.base}{path}", token=self.token)

    def post(self, path: str, data: Any) -> Any:
        return http(f"{self.base}{path}", data, token=self.token)

    def delete(self, path: str) -> Any:
        return http(f"{self.base}{path}", token=self.token, method="DELETE")

    def ws(self, command: str, **fields: Any) -> Any:
        """Send one websocket command and return its result; raises SystemExit with HA's error."""
        if self._ws is None:
            url = self.base.replace("http", "ws", 1) + "/api/websocket"
            self._ws = connect(url, max_size=None, open_timeout=30)
            json.loads(self._ws.recv())  # auth_required
            self._ws.send(json.dumps({"type": "auth", "access_token": self.token}))
            if (answer := json.loads(self._ws.recv()))["type"] != "auth_ok":
                raise SystemExit(f"the websocket login failed: {answer}")
        message_id, self._next_id = self._next_id, self._next_id + 1
        self._ws.send(json.dumps({"id": message_id, "type": command, **fields}))
        while True:
            answer = json.loads(self._ws.recv(timeout=60))
            if answer.get("type") == "event":
                self.events.append(answer["event"])
            elif answer.get("id") == message_id and answer.get("type") == "result":
                break
        if not answer["success"]:
            raise SystemExit(f"{command} failed: {answer['error']}")
        return answer["result"]

    def received_events(self) -> list[dict[str, Any]]:
        """The subscribed events that arrived until now (a command's round trip collects those in transit)."""
        self.ws("auth/current_user")
        events, self.events = self.events, []
        return events

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None
