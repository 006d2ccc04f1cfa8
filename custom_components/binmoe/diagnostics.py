"""Diagnostics download: configuration (API key redacted), backend, queue and routing statistics."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .runtime import BinMoEConfigEntry

TO_REDACT = {CONF_API_KEY, "features"}


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: BinMoEConfigEntry) -> dict[str, Any]:
    hub, backend = entry.runtime_data.hub, entry.runtime_data.backend
    return async_redact_data(
        {
            "entry": {"data": dict(entry.data), "options": dict(entry.options)},
            "backend": {
                "url": backend.client.url,
                "model": backend.info.model if backend.info else None,
                "profile": backend.info.profile if backend.info else None,
                "online": backend.online,
            },
            "queue": {"length": len(backend.queue), "dropped": backend.queue.dropped},
            "stats": {
                "detections": hub.stats.detections,
                "handled_locally": hub.stats.handled_locally,
                "escalations": hub.stats.escalations,
                "diagnosed": hub.stats.diagnosed,
                "ignored": hub.stats.ignored,
                "dropped": hub.stats.dropped,
                "part_of_alarm": hub.stats.part_of_alarm,
                "bad_payloads": hub.stats.bad_payloads,
                "lost_messages": hub.router.lost_messages,
                "recovered_messages": hub.router.recovered_messages,
                "duplicates": hub.router.duplicates,
                "latency_ms_p50": backend.latency_percentile(0.5),
                "latency_ms_p95": backend.latency_percentile(0.95),
            },
            "nodes": {
                node.node_id: {"task": node.task, "model": node.model, "messages": node.messages}
                for node in hub.nodes.values()
            },
            "recent": list(hub.recent)[-10:],
        },
        TO_REDACT,
    )
