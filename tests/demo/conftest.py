"""The demo as a newcomer runs it (`scripts/demo`), on free ports in its own folder, and a real headless
browser: Debian's chromium driven by Selenium through chromium-driver (scripts/bootstrap browser)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[2]
READY = "Press Ctrl-C to stop everything."
DEMO_START_TIMEOUT = 1200  # the first run builds the node (~2 min) and every environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningDemo:
    """scripts/demo after its set-up: where Home Assistant listens and everything the demo printed."""

    ha_url: str
    user: str = "demo"
    password: str = "binmoe-demo"
    lines: list[str] = field(default_factory=list)

    def line_after(self, prefix: str) -> str:
        found = [line.strip() for line in self.lines if line.strip().startswith(prefix)]
        assert found, f"the demo printed no line starting with {prefix!r}:\n" + "".join(self.lines)
        return found[-1].removeprefix(prefix).strip()


@pytest.fixture(scope="session")
def demo() -> Iterator[RunningDemo]:
    ha_port = free_port()
    env = {
        **os.environ,
        "BINMOE_DEMO_HA_PORT": str(ha_port),
        "BINMOE_DEMO_BACKEND_PORT": str(free_port()),
        "BINMOE_DEMO_NODE_PORT": str(free_port()),
        "BINMOE_DEMO_DIR": ".demo-test",
    }
    process = subprocess.Popen(
        [str(REPO / "scripts" / "demo")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = RunningDemo(f"http://127.0.0.1:{ha_port}")
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.append(re.sub(r"\x1b\[[0-9;]*m", "", line))
            if READY in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + DEMO_START_TIMEOUT
    while not ready.wait(2):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGTERM)
            pytest.fail("scripts/demo did not come up:\n" + "".join(running.lines[-60:]))
    try:
        yield running
    finally:
        (REPO / env["BINMOE_DEMO_DIR"] / "demo.out").write_text("".join(running.lines))  # for a failed run
        os.killpg(process.pid, signal.SIGTERM)  # the demo stops its GPU tier, Home Assistant and node
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1600,1250", "--lang=en-US"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()
