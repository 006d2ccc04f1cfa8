"""Run vLLM's OpenAI server as a supervised child: wait for health, restart on crash with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence

import httpx

LOGGER = logging.getLogger(__name__)


class EngineSupervisor:
    """Owns one vLLM child process (its own process group, so its workers die with it)."""

    def __init__(
        self,
        command: Sequence[str],
        base_url: str,
        env: Mapping[str, str] | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        health_timeout: float = 600.0,
    ) -> None:
        self.command = list(command)
        self.base_url = base_url
        self.env = {**os.environ, **(env or {})}
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.health_timeout = health_timeout
        self.ready = asyncio.Event()
        self.restarts = 0
        self.started_at: float | None = None
        self.ready_after_s: float | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vllm-supervisor")

    async def _run(self) -> None:
        backoff = self.backoff_initial
        while not self._stopping:
            self.started_at = time.monotonic()
            LOGGER.info("starting vLLM: %s", " ".join(self.command))
            self._process = await asyncio.create_subprocess_exec(*self.command, env=self.env, start_new_session=True)
            healthy = await self._wait_healthy(self._process)
            if healthy:
                self.ready_after_s = time.monotonic() - self.started_at
                LOGGER.info("vLLM is healthy after %.1f s", self.ready_after_s)
                self.ready.set()
                backoff = self.backoff_initial
            code = await self._process.wait()
            self.ready.clear()
            if self._stopping:
                return
            self.restarts += 1
            LOGGER.warning("vLLM exited with code %s; restarting in %.0f s", code, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.backoff_max)

    async def _wait_healthy(self, process: asyncio.subprocess.Process) -> bool:
        deadline = time.monotonic() + self.health_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline and process.returncode is None:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/health")).status_code == 200:
                        return True
                await asyncio.sleep(0.5)
        if process.returncode is None:
            LOGGER.error("vLLM not healthy after %.0f s; killing it", self.health_timeout)
            self._signal(signal.SIGKILL)
        return False

    def _signal(self, sig: int) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, sig)

    async def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the child's process group, SIGKILL it after `grace` seconds."""
        self._stopping = True
        self.ready.clear()
        self._signal(signal.SIGTERM)
        if self._process is not None and self._process.returncode is None:
            try:
                await asyncio.wait_for(self._process.wait(), grace)
            except TimeoutError:
                self._signal(signal.SIGKILL)
                await self._process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
