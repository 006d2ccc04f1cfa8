"""A loopback TCP relay between Home Assistant and the soak's ESPHome node, so the soak can cut the node's
connection (a Wi-Fi drop) without restarting either end."""

from __future__ import annotations

import asyncio
import contextlib
import time


class DroppableRelay:
    """Relays 127.0.0.1:`listen_port` to 127.0.0.1:`target_port`; drop() resets every connection."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._writers: set[asyncio.StreamWriter] = set()
        self._refuse_until = 0.0
        self._server: asyncio.Server | None = None
        self.connections = 0  # accepted and relayed since start

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        self.drop(0)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def active(self) -> int:
        return len(self._writers) // 2

    def drop(self, refuse_s: float) -> None:
        """Reset every relayed connection and refuse new ones for `refuse_s` seconds."""
        self._refuse_until = time.monotonic() + refuse_s
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._refuse_until:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        self._writers -= {writer, up_writer}


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
