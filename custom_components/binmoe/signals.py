"""Dispatcher signals between the hub, the GPU-tier link and the entities of one config entry."""

from __future__ import annotations


def signal_update(entry_id: str) -> str:
    """Statistics, the queue or the GPU tier's state changed (hub entities refresh)."""
    return f"binmoe_{entry_id}_update"


def signal_new_node(entry_id: str) -> str:
    """A node reported for the first time (its entities are created: dynamic devices)."""
    return f"binmoe_{entry_id}_new_node"


def signal_node_message(entry_id: str, node_id: str) -> str:
    """A node's message was routed (that node's entities refresh)."""
    return f"binmoe_{entry_id}_node_{node_id}"
