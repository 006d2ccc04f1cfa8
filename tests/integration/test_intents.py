"""BinMoE's own intents through Home Assistant's conversation system, with no LLM anywhere: Home
Assistant's built-in agent, the sentence-trigger step an Assist pipeline runs before any agent (also with
"prefer handling commands locally"), and the intents fired directly. The GPU tier's chat is never called.
BinMoE's sentences take only names of this home's nodes and areas, never Home Assistant's sentences."""

from __future__ import annotations

import pytest
from hassil import Intents, WildcardSlotList, recognize
from hassil.intents import TextSlotList
from hassil.sample import sample_intents
from home_assistant_intents import get_intents
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import chat_session, intent
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.intents import (
    DATA_SENTENCES,
    INTENT_ESCALATIONS_TODAY,
    INTENT_NODE_STATUS,
    SLOT_NODE,
    trigger_templates,
)
from custom_components.binmoe.node_names import NodeNames, node_names

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
        ("what did the sensors hear", "The garage sound last heard a smoke alarm"),
        ("is my binmoe lathe node ok", "The lathe vibration looks fine"),
        # more general forms of each question (present perfect, "anything ...", "what made ...", reports)
        ("has the garage node detected anything today", "smoke alarm"),
        ("what has the garage sensor been picking up", "smoke alarm"),
        ("what made the garage alarm sound", "The GPU tier's diagnosis: double cause for smoke_alarm"),
        ("are there any issues with the lathe", "The lathe vibration looks fine"),
        ("what's happening with the garage sensor", "The garage sound may need attention"),
        ("how's the lathe looking", "The lathe vibration looks fine"),
        ("how many alarms got escalated to the gpu tier today", "Today 2 detections were escalated to the GPU tier"),
        ("record a baseline for the lathe sensor", "can't start baseline learning by voice yet"),
        ("anything heard by the bedroom sensor today", "There is no BinMoE node in the Bedroom."),
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
    assert await local(hass, "what did the sensors hear") == (
        "No BinMoE node has reported yet, so I cannot tell you anything about one."
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "is the attic sensor ok",  # no such area or node: the BinMoE agent answers it after HA's intents
        "status of my timer",  # Home Assistant's HassTimerStatus, which a wildcard {node} took
        "status of the timers in the Garage",
        "is the front door ok",  # an entity of Home Assistant's, not a node
    ],
)
async def test_other_names_are_not_binmoes(
    hass: HomeAssistant, backend: BackendDouble, nodes: MockConfigEntry, sentence: str
) -> None:
    assert "BinMoE" not in await local(hass, sentence) and "garage sound" not in await local(hass, sentence)


async def test_names_follow_the_home(hass: HomeAssistant, nodes: MockConfigEntry) -> None:
    """A device renamed or an area added changes the names the sentences take, at once."""
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(("binmoe", f"{nodes.entry_id}_garage-sound"), nodes.entry_id)
    assert device is not None
    assert "BinMoE" not in await local(hass, "what did the smoke watcher hear")
    devices.async_update_device(device.id, name_by_user="Smoke watcher")
    await hass.async_block_till_done()
    assert (await local(hass, "what did the smoke watcher hear")).startswith("The Smoke watcher last heard")
    ar.async_get(hass).async_get_or_create("Attic")
    await hass.async_block_till_done()
    assert (await local(hass, "what did the attic sensor hear")).startswith("There is no BinMoE node in the Attic.")


def test_node_names() -> None:
    names = NodeNames(frozenset({"garage", "garage sound", "sound", "living room"}))
    for name in ("garage", "the garage sensor", "Garage Sound", "my binmoe living room alarms", "sensors"):
        assert names.knows(name), name
    for name in ("front door", "timers in the garage", "attic sensor", "the", "sensor garage"):
        assert not names.knows(name), name
    assert not NodeNames(frozenset()).knows("pump") and NodeNames(frozenset()).knows("the nodes")


async def test_home_assistant_sentences_stay_home_assistants(hass: HomeAssistant, nodes: MockConfigEntry) -> None:
    """Sentences sampled from every intent of Home Assistant's own templates, over this home's names and
    areas: BinMoE's sentences (as registered, with `{node}` written out) match none of them. The same
    templates with a wildcard `{node}` took some (the flaw this guards against)."""
    sentences = hass.data[DATA_SENTENCES]
    names = node_names(hass, nodes.runtime_data)
    ours = Intents.from_dict({"language": "en", "intents": _as_intents(trigger_templates(sentences, names))})
    wildcard = Intents.from_dict({"language": "en", "intents": _as_intents(sentences.templates)})
    wildcard.slot_lists[SLOT_NODE] = WildcardSlotList(SLOT_NODE)
    theirs = Intents.from_dict(get_intents("en"))
    lists = {
        "name": TextSlotList.from_strings(["Garage door", "Lathe", "Kitchen light", "Front door", "Thermostat"]),
        "area": TextSlotList.from_strings([area.name for area in ar.async_get(hass).async_list_areas()]),
        "floor": TextSlotList.from_strings(["Ground floor"]),
    }
    sampled = [
        text
        for name in theirs.intents
        for _, text in sample_intents(theirs, lists, intent_names={name}, max_sentences_per_intent=300)
    ]
    assert len(sampled) > 5000
    assert [text for text in sampled if recognize(text, ours)] == []
    assert [text for text in sampled if recognize(text, wildcard)]  # what the wildcard took


def _as_intents(templates: dict[str, list[str]]) -> dict[str, object]:
    return {name: {"data": [{"sentences": sentences}]} for name, sentences in templates.items()}
