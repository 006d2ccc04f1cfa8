"""The sentences of the voice evaluation and what each must achieve, in the fixture home below.

Three kinds:
- `ha_template`: sampled with hassil from Home Assistant's own intent templates (`home-assistant-intents`)
  over the home's names and areas; the intent and slots are what Home Assistant's recognizer reads from
  the sentence, the expected *resulting state* is worked out here from the home (not by running it).
- `binmoe`: BinMoE questions about the nodes, with the facts the answer must contain (and bad input:
  nodes and areas that do not exist, which must get a clear answer).
- `paraphrase`: written by hand, no template produces them (checked: Home Assistant's and BinMoE's
  recognizers match none of them strictly); commands with their resulting state, questions with facts,
  and impossible requests that must change nothing and say so.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .voice_home import Device, Entity

# The fixture home. Lights have brightness, the blinds a position, the thermostat a target temperature.
_DIMMABLE = {"supported_color_modes": ["brightness"], "color_mode": "brightness"}
_ENTITIES = [
    Entity("light.kitchen", "Kitchen light", "Kitchen", "off", dict(_DIMMABLE)),
    Entity("light.living_room_lamp", "Living room lamp", "Living Room", "off", dict(_DIMMABLE)),
    Entity("light.bedroom", "Bedroom light", "Bedroom", "on", {**_DIMMABLE, "brightness": 128}),
    Entity(
        "cover.living_room_blinds",
        "Living room blinds",
        "Living Room",
        "closed",
        {"device_class": "blind", "supported_features": 15, "current_position": 0},
    ),
    Entity("cover.garage_door", "Garage door", "Garage", "closed", {"device_class": "garage", "supported_features": 3}),
    Entity(
        "climate.thermostat",
        "Thermostat",
        "Living Room",
        "heat",
        {
            "temperature": 20,
            "current_temperature": 19.5,
            "min_temp": 7,
            "max_temp": 35,
            "supported_features": 1,
            "hvac_modes": ["off", "heat"],
        },
    ),
    Entity("fan.workshop_fan", "Workshop fan", "Workshop", "off", {"supported_features": 1}),  # SET_SPEED
    Entity("switch.lathe", "Lathe", "Workshop", "off", {}),
    Entity("lock.front_door", "Front door", "Hallway", "unlocked", {}),
    Entity(
        "sensor.outside_temperature",
        "Outside temperature",
        "Garage",
        "12",
        {"unit_of_measurement": "°C", "device_class": "temperature"},
    ),
]
# Each entity is a device of its own (a bulb, a blind motor, a thermostat, ...) in the entity's area, named
# as it; registered as the assist dataset's homes are (benchmarks/voice_home.py, SimulatedHome.add_home).
HOME = [replace(entity, device=entity.entity_id) for entity in _ENTITIES]
HOME_DEVICES = [Device(entity.entity_id, entity.name, entity.area) for entity in HOME]
# BinMoE nodes of the fixture home: (node id, task, area, [(kind, class, confidence)] oldest first).
NODES = [
    ("garage-sound", "sound", "Garage", [("escalation", "smoke_alarm", 0.55)]),
    ("kitchen-sound", "sound", "Kitchen", [("detection", "doorbell", 0.97), ("escalation", "appliance_beep", 0.5)]),
    ("lathe-vibration", "vibration", "Workshop", [("escalation", "bearing_outer", 0.52)]),
    ("pump-vibration", "vibration", "Basement", [("detection", "healthy", 0.99)]),
]
EXTRA_AREAS = ["Basement", "Attic"]  # areas with no BinMoE node, for the "no node there" answers
DRAWS_PER_INTENT, MIN_DRAWS_PER_TEMPLATE, DRAW_POOL, PER_DRAW = 240, 2, 50, 2  # see sample_template_sentences
NUMBERS_PER_DRAW = 6  # of a number range (percentages, temperatures), at random
_COVER_SET_POSITION = 4  # CoverEntityFeature.SET_POSITION
# Every intent of Home Assistant's this home can serve (tests/integration/test_voice_harness.py finds them
# by running each intent's templates in the home), in two kinds: commands, judged by the resulting state,
# and questions, judged by the facts of the answer.
ACTION_INTENTS = [
    "HassTurnOn",
    "HassTurnOff",
    "HassLightSet",
    "HassSetPosition",
    "HassClimateSetTemperature",
    "HassFanSetSpeed",
]
QUERY_INTENTS = ["HassGetState", "HassClimateGetTemperature"]
TEMPLATE_INTENTS = [*ACTION_INTENTS, *QUERY_INTENTS]
IMPLIED_DOMAINS = {
    "HassLightSet": {"light"},
    "HassSetPosition": {"cover", "valve"},
    "HassClimateSetTemperature": {"climate"},
    "HassClimateGetTemperature": {"climate"},
    "HassFanSetSpeed": {"fan"},
}
REFUSAL_WORDS = ("sorry", "not aware", "can't", "cannot", "don't", "no device", "couldn't", "unable", "not able")


@dataclass
class Case:
    """One sentence and what it must achieve: state changes, facts in the answer, or a refusal."""

    sentence: str
    kind: str  # ha_template | binmoe | paraphrase
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity -> expected state/attributes
    facts: list[str] = field(default_factory=list)  # each must occur in the reply ("a|b": either)
    refuse: bool = False  # impossible: nothing may change, and the reply must say it could not
    intent: str | None = None  # the template's intent (ha_template)

    @property
    def expects(self) -> str:
        return "state" if self.changes else "refusal" if self.refuse else "answer"


def _on(entity_id: str) -> dict[str, dict[str, Any]]:
    return {entity_id: {"state": "on"}}


def _off(entity_id: str) -> dict[str, dict[str, Any]]:
    return {entity_id: {"state": "off"}}


def _b(question: str, *facts: str) -> Case:
    return Case(question, "binmoe", facts=list(facts))


BINMOE_QUESTIONS = [
    _b("what did the garage sensor hear", "smoke alarm"),
    _b("what has the garage sensor heard today", "smoke alarm"),
    _b("what did the garage node detect", "smoke alarm"),
    _b("tell me what the garage sensor heard", "smoke alarm"),
    _b("what did the kitchen sensor hear", "appliance beeping", "doorbell"),
    _b("what was the kitchen sensor hearing", "appliance beeping"),
    _b("what did the pump sensor detect", "normal running"),
    _b("what did the lathe sensor pick up", "bearing"),
    _b("what did the lathe vibration sensor notice", "bearing"),
    _b("what did the workshop sensor hear", "bearing"),
    _b("what did the sensors hear", "smoke alarm", "bearing"),
    _b("why did the garage alarm go off", "smoke alarm", "diagnosis"),
    _b("why is the garage sensor beeping", "smoke alarm"),
    _b("what set off the garage sensor", "smoke alarm"),
    _b("why did the kitchen alarm go off", "appliance beeping"),
    _b("why did the lathe sensor trigger", "bearing", "diagnosis"),
    _b("why did the workshop sensor go off", "bearing"),
    _b("is the pump ok", "looks fine"),
    _b("is the pump sensor working properly", "looks fine"),
    _b("is the basement sensor ok", "looks fine"),
    _b("is the lathe okay", "attention", "bearing"),
    _b("how is the lathe doing", "attention"),
    _b("is the lathe vibration node healthy", "attention"),
    _b("status of the garage sensor", "attention", "smoke alarm"),
    _b("check the kitchen sensor", "appliance beeping"),
    _b("how many escalations today", "3 detections were escalated"),
    _b("how many escalations were there today", "3 detections were escalated"),
    _b("how many alarms today", "3 detections were escalated"),
    _b("how many escalations did we have today", "3 detections were escalated"),
    _b("how many times did the nodes escalate today", "handled 2"),
    _b("learn the baseline of the lathe sensor", "nothing was changed"),
    _b("start baseline learning for the pump", "nothing was changed"),
    _b("teach the lathe sensor what normal sounds like", "nothing was changed"),
    _b("calibrate the pump sensor", "nothing was changed"),
    # bad input: nodes and areas that do not exist
    _b("what did the attic sensor hear", "no binmoe node in the attic"),
    _b("why did the bedroom alarm go off", "no binmoe node in the bedroom"),
    _b("what did the living room sensor hear", "no binmoe node in the living room"),
    _b("is the dishwasher ok", "don't know a binmoe node called dishwasher"),
    _b("learn the baseline of the boiler", "don't know a binmoe node called boiler"),
    _b("what did the greenhouse sensor detect", "don't know a binmoe node called greenhouse"),
]


def _p(sentence: str, changes: dict[str, dict[str, Any]] | None = None, *facts: str) -> Case:
    return Case(sentence, "paraphrase", changes=changes or {}, facts=list(facts), refuse=not changes and not facts)


PARAPHRASES = [
    # lights
    _p("it is too dark in the kitchen", _on("light.kitchen")),
    _p("i need some light in the kitchen please", _on("light.kitchen")),
    _p("let there be light in the kitchen", _on("light.kitchen")),
    _p("can i get the living room lamp on", _on("light.living_room_lamp")),
    _p("get the living room lamp going", _on("light.living_room_lamp")),
    _p("i am reading in the living room and it is dark", _on("light.living_room_lamp")),
    _p("time for the bedroom light to rest", _off("light.bedroom")),
    _p("kill the bedroom light", _off("light.bedroom")),
    _p("the bedroom light can go off now", _off("light.bedroom")),
    _p("no more light in the bedroom please", _off("light.bedroom")),
    _p("i am going to sleep so darken the bedroom", _off("light.bedroom")),
    _p("please make the kitchen light as bright as it goes", {"light.kitchen": {"state": "on", "brightness": 255}}),
    _p("bring the bedroom light down to a quarter", {"light.bedroom": {"state": "on", "brightness": 64}}),
    _p("half brightness for the bedroom light please", {"light.bedroom": {"state": "on", "brightness": 128}}),
    _p(
        "the living room lamp at ten percent would be nice",
        {"light.living_room_lamp": {"state": "on", "brightness": 26}},
    ),
    _p("could the kitchen light be at seventy percent", {"light.kitchen": {"state": "on", "brightness": 178}}),
    # covers
    _p("let some daylight into the living room", {"cover.living_room_blinds": {"state": "opening"}}),
    _p("pull the living room blinds up", {"cover.living_room_blinds": {"state": "opening"}}),
    _p("i want to see outside in the living room, blinds up", {"cover.living_room_blinds": {"state": "opening"}}),
    _p("put the living room blinds halfway", {"cover.living_room_blinds": {"current_position": 50}}),
    _p("living room blinds a quarter of the way up please", {"cover.living_room_blinds": {"current_position": 25}}),
    _p("get the garage door out of the way", {"cover.garage_door": {"state": "opening"}}),
    _p("i am about to drive out, garage door up please", {"cover.garage_door": {"state": "opening"}}),
    _p("let the car out of the garage", {"cover.garage_door": {"state": "opening"}}),
    _p("could you get the garage door open", {"cover.garage_door": {"state": "opening"}}),
    # climate
    _p("i am cold, put the heating up to 22", {"climate.thermostat": {"temperature": 22}}),
    _p("warm the living room up to 23 degrees", {"climate.thermostat": {"temperature": 23}}),
    _p("i would like it at 19 degrees on the thermostat", {"climate.thermostat": {"temperature": 19}}),
    _p("the thermostat should be on 21 please", {"climate.thermostat": {"temperature": 21}}),
    _p("it is too warm, bring the thermostat down to 18", {"climate.thermostat": {"temperature": 18}}),
    # fan, switch, lock
    _p("get the workshop fan spinning", _on("fan.workshop_fan")),
    _p("it is stuffy in the workshop, fan on please", _on("fan.workshop_fan")),
    _p("i don't need the workshop fan anymore", _off("fan.workshop_fan")),
    _p("power up the lathe", _on("switch.lathe")),
    _p("i am done with the lathe, shut it down", _off("switch.lathe")),
    _p("make sure the front door is locked", {"lock.front_door": {"state": "locked"}}),
    _p("secure the front door please", {"lock.front_door": {"state": "locked"}}),
    _p("i am leaving, lock up the front door", {"lock.front_door": {"state": "locked"}}),
    # questions about the home
    _p("how warm is it outside right now", None, "12"),
    _p("what is the temperature outside at the moment", None, "12"),
    _p("has the garage door been left open", None, "closed"),
    _p("tell me if the kitchen light is on or off", None, "off"),
    # BinMoE questions no template covers
    _p("anything unusual from the garage lately", None, "smoke"),
    _p("did the workshop machine sound odd today", None, "bearing"),
    _p("give me a summary of what the sensors noticed", None, "smoke"),
    _p("any alarms i should know about", None, "smoke"),
    _p("was there a problem with the lathe", None, "bearing"),
    _p("has anything been escalated to the gpu tier today", None, "3"),
    # impossible: nothing may change, and the reply must say so
    _p("the attic needs some brightness, sort that out"),
    _p("get the kitchen fan whirring"),
    _p("let some fresh air in through the bedroom window"),
    _p("start the dishwasher"),
    _p("set the oven to 200 degrees"),
    _p("turn on the sprinklers in the garden"),
    _p("turn on the tv in the bedroom"),
    _p("unlock the back door"),
    _p("shut the sun out of the kitchen with the blinds"),
    _p("dim the hallway light to 20 percent"),
    _p("please feed the cat"),
    _p("order more coffee"),
]


def sample_template_sentences(seed: int, intent_names: Iterable[str] = TEMPLATE_INTENTS) -> list[tuple[str, str]]:
    """(intent, sentence) pairs sampled from Home Assistant's templates of `intent_names` over the home's
    names and areas, shuffled within each intent (the harness keeps the first ones of each it can judge).

    hassil enumerates a template in order, its first list value (name, area, device class) with every
    number and optional word before the next value: a pool of an intent's first sentences held only its
    first template's first area ("open up the blinds in the Living Room") and no name. So each template is
    drawn from several times (DRAWS_PER_INTENT spread over an intent's templates, at least
    MIN_DRAWS_PER_TEMPLATE), each time with every list in a new random order (and NUMBERS_PER_DRAW numbers
    of a range at random), PER_DRAW expansions at random from the first DRAW_POOL. `{name}` holds only the
    names of the entities a template's data can target (its `requires_context` domain): a position
    template drawn over every name named a light nine times in ten, which Home Assistant then rightly does
    not read as a position command (the 209-sentence sample had no position command at all)."""
    from hassil import Intents
    from hassil.intents import RangeSlotList, SlotList, TextSlotList
    from hassil.sample import sample_sentence
    from home_assistant_intents import get_intents

    english = get_intents("en")
    assert english is not None, "home-assistant-intents has no English templates"
    intents = Intents.from_dict(english)
    areas = TextSlotList.from_strings(sorted({entity.area for entity in HOME if entity.area}))
    rng = random.Random(seed)

    def shuffled(names: list[str]) -> dict[str, SlotList]:
        lists: dict[str, SlotList] = {**intents.slot_lists, "area": areas, "name": TextSlotList.from_strings(names)}
        return {key: _reordered(key, values) for key, values in lists.items()}

    def _reordered(key: str, values: SlotList) -> SlotList:
        if isinstance(values, TextSlotList):
            return TextSlotList(key, rng.sample(values.values, len(values.values)))
        if isinstance(values, RangeSlotList):  # numbers too come in order: 0, 0.5, 1, ... (no "set it to 70")
            numbers = rng.sample(list(values.get_numbers()), NUMBERS_PER_DRAW)
            return TextSlotList.from_tuples([(f"{number:g}", number) for number in numbers], name=key)
        return values

    chosen: list[tuple[str, str]] = []
    for intent_name in intent_names:
        drawable = []
        for data in intents.intents[intent_name].data:
            rules = {**intents.expansion_rules, **(data.expansion_rules or {})}
            names = _names_for(data.requires_context or {})
            for template in data.sentences:
                available = {*intents.slot_lists, "area", *(["name"] if names else [])}
                if any(
                    name in data.wildcard_list_names or name not in available for name in template.list_names(rules)
                ):
                    continue  # a wildcard, or a list the home has nothing for (floors, zones, no such domain)
                drawable.append((template, rules, names))
        draws = max(MIN_DRAWS_PER_TEMPLATE, -(-DRAWS_PER_INTENT // max(1, len(drawable))))
        pool: list[str] = []
        for template, rules, names in drawable:
            for _ in range(draws):
                expansions = list(itertools.islice(sample_sentence(template, shuffled(names), rules), DRAW_POOL))
                pool.extend(rng.sample(expansions, min(PER_DRAW, len(expansions))))
        pool = list(dict.fromkeys(pool))
        rng.shuffle(pool)
        chosen.extend((intent_name, text) for text in pool)
    return chosen


def _names_for(context: dict[str, Any]) -> list[str]:
    """The names of the home's entities a template's `requires_context` allows (its domain)."""
    domains = context.get("domain")
    allowed = None if domains is None else set(domains if isinstance(domains, list) else [domains])
    return [e.name for e in HOME if allowed is None or e.entity_id.split(".")[0] in allowed]


def expected_outcome(intent: str, slots: dict[str, Any], response: str | None) -> Case | None:
    """What a template sentence read as `intent` with `slots` (and Home Assistant's response key) must do
    in the home, worked out from the home here, not by running it: the resulting state of a command, the
    facts in the answer to a question. None when it names nothing this evaluation models (not a case)."""
    if intent in QUERY_INTENTS:
        facts = _expected_facts(intent, slots, response)
        return None if facts is None else Case("", "ha_template", facts=facts, intent=intent)
    changes = expected_changes(intent, slots)
    return None if changes is None else Case("", "ha_template", changes=changes, intent=intent)


def expected_changes(intent: str, slots: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The state a template command must leave in the home, worked out from its slots; None when the
    command names nothing this evaluation models (it is not used then)."""
    targets = _targets(intent, slots)
    if not targets:
        return None
    changes: dict[str, dict[str, Any]] = {}
    for entity in targets:
        domain = entity.entity_id.split(".")[0]
        change = _change(intent, domain, slots, entity)
        if change is None:
            return None
        changes[entity.entity_id] = change
    return changes


def _expected_facts(intent: str, slots: dict[str, Any], response: str | None) -> list[str] | None:
    """The answer to a question about one entity of the home, as it starts: its temperature (a thermostat),
    yes or no ("is the front door locked"), or its state ("what is the outside temperature"). Questions
    over several entities ("are any lights on", "which ...") are Home Assistant's counting policy, not
    modelled here."""
    targets = _targets(intent, slots)
    if len(targets) != 1:
        return None
    entity = targets[0]
    if intent == "HassClimateGetTemperature":
        return [_number(entity.attributes["current_temperature"])]
    if response == "one_yesno" and "state" in slots:
        return ["yes"] if entity.state == str(slots["state"]).lower() else [f"no, {entity.state}"]
    if response in ("one", "default") and "state" not in slots:
        return [entity.state]
    return None


def _number(value: Any) -> str:
    return f"{float(value):g}"


def _targets(intent: str, slots: dict[str, Any]) -> list[Entity]:
    """The home's entities a sentence's slots name, with the domain its intent implies (a thermostat's
    intents, brightness, positions); an area alone with no such domain names nothing modelled here
    (which devices Home Assistant picks then is its own policy)."""

    def as_set(value: Any) -> set[str]:
        values = value if isinstance(value, list | tuple | set) else [value]
        return {str(v).lower() for v in values}

    implied = IMPLIED_DOMAINS.get(intent)
    found = [e for e in HOME if implied is None or e.entity_id.split(".")[0] in implied]
    if "name" in slots:
        found = [e for e in found if e.name.lower() in as_set(slots["name"])]
    if "area" in slots:
        found = [e for e in found if e.area and e.area.lower() in as_set(slots["area"])]
    if "domain" in slots:
        found = [e for e in found if e.entity_id.split(".")[0] in as_set(slots["domain"])]
    if "device_class" in slots:
        found = [e for e in found if str(e.attributes.get("device_class", "")).lower() in as_set(slots["device_class"])]
    if "name" not in slots and "domain" not in slots and implied is None:
        return []
    return [e for e in found if intent in QUERY_INTENTS or not e.entity_id.startswith("sensor.")]


def _change(intent: str, domain: str, slots: dict[str, Any], entity: Entity) -> dict[str, Any] | None:
    on = intent == "HassTurnOn"
    if intent in ("HassTurnOn", "HassTurnOff"):
        return {
            "light": {"state": "on" if on else "off"},
            "fan": {"state": "on" if on else "off"},
            "switch": {"state": "on" if on else "off"},
            "cover": {"state": "opening" if on else "closing"},
            "lock": {"state": "locked" if on else "unlocked"},
        }.get(domain)
    if intent == "HassLightSet" and domain == "light" and "brightness" in slots:
        return {"state": "on", "brightness": round(float(slots["brightness"]) * 255 / 100)}
    if intent == "HassSetPosition" and domain == "cover" and "position" in slots:
        if not int(entity.attributes.get("supported_features", 0)) & _COVER_SET_POSITION:
            return None  # Home Assistant rightly refuses a position to a cover that has none (the garage door)
        return {"current_position": int(slots["position"])}
    if intent == "HassFanSetSpeed" and domain == "fan" and int(slots.get("percentage", 0)) > 0:
        return {"state": "on", "percentage": int(slots["percentage"])}  # (0 % is off for a real fan: not modelled)
    if intent == "HassClimateSetTemperature" and domain == "climate" and "temperature" in slots:
        if not entity.attributes["min_temp"] <= float(slots["temperature"]) <= entity.attributes["max_temp"]:
            return None  # a thermostat refuses a setting outside its range (Home Assistant does not check it)
        return {"temperature": float(slots["temperature"])}
    return None
