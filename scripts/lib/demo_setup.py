"""Drive a fresh Home Assistant through onboarding and BinMoE's real config flow, over HA's REST API.

Used by scripts/demo: nothing is pre-seeded in .storage; the integration is added exactly as a user
would add it in the UI, against the running GPU tier. Standard library only (runs on the host Python).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


def call(url: str, data: Any = None, token: str | None = None, form: bool = False) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return  # HA answers (e.g. 401): it is up
        except OSError:
            time.sleep(1)
    raise SystemExit(f"Home Assistant did not answer at {url} within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ha", required=True, help="Home Assistant base URL")
    parser.add_argument("--backend", required=True, help="BinMoE gateway URL as HA should reach it")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="binmoe-demo")
    args = parser.parse_args()
    ha = args.ha.rstrip("/")
    client_id = f"{ha}/"
    wait_for(f"{ha}/api/onboarding", 180)
    created = call(
        f"{ha}/api/onboarding/users",
        {
            "client_id": client_id,
            "name": "Demo",
            "username": args.user,
            "password": args.password,
            "language": "en",
        },
    )
    tokens = call(
        f"{ha}/auth/token",
        {"grant_type": "authorization_code", "code": created["auth_code"], "client_id": client_id},
        form=True,
    )
    token = tokens["access_token"]
    flow = call(f"{ha}/api/config/config_entries/flow", {"handler": "binmoe"}, token)
    result = call(
        f"{ha}/api/config/config_entries/flow/{flow['flow_id']}",
        {"url": args.backend, "api_key": args.api_key},
        token,
    )
    if result.get("type") != "create_entry":
        print(f"config flow did not create an entry: {result}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entries = call(f"{ha}/api/config/config_entries/entry?domain=binmoe", token=token)
        if entries and entries[0]["state"] == "loaded":
            entry = entries[0]
            print(f"BinMoE config entry {entry['title']!r} is loaded (entry_id {entry['entry_id']})")
            return 0
        time.sleep(1)
    print(f"BinMoE entry did not load: {entries}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
