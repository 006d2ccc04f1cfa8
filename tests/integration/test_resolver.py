"""The command resolver (resolver.py, command_words.py) in a real Home Assistant core: what it resolves and
what it refuses in a home of its own written here (the voice evaluation's fixture entities plus a second
kitchen light, two lamps sharing a name, an entity hidden from Assist, an area alias and a floor), that it
acts through Home Assistant's intents, and where it sits in the agent's order (weak model only)."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import floor_registry as fr
from homeassistant.helpers import intent
from pytest_homeassistant_custom_component.common import MockConfigEntry

from benchmarks.voice_cases import HOME, HOME_DEVICES
from benchmarks.voice_harness import last_path
from benchmarks.voice_home import Device, Entity, SimulatedHome
from custom_components.binmoe.command_words import DEVICE_WORDS, Action, DeviceReading, numbers, tokens
from custom_components.binmoe.conversation import NOT_UNDERSTOOD
from custom_components.binmoe.reply_guard import claims_state_change
from custom_components.binmoe.resolver import _readings, async_resolve_command, resolve

from .backend_double import BackendDouble
from .helpers import setup_entry
from .test_conversation import agent_id, chat_requests, speech

_DIMMABLE = {"supported_color_modes": ["brightness"], "color_mode": "brightness"}
EXTRA = [
    Entity("light.kitchen_ceiling", "Ceiling light", "Kitchen", "off", dict(_DIMMABLE), device="ceiling"),
    Entity("light.office_desk_lamp", "Desk lamp", "Office", "off", dict(_DIMMABLE), device="office_lamp"),
    Entity("light.study_desk_lamp", "Desk lamp", "Study", "off", dict(_DIMMABLE), device="study_lamp"),
    Entity("switch.hidden_heater", "Hidden heater", "Bedroom", "off", {}, device="heater"),
]
EXTRA_DEVICES = [
    Device("ceiling", "Ceiling light", "Kitchen"),
    Device("office_lamp", "Desk lamp", "Office"),
    Device("study_lamp", "Desk lamp", "Study"),
    Device("heater", "Hidden heater", "Bedroom"),
]


@pytest.fixture
async def home(hass: HomeAssistant) -> SimulatedHome:
    """The fixture home with the extras; the heater is not exposed to Assist, the Living Room is also called
    the lounge, and the Bedroom is upstairs."""
    simulated = SimulatedHome(hass)
    await simulated.async_setup()
    areas = [*dict.fromkeys(e.area for e in HOME if e.area), "Office", "Study", "Attic"]
    simulated.add_home(areas, [*HOME_DEVICES, *EXTRA_DEVICES], [*HOME, *EXTRA])
    async_expose_entity(hass, conversation.DOMAIN, "switch.hidden_heater", False)
    area_registry = ar.async_get(hass)
    lounge = area_registry.async_get_area_by_name("Living Room")
    bedroom = area_registry.async_get_area_by_name("Bedroom")
    assert lounge is not None and bedroom is not None
    area_registry.async_update(lounge.id, aliases={"lounge"})
    upstairs = fr.async_get(hass).async_create("Upstairs")
    area_registry.async_update(bedroom.id, floor_id=upstairs.floor_id)
    return simulated


@pytest.mark.parametrize(
    ("sentence", "action", "value", "targets"),
    [
        ("kill the light in the bedroom", Action.TURN_OFF, None, {"light.bedroom"}),
        ("could you get the kitchen light on for me", Action.TURN_ON, None, {"light.kitchen"}),
        ("bedroom light off please, I'm off to bed", Action.TURN_OFF, None, {"light.bedroom"}),
        ("the lamp in the lounge, switch it on", Action.TURN_ON, None, {"light.living_room_lamp"}),
        ("dim the bedroom light to twenty-five percent", Action.BRIGHTNESS, 25, {"light.bedroom"}),
        ("put the kitchen light on at 40% please", Action.BRIGHTNESS, 40, {"light.kitchen"}),
        ("kitchen light brightness 70", Action.BRIGHTNESS, 70, {"light.kitchen"}),
        ("set the lounge blinds to 40 %", Action.POSITION, 40, {"cover.living_room_blinds"}),
        ("lower the living room blinds", Action.CLOSE, None, {"cover.living_room_blinds"}),
        ("shut the garage", Action.CLOSE, None, {"cover.garage_door"}),
        ("open up the garage door", Action.OPEN, None, {"cover.garage_door"}),
        ("crank the heating up to 21.5 degrees", Action.TEMPERATURE, 21.5, {"climate.thermostat"}),
        ("drop the thermostat to eighteen", Action.TEMPERATURE, 18, {"climate.thermostat"}),
        ("I'm chilly, make it twenty degrees in here", Action.TEMPERATURE, 20, {"climate.thermostat"}),
        ("run the fan at a hundred percent", Action.FAN_SPEED, 100, {"fan.workshop_fan"}),
        ("start the fan in the workshop up", Action.TURN_ON, None, {"fan.workshop_fan"}),
        ("fire up the lathe", Action.TURN_ON, None, {"switch.lathe"}),
        ("power the lathe down", Action.TURN_OFF, None, {"switch.lathe"}),
        ("unbolt the front door", Action.UNLOCK, None, {"lock.front_door"}),
        ("the front door lock needs locking", Action.LOCK, None, {"lock.front_door"}),
        ("lock the door in the hallway", Action.LOCK, None, {"lock.front_door"}),
        ("the desk lamp in the study, switch it on", Action.TURN_ON, None, {"light.study_desk_lamp"}),
        ("turn the heat to 21", Action.TEMPERATURE, 21, {"climate.thermostat"}),
        ("set the air conditioning to 19 degrees", Action.TEMPERATURE, 19, {"climate.thermostat"}),
        ("thermostat 22 please", Action.TEMPERATURE, 22, {"climate.thermostat"}),
        ("unlock the door", Action.UNLOCK, None, {"lock.front_door"}),
        ("kill all the lights in the kitchen", Action.TURN_OFF, None, {"light.kitchen", "light.kitchen_ceiling"}),
        ("switch off the lights upstairs", Action.TURN_OFF, None, {"light.bedroom"}),
    ],
)
async def test_resolves_one_command(
    hass: HomeAssistant, home: SimulatedHome, sentence: str, action: Action, value: float | None, targets: set[str]
) -> None:
    command = resolve(hass, sentence)
    assert command is not None, sentence
    assert (command.action, command.value, set(command.entity_ids)) == (action, value, targets)


@pytest.mark.parametrize(
    "sentence",
    [
        # ambiguous: which light, which desk lamp, two targets, two actions, two places, two numbers
        "turn on the light",
        "turn on the desk lamp",
        "turn on the kitchen light and the bedroom light",
        "turn the kitchen light on and then off",
        "turn on the lights in the kitchen and the bedroom",
        "set the kitchen light to 40 and 50 percent",
        "let some light in, living room blinds to 80 percent",
        "make it 22 degrees",  # fine with one thermostat; see test_one_thermostat_is_implied
        # unknown: no such device or area, a device word beside an unknown word, hidden from Assist
        "put a light on up in the attic",
        "switch on the sprinklers",
        "turn on the christmas lights in the kitchen",
        "turn on the oven light",
        "turn on the kitchen light strip",
        "preheat the oven to 180 degrees",
        "turn on the hidden heater",
        "turn on the switch in the bedroom",
        "turn on the kitchen light in the bedroom",
        "open the bedroom window",
        # not a command: a question, a negation, a time, no action, small talk
        "is the kitchen light on",
        "don't turn on the kitchen light",
        "turn on the kitchen light in ten minutes",
        "the kitchen light",
        "dim the kitchen light",
        "make me a coffee",
        "water the garden",
        "",
        # an action that does not suit the device, a number without a setting word
        "open the kitchen light",
        "turn on the living room blinds",
        "lock the lathe",
        "set the lathe to 50 percent",
        "set the kitchen light to 40",
        "turn off the kitchen light to 30 percent",
        "set the thermostat to 30 percent",
        "set the blinds brightness to 30 percent",
        "raise the heating",
        "set the kitchen light brightness to 20 degrees",
        "turn on the lamp and the fan in the workshop",
        "turn off the light switch in the kitchen",
        # a lone "door" is not the garage's; a degree or a time the resolver cannot honour
        "open the door",
        "open the living room blinds a bit",
        "turn the heating on at 7",
        "set the thermostat at 20",
        "switch on the air conditioning",
    ],
)
async def test_refuses(hass: HomeAssistant, home: SimulatedHome, sentence: str) -> None:
    if sentence == "make it 22 degrees":  # two thermostats: which one?
        home.add_home([], [Device("t2", "Study heater", "Study")], [_thermostat("climate.study", "Study heater")])
    assert resolve(hass, sentence) is None, sentence


def _thermostat(entity_id: str, name: str) -> Entity:
    attributes = {"temperature": 20, "min_temp": 7, "max_temp": 35, "supported_features": 1, "hvac_modes": ["heat"]}
    return Entity(entity_id, name, "Study", "heat", attributes, device="t2")


async def test_one_thermostat_is_implied(hass: HomeAssistant, home: SimulatedHome) -> None:
    command = resolve(hass, "make it 22 degrees")
    assert command is not None and command.entity_ids == {"climate.thermostat"}


def test_device_words_together() -> None:
    """Adjacent device words mean what both can mean."""
    assert _readings(("garage", "door")) == (DeviceReading("cover", frozenset({"garage"})),)
    assert _readings(("door", "lock")) == (DeviceReading("lock"),)
    assert _readings(("blinds", "cover")) == (DeviceReading("cover", DEVICE_WORDS["blinds"][0].device_classes),)
    assert _readings(("light", "switch")) == ()
    assert _readings(("window", "garage")) == ()


async def test_device_words_in_a_sentence(hass: HomeAssistant, home: SimulatedHome) -> None:
    command = resolve(hass, "lock the door lock in the hallway")
    assert command is not None and command.entity_ids == {"lock.front_door"}


def test_words_and_numbers() -> None:
    words = tokens("Set it to Twenty-Five % — and 21.5°C, one hundred per cent, a hundred, ninety")
    assert [(n.value, n.unit) for n in numbers(words, set())] == [
        (25, "percent"),
        (21.5, "degrees"),
        (100, "percent"),
        (100, None),
        (90, None),
    ]
    assert numbers(tokens("light 2 to 30 percent"), skip={1}) == numbers(tokens("light x to 30 percent"), set())


async def _say(hass: HomeAssistant, text: str, language: str = "en") -> intent.IntentResponse | None:
    user_input = conversation.ConversationInput(
        text=text, context=Context(), conversation_id=None, device_id=None, satellite_id=None,
        language=language, agent_id=None,
    )  # fmt: skip
    return await async_resolve_command(hass, user_input)


async def test_acts_through_home_assistants_intents(hass: HomeAssistant, home: SimulatedHome) -> None:
    """The state changes as Home Assistant's intent changes it (its service calls), and the reply says what."""
    cases: list[tuple[str, str, str, dict[str, Any], str]] = [
        ("kill the light in the bedroom", "light", "turn_off", {}, "Turned off the Bedroom light."),
        ("dim the bedroom light down to twenty percent", "light", "turn_on", {"brightness_pct": 20}, "Set the "),
        ("crank the heating up to 23 degrees", "climate", "set_temperature", {"temperature": 23}, "Set the "),
        ("bring the lounge blinds down to 30 percent", "cover", "set_cover_position", {"position": 30}, "Set the "),
        ("run the workshop fan at 60 percent", "fan", "turn_on", {"percentage": 60}, "Set the Workshop fan to 60"),
        ("unbolt the front door", "lock", "unlock", {}, "Unlocked the Front door."),
        ("shut the garage", "cover", "close_cover", {}, "Closing the Garage door."),
        ("kill the lights in the kitchen", "light", "turn_off", {}, "Turned off the "),
    ]
    for sentence, domain, service, data, reply in cases:
        home.calls.clear()
        response = await _say(hass, sentence)
        assert response is not None, sentence
        assert response.response_type is intent.IntentResponseType.ACTION_DONE
        assert response.speech["plain"]["speech"].startswith(reply), response.speech
        assert [(d, s) for d, s, _ in home.calls] == [(domain, service)] * len(home.calls) and home.calls
        assert all(call[2].items() >= data.items() for call in home.calls), home.calls
    assert {c[2]["entity_id"][0] for c in home.calls} == {"light.kitchen", "light.kitchen_ceiling"}
    assert "Kitchen light" in response.speech["plain"]["speech"] and " and the " in response.speech["plain"]["speech"]
    assert hass.states.get("light.bedroom").attributes["brightness"] == 51  # type: ignore[union-attr]
    assert hass.states.get("climate.thermostat").attributes["temperature"] == 23  # type: ignore[union-attr]


async def test_nothing_done_is_not_claimed(hass: HomeAssistant, home: SimulatedHome) -> None:
    """Home Assistant's intent rejects the number (a fan speed over 100 %), or the sentence is not English:
    nothing is done and the resolver returns nothing, so the agent's refusal stands."""
    assert resolve(hass, "run the workshop fan at 150 percent") is not None
    assert await _say(hass, "run the workshop fan at 150 percent") is None
    assert await _say(hass, "kill the light in the bedroom", language="de") is None
    assert await _say(hass, "switch on the sprinklers") is None
    assert home.calls == []


async def test_a_failure_is_said(hass: HomeAssistant, home: SimulatedHome) -> None:
    """One of two lights fails: the reply says that one of the two failed; when every one fails,
    nothing is claimed (an area target is a success in Home Assistant's response even then)."""

    async def broken(call: ServiceCall) -> None:
        if "light.kitchen_ceiling" in call.data["entity_id"]:
            raise RuntimeError("bulb gone")
        await home._handle(call)

    hass.services.async_register("light", "turn_off", broken)
    for entity_id in ("light.kitchen", "light.kitchen_ceiling"):
        hass.states.async_set(entity_id, "on", {"friendly_name": hass.states.get(entity_id).name})  # type: ignore[union-attr]
    response = await _say(hass, "kill the lights in the kitchen")
    assert response is not None
    said = response.speech["plain"]["speech"]
    assert said.startswith("Tried: turned off the ") and said.endswith(", but 1 of the 2 failed."), said
    assert hass.states.get("light.kitchen").state == "off"  # type: ignore[union-attr]
    assert hass.states.get("light.kitchen_ceiling").state == "on"  # type: ignore[union-attr]

    async def dead(call: ServiceCall) -> None:
        raise RuntimeError("no power")

    hass.services.async_register("light", "turn_off", dead)
    assert await _say(hass, "kill the lights in the kitchen") is None
    assert await _say(hass, "kill the kitchen light") is None


async def test_agent_order_weak_model(
    hass: HomeAssistant, home: SimulatedHome, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """Weak model: Home Assistant's intents first, then the resolver, then Home Assistant's error or the plain
    refusal; the model is never asked."""
    backend.tool_calling = "weak"
    await setup_entry(hass, config_entry)
    backend.chat_turns = [{"content": "The bedroom light is turned off."}]
    said = await _converse(hass, "turn on the kitchen light")
    assert (last_path(), hass.states.get("light.kitchen").state) == ("ha_intents", "on")  # type: ignore[union-attr]
    said = await _converse(hass, "kill the light in the bedroom")
    assert last_path() == "resolver" and speech(said) == "Turned off the Bedroom light."
    assert hass.states.get("light.bedroom").state == "off"  # type: ignore[union-attr]
    home.calls.clear()
    said = await _converse(hass, "switch on the sprinklers")
    assert last_path() == "ha_intents" and said.response.response_type is intent.IntentResponseType.ERROR
    said = await _converse(hass, "make me a coffee")
    assert last_path() == "not_understood" and speech(said) == NOT_UNDERSTOOD and not claims_state_change(speech(said))
    assert home.calls == [] and chat_requests(backend) == []


async def test_strong_model_is_not_preempted(
    hass: HomeAssistant, home: SimulatedHome, backend: BackendDouble, config_entry: MockConfigEntry
) -> None:
    """A model with reliable tools gets what Home Assistant's intents leave, as before: the resolver is not
    used (the model reads the conversation, which the resolver cannot)."""
    backend.tool_calling = "reliable"
    await setup_entry(hass, config_entry)
    backend.chat_turns = [{"content": "Which light do you mean?"}]
    said = await _converse(hass, "kill the light in the bedroom")
    assert last_path() == "llm" and speech(said) == "Which light do you mean?"
    assert hass.states.get("light.bedroom").state == "on" and home.calls == []  # type: ignore[union-attr]
    assert len(chat_requests(backend)) == 1


async def _converse(hass: HomeAssistant, text: str) -> conversation.ConversationResult:
    return await conversation.async_converse(hass, text, None, Context(), language="en", agent_id=agent_id(hass))
