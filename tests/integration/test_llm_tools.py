"""llm_tools.py: BinMoE's LLM API as any conversation agent gets it from Home Assistant (`llm.async_get_api`),
its read-only tools answering from the loaded hub (recent events newest first, node status), and their
answer when BinMoE is not loaded."""

from __future__ import annotations

from typing import Any

import probatio as vol
import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.const import DOMAIN
from custom_components.binmoe.llm_tools import API_PROMPT, LLM_API_ID

from .backend_double import BackendDouble
from .helpers import fire

CONTEXT = llm.LLMContext(platform="test", context=Context(), language="en", assistant="conversation", device_id=None)


async def api(hass: HomeAssistant) -> llm.APIInstance:
    return await llm.async_get_api(hass, LLM_API_ID, CONTEXT)


async def call(hass: HomeAssistant, tool: str, **args: object) -> dict[str, Any]:
    """What the tool hands the model (Home Assistant's ToolResult data)."""
    result = await (await api(hass)).async_call_tool(llm.ToolInput(tool_name=tool, tool_args=dict(args)))
    return dict(result.data)


@pytest.fixture
async def heard(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> MockConfigEntry:
    """A healthy lathe handled on the node, then a garage escalation that the GPU tier (test double) diagnosed."""
    lathe = {"class": "healthy", "confidence": 0.99}  # confident: handled on the node, not escalated
    await fire(hass, "detection", node_id="lathe-vibration", task="vibration", seq=1, **lathe)
    await fire(hass, node_id="garage-sound", seq=2)
    return loaded_entry


async def test_the_api(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    instance = await api(hass)
    assert instance.api.id == DOMAIN and instance.api.name == "BinMoE" and instance.api_prompt == API_PROMPT
    assert [tool.name for tool in instance.tools] == ["BinMoERecentEvents", "BinMoENodeStatus"]
    for tool in instance.tools:
        assert tool.annotations is not None and tool.annotations.read_only and not tool.annotations.destructive


async def test_recent_events_newest_first(hass: HomeAssistant, heard: MockConfigEntry) -> None:
    events = (await call(hass, "BinMoERecentEvents"))["events"]
    assert isinstance(events, list)
    assert [(e["type"], e["node_id"]) for e in events] == [
        ("diagnosis", "garage-sound"),
        ("escalation", "garage-sound"),
        ("detection", "lathe-vibration"),
    ]
    keep = {"type", "node_id", "class", "confidence", "decision", "cause", "severity", "recommended_action", "summary"}
    for event in events:
        assert isinstance(event, dict) and set(event) <= keep  # no seq, features or capture for the model
    assert events[1]["decision"] == "diagnose" and events[2]["class"] == "healthy"


async def test_recent_events_for_one_node_and_limit(hass: HomeAssistant, heard: MockConfigEntry) -> None:
    garage = (await call(hass, "BinMoERecentEvents", node_id="garage-sound"))["events"]
    assert isinstance(garage, list) and len(garage) == 2
    assert (await call(hass, "BinMoERecentEvents", node_id="attic"))["events"] == []
    newest = (await call(hass, "BinMoERecentEvents", limit="1"))["events"]  # coerced, as a model may send it
    assert isinstance(newest, list) and [e["type"] for e in newest] == ["diagnosis"]
    for limit in (0, 51, "many"):  # the chat log hands vol.Invalid back to the model as an error result
        with pytest.raises(vol.Invalid):
            await call(hass, "BinMoERecentEvents", limit=limit)
    with pytest.raises(vol.Invalid):
        await call(hass, "BinMoENodeStatus", node_id="garage-sound")  # takes no arguments


async def test_tools_return_tool_results(hass: HomeAssistant, heard: MockConfigEntry) -> None:
    """A ToolResult, not a bare JSON object (deprecated by Home Assistant, logged at every call)."""
    for tool in (await api(hass)).tools:
        result = await tool.async_call(hass, llm.ToolInput(tool_name=tool.name, tool_args={}), CONTEXT)
        assert isinstance(result, llm.ToolResult) and not result.error


async def test_node_status(hass: HomeAssistant, heard: MockConfigEntry) -> None:
    status = await call(hass, "BinMoENodeStatus")
    assert status["gpu_tier_online"] is True and status["queue_length"] == 0
    nodes = status["nodes"]
    assert isinstance(nodes, list)
    by_id = {node["node_id"]: node for node in nodes}
    assert by_id["lathe-vibration"] == {
        "node_id": "lathe-vibration",
        "task": "vibration",
        "model": by_id["lathe-vibration"]["model"],
        "messages": 1,
        "escalated_share_percent": 0.0,
        "last_class": "healthy",
    }
    assert by_id["garage-sound"]["escalated_share_percent"] == 100.0


async def test_queue_length_while_the_gpu_tier_is_away(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    await backend.stop()
    await fire(hass, node_id="garage-sound", seq=3)
    status = await call(hass, "BinMoENodeStatus")
    assert status["gpu_tier_online"] is False and status["queue_length"] == 1


async def test_not_loaded(hass: HomeAssistant) -> None:
    """The API is registered with the integration; with no entry loaded, its tools say so."""
    assert await async_setup_component(hass, DOMAIN, {})
    for tool in (await api(hass)).tools:
        result = await tool.async_call(hass, llm.ToolInput(tool_name=tool.name, tool_args={}), CONTEXT)
        assert result == llm.ToolResult({"error": "BinMoE is not loaded"}, error=True)
