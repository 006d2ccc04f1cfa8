"""BinMoE's own intents through Home Assistant's conversation system, with no LLM anywhere: Home
Assistant's built-in agent, the sentence-trigger step an Assist pipeline runs before any agent (also with
"prefer handling commands locally"), and the intents fired directly. The GPU tier's chat is never called."""

from __future__ import annotations

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import chat_session, intent
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.intents import INTENT_ESCALATIONS_TODAY, INTENT_NODE_STATUS

from .backend_double import BackendDouble
from .helpers import fire


async def local(hass: HomeAssistant, text: str) -> str:
    """The answer of Home Assistant's own agent (no LLM at all)."""
    result = await conversation.async_converse(
        hass, text, None, Context(), language="en", agent_id=conversation.HOME_ASSISTANT_AGENT
    )
    return str(result.response.speech["plain"]["speech"])


@pytest.fixture
async def nodes(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> MockConfigEntry:
    """A garage sound node (in the Garage) that heard a smoke alarm, and a healthy lathe node."""
    await fire(hass, node_id="garage-sound", seq=1)
    await fire(hass, "detection", node_id="lathe-vibration", task="vibration", seq=2, **{"class": "healthy"})
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(
        ("binmoe", f"{loaded_entry.entry_id}_garage-sound"), loaded_entry.entry_id
    )
    assert device is not None
    devices.async_update_device(device.id, area_id=ar.async_get(hass).async_get_or_create("Garage").id)
    ar.async_get(hass).async_get_or_create("Bedroom")
    return loaded_entry


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("what did the garage sensor hear", "The garage sound last heard a smoke alarm (55% sure)"),
        ("What has the lathe picked up recently?", "The lathe vibration last heard normal running"),
        ("why did the garage alarm go off", "The GPU tier's diagnosis: double cause for smoke_alarm"),
        ("is the lathe ok", "The lathe vibration looks fine"),
        ("how is the garage sensor doing", "The garage sound may need attention"),
        ("how many escalations today", "Today 2 detections were escalated to the GPU tier"),
        ("learn the baseline of the lathe sensor", "can't start baseline learning by voice yet"),
        ("why did the bedroom alarm go off", "There is no BinMoE node in the Bedroom."),
        ("is the attic sensor ok", "I don't know a BinMoE node called attic sensor."),
    ],
)
async def test_home_assistant_agent_answers_binmoe_questions(
    hass: HomeAssistant, backend: BackendDouble, nodes: MockConfigEntry, sentence: str, expected: str
) -> None:
    assert expected in await local(hass, sentence)
    assert not [name for name, _ in backend.requests if name == "chat"]


async def test_pipeline_sentence_trigger_step(hass: HomeAssistant, nodes: MockConfigEntry) -> None:
    """What an Assist pipeline runs first, before its conversation agent (an LLM agent included)."""
    user_input = conversation.ConversationInput(
        text="why did the garage alarm go off",
        context=Context(),
        conversation_id=None,
        device_id=None,
        satellite_id=None,
        language="en",
        agent_id="conversation.some_llm_agent",
    )
    with (
        chat_session.async_get_chat_session(hass) as session,
        conversation.async_get_chat_log(hass, session, user_input) as chat_log,
    ):
        answer = await conversation.async_handle_sentence_triggers(hass, user_input, chat_log)
    assert answer is not None and answer.startswith("The garage sound heard a smoke alarm")


async def test_intents_fired_directly(hass: HomeAssistant, nodes: MockConfigEntry) -> None:
    response = await intent.async_handle(hass, "test", INTENT_NODE_STATUS, {"node": {"value": "lathe"}})
    assert response.response_type is intent.IntentResponseType.QUERY_ANSWER
    assert response.speech["plain"]["speech"].startswith("The lathe vibration looks fine")
    response = await intent.async_handle(hass, "test", INTENT_ESCALATIONS_TODAY, {})
    assert "2 detections were escalated" in response.speech["plain"]["speech"]


async def test_sentences_leave_with_the_entry(hass: HomeAssistant, nodes: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(nodes.entry_id)
    await hass.async_block_till_done()
    assert "garage sound" not in await local(hass, "what did the garage sensor hear")
    response = await intent.async_handle(hass, "test", INTENT_NODE_STATUS, {"node": {"value": "lathe"}})
    assert response.speech["plain"]["speech"] == "BinMoE is not set up right now, so I cannot answer that."


async def test_no_node_yet(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    assert await local(hass, "is the pump ok") == (
        "No BinMoE node has reported yet, so I cannot tell you anything about one."
    )
