"""A native-API client for the host-node tests: records every Home Assistant event, entity state and log line a
host-built node sends (aioesphomeapi, as Home Assistant's esphome integration uses it)."""

from __future__ import annotations

import asyncio
from typing import Any

from aioesphomeapi import APIClient, HomeassistantServiceCall, LogLevel, UserService


class Node:
    """A connected client that records every Home Assistant event and entity state the node sends."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.events: list[HomeassistantServiceCall] = []
        self.states: list[Any] = []
        self.services: dict[str, UserService] = {}
        self.entities: list[Any] = []
        self.logs: list[str] = []

    async def start(self) -> None:
        await self.client.connect(login=True)
        self.entities, services = await self.client.list_entities_services()
        self.services = {s.name: s for s in services}
        self.client.subscribe_service_calls(self.events.append)
        self.client.subscribe_states(self.states.append)
        self.client.subscribe_logs(
            lambda msg: self.logs.append(msg.message.decode(errors="replace")), LogLevel.LOG_LEVEL_DEBUG, True
        )

    async def call(self, name: str, **data: Any) -> None:
        await self.client.execute_service(self.services[name], data)

    async def wait_events(self, count: int, seconds: float = 60.0) -> list[HomeassistantServiceCall]:
        for _ in range(int(seconds * 20)):
            if len(self.events) >= count:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything beyond `count` would be a bug: give it a moment to show up
        return list(self.events)


async def connect_node(port: int) -> Node:
    node = Node(APIClient("127.0.0.1", port, None))
    await node.start()
    return node
