"""What a newcomer sees: `scripts/demo` onboards Home Assistant, puts the node in an area, gives BinMoE a
dashboard and ends with a diagnosis and a spoken answer; a real browser logs in and shows that dashboard.

The screenshot goes to $BINMOE_CACHE (docs/demo-dashboard.png with BINMOE_UPDATE_SCREENSHOT=1, the README's).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, RunningDemo
from selenium import webdriver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

DASHBOARD = "dashboard-binmoe/overview"
# Text of the page including every shadow root (Home Assistant's frontend is web components).
DEEP_TEXT = """
const parts = [];
const walk = (node) => {
  if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
  if (node.shadowRoot) walk(node.shadowRoot);
  for (const child of node.childNodes) walk(child);
};
walk(document.body);
return parts.join(' ').replace(/\\s+/g, ' ');
"""
DEEP_COUNT = """
const found = [];
const walk = (root) => {
  root.querySelectorAll('*').forEach((el) => {
    if (el.localName === arguments[0]) found.push(el);
    if (el.shadowRoot) walk(el.shadowRoot);
  });
};
walk(document);
return found.length;
"""
# The login form: the username and password inputs and the "Log in" button, inside shadow roots.
LOG_IN = """
const inputs = [], buttons = [];
const walk = (root) => {
  root.querySelectorAll('*').forEach((el) => {
    if (el.localName === 'input' && el.type !== 'checkbox') inputs.push(el);
    if (el.localName.includes('button') && el.textContent.trim() === 'Log in') buttons.push(el);
    if (el.shadowRoot) walk(el.shadowRoot);
  });
};
walk(document);
if (inputs.length < 2 || !buttons.length) return false;
const fill = (input, value) => {
  input.value = value;
  input.dispatchEvent(new Event('input', {bubbles: true, composed: true}));
  input.dispatchEvent(new Event('change', {bubbles: true, composed: true}));
};
fill(inputs[0], arguments[0]);
fill(inputs[1], arguments[1]);
buttons[0].click();
return true;
"""


def rest_token(demo: RunningDemo) -> str:
    """Log in over HA's auth API (the same login flow the page uses) to read the real states."""
    client_id = f"{demo.ha_url}/"

    def post(path: str, data: dict[str, Any], form: bool = False) -> Any:
        body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        request = urllib.request.Request(f"{demo.ha_url}{path}", body, {"Content-Type": kind})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    flow = post(
        "/auth/login_flow",
        {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": f"{client_id}?auth_callback=1"},
    )
    done = post(f"/auth/login_flow/{flow['flow_id']}", {"username": demo.user, "password": demo.password,
                                                         "client_id": client_id})  # fmt: skip
    tokens = post("/auth/token", {"grant_type": "authorization_code", "code": done["result"],
                                  "client_id": client_id}, form=True)  # fmt: skip
    return str(tokens["access_token"])


def rest_get(demo: RunningDemo, token: str, path: str) -> Any:
    request = urllib.request.Request(f"{demo.ha_url}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_until(what: str, condition: Any, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def test_demo_ends_with_a_diagnosis_and_a_spoken_answer(demo: RunningDemo) -> None:
    """The last lines a newcomer reads: a knowledge-base diagnosis and the local agent's answer."""
    # the demo asks the node to diagnose the water clip (its `diagnose` action): the escalation path shows whatever
    # the model makes of the clip
    asked = demo.line_after("node plays water_running.wav, asked to diagnose it after 1 s:")
    assert "escalated (asked for)" in asked or "queued" in asked, asked
    diagnosis = demo.line_after("last diagnosis")
    assert "severity" in diagnosis and "Recommended:" in diagnosis
    assert "None" not in diagnosis
    answer = demo.line_after("Home Assistant answers:").strip('"')
    # BinMoE's own intent answered (no LLM): it names the node, the alarm it heard and how it knew (the smoke
    # alarm's pattern, handled on the node: a critical alarm does not wait for the GPU tier)
    assert "binmoe demo" in answer.lower() and "smoke alarm" in answer, answer
    assert "temporal-three alarm pattern" in answer and "handled on the node" in answer, answer
    assert "Sorry" not in answer and "couldn't understand" not in answer, answer
    assert demo.line_after("repair issues of the demo's making:").startswith("0")
    assert "area Kitchen" in demo.line_after("ESPHome node")


# The demo's 12 s T3 smoke alarm is named for what it is: the node recognises the alarm by its temporal code
# (the shipped sound model alone heard it as a CO alarm as well, issue #14).
def test_the_alarm_the_demo_plays_is_named_for_what_it_is(demo: RunningDemo) -> None:
    alarm = demo.line_after("node plays t3_12s.wav:")
    assert "smoke alarm (T3 alarm pattern), handled on the node" in alarm and "co alarm" not in alarm
    # a window the model escalated while the alarm sounded is the alarm's: never the diagnosis the user reads last
    # the node's smoke alarm sensor went off when the alarm clip ended (it is the last clip)
    own = demo.line_after("node's own sensors:")
    assert "Smoke alarm off" in own and "CO alarm off" in own, own
    last = demo.line_after("last diagnosis")
    for line in (line.strip() for line in demo.lines if "taken as part of the smoke alarm" in line):
        fragment = re.match(r"taken as part of the smoke alarm[^:]*: (.+) \d+ % ", line)
        assert fragment is not None, line
        assert not last.startswith(f"({fragment.group(1).replace(' ', '_')} on"), (line, last)
    answer = demo.line_after("Home Assistant answers:")
    assert "smoke alarm" in answer and "carbon monoxide" not in answer.lower()


def test_dashboard_in_a_real_browser(demo: RunningDemo, browser: webdriver.Chrome) -> None:
    token = rest_token(demo)
    states = {s["entity_id"]: s for s in rest_get(demo, token, "/api/states")}
    assert all(step["done"] for step in rest_get(demo, token, "/api/onboarding"))

    browser.get(f"{demo.ha_url}/{DASHBOARD}")
    wait_until("the login form", lambda: browser.execute_script(LOG_IN, demo.user, demo.password))
    # Onboarding is finished, so the login leads to the dashboard, not to the onboarding wizard.
    wait_until("the dashboard's cards", lambda: browser.execute_script(DEEP_COUNT, "hui-history-graph-card") >= 2)
    assert "onboarding" not in browser.current_url
    assert browser.current_url.startswith(f"{demo.ha_url}/{DASHBOARD}")

    share = states["sensor.binmoe_hub_handled_on_the_node"]["state"]
    diagnosis = states["sensor.binmoe_hub_last_diagnosis"]
    assert share not in ("unknown", "unavailable")
    assert diagnosis["state"] not in ("unknown", "unavailable")
    expected = [
        "BinMoE hub",
        "Handled on the node",
        f"{float(share):.0f}%",  # the entities card shows the sensor's value with its display precision
        "Escalations",
        "Last diagnosis",
        str(diagnosis["attributes"]["summary"]),
        str(diagnosis["attributes"]["recommended_action"]),
        "Kitchen",
        "Last detections",
        "Diagnoses",
    ]

    def shows_everything() -> bool:
        text = browser.execute_script(DEEP_TEXT)
        return all(item in text for item in expected) and "No state history found" not in text

    try:
        wait_until("the dashboard to show the BinMoE values", shows_everything, 60)
    finally:
        screenshot = screenshot_path()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        time.sleep(2)  # let the graphs finish their animation
        browser.save_screenshot(str(screenshot))
    text = browser.execute_script(DEEP_TEXT)
    missing = [item for item in expected if item not in text]
    assert not missing, f"the dashboard lacks {missing}; screenshot: {screenshot}"
    assert browser.execute_script(DEEP_COUNT, "hui-logbook-card") == 2
    assert screenshot.stat().st_size > 20_000


def screenshot_path() -> Path:
    if os.environ.get("BINMOE_UPDATE_SCREENSHOT") == "1":
        return REPO / "docs" / "demo-dashboard.png"
    return Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe")) / "demo-dashboard.png"
