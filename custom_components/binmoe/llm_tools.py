"""BinMoE's own LLM API: tools that let the voice agent answer from what the nodes actually reported."""

from __future__ import annotations

from typing import Any

import probatio as vol
from homeassistant.core import HomeAssistant
from homeassistant.helpers import llm
from homeassistant.util.json import JsonObjectType, JsonValueType

from .const import DOMAIN
from .runtime import BinMoERuntimeData

LLM_API_ID = DOMAIN
API_PROMPT = (
    "BinMoE sensor nodes listen for sounds (smoke/CO alarms, doorbells, water, appliances) and machine "
    "vibrations. Use the BinMoE tools to answer questions about what they detected, escalated or diagnosed; "
    "never invent events."
)


def _loaded(hass: HomeAssistant) -> BinMoERuntimeData | None:
    """The loaded entry's data (BinMoE has one entry), or None while it is not loaded."""
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        data: BinMoERuntimeData = entry.runtime_data
        return data
    return None


class _BinMoETool(llm.Tool):
    """Read-only tools over the loaded hub's state."""

    annotations = llm.ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
    integration = DOMAIN

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> llm.ToolResult:
        # Home Assistant no longer validates a tool's arguments for it: an invalid one raises vol.Invalid here,
        # which the chat log hands back to the model as an error result.
        args = self.parameters(tool_input.tool_args)
        data = _loaded(hass)
        if data is None:
            return llm.ToolResult({"error": "BinMoE is not loaded"}, error=True)
        return llm.ToolResult(self.answer(data, args))

    def answer(self, data: BinMoERuntimeData, args: dict[str, Any]) -> JsonObjectType:
        raise NotImplementedError


class RecentEventsTool(_BinMoETool):
    """Recent detections, escalations and diagnoses, newest first."""

    name = "BinMoERecentEvents"
    description = "Recent BinMoE detections, escalations and diagnoses (newest first), optionally for one node."
    parameters = vol.Schema(
        {
            vol.Optional("node_id"): str,
            vol.Optional("limit", default=10): vol.All(vol.Coerce(int), vol.Range(min=1, max=50)),
        }
    )

    def answer(self, data: BinMoERuntimeData, args: dict[str, Any]) -> JsonObjectType:
        node = args.get("node_id")
        limit = int(args.get("limit", 10))
        keep = (
            "type",
            "node_id",
            "class",
            "confidence",
            "decision",
            "part_of_alarm",
            "cause",
            "severity",
            "recommended_action",
            "summary",
        )
        items: list[JsonValueType] = [
            {k: item[k] for k in keep if k in item}
            for item in reversed(data.hub.recent)
            if node is None or item.get("node_id") == node
        ]
        return {"events": items[:limit]}


class NodeStatusTool(_BinMoETool):
    """What each node is and how it has been doing."""

    name = "BinMoENodeStatus"
    description = "Status of the BinMoE nodes: task, model, messages, escalation rate, last class heard."
    parameters = vol.Schema({})

    def answer(self, data: BinMoERuntimeData, args: dict[str, Any]) -> JsonObjectType:
        return {
            "gpu_tier_online": data.backend.online,
            "queue_length": len(data.backend.queue),
            "nodes": [
                {
                    "node_id": node.node_id,
                    "task": node.task,
                    "model": node.model,
                    "messages": node.messages,
                    "escalated_share_percent": round(node.escalated_share, 1),
                    "last_class": node.last_message.label if node.last_message else None,
                }
                for node in data.hub.nodes.values()
            ],
        }


class BinMoELLMAPI(llm.API):
    """Registered once; exposes the tools above to any conversation agent that selects it."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.id = LLM_API_ID
        self.name = "BinMoE"

    async def async_get_api_instance(self, llm_context: llm.LLMContext) -> llm.APIInstance:
        return llm.APIInstance(
            api=self, api_prompt=API_PROMPT, llm_context=llm_context, tools=[RecentEventsTool(), NodeStatusTool()]
        )
