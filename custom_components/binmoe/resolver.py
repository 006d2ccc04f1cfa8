"""A deterministic command resolver for sentences Home Assistant's and BinMoE's intents did not handle.

"kill the light in the bedroom", "crank the heating up to 23 degrees": Home Assistant's templates do not
read these, and a model weak at tools must not be trusted with them. The resolver reads the sentence against
the home as Home Assistant exposes it to Assist (entity names and aliases, areas and floors with their
aliases), device words ("lamp", "blinds", "heating": command_words.py), action words and numbers, and acts
only when exactly one action and exactly one target (an entity, or an area's devices of one kind) match and
the action suits the target's domain. It acts through Home Assistant's own intent handlers
(`intent.async_handle`, as the Assist LLM tools do), so the state changes exactly as Home Assistant's
intents change it, and says what was done only when the handler reports success. Anything else, a question,
a negation, a time, two targets or two actions, a device word next to an unknown word ("oven light"), a name
the home does not have, returns None: acting wrongly is far worse than the agent's honest refusal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.helpers import intent

from .command_words import (
    ACTION_WORDS,
    COMFORT_WORDS,
    COMPOUNDS,
    DEGREE_WORDS,
    DETERMINERS,
    DEVICE_WORDS,
    NEIGHBOURS,
    NOT_A_COMMAND,
    PERCENT_WORDS,
    PHRASAL,
    SETTING_WORDS,
    SUITS,
    VERB_OR_DEVICE,
    Action,
    DeviceReading,
    Number,
    numbers,
    tokens,
)
from .const import DOMAIN, LOGGER

ASSISTANT = conversation.DOMAIN  # what Assist sees: the entities exposed to it
_PERCENT_ACTIONS = frozenset({Action.BRIGHTNESS, Action.POSITION, Action.FAN_SPEED})
# Word actions that a number refines ("turn the lamp on to 40 %", "close the blinds to 30 %").
_WITH_NUMBER = frozenset({Action.TURN_ON, Action.OPEN, Action.CLOSE})
INTENTS: dict[Action, str] = {
    Action.TURN_ON: intent.INTENT_TURN_ON,
    Action.OPEN: intent.INTENT_TURN_ON,  # Home Assistant's own "open the garage door" is HassTurnOn
    Action.LOCK: intent.INTENT_TURN_ON,
    Action.TURN_OFF: intent.INTENT_TURN_OFF,
    Action.CLOSE: intent.INTENT_TURN_OFF,
    Action.UNLOCK: intent.INTENT_TURN_OFF,
    Action.BRIGHTNESS: "HassLightSet",
    Action.POSITION: intent.INTENT_SET_POSITION,
    Action.TEMPERATURE: "HassClimateSetTemperature",
    Action.FAN_SPEED: "HassFanSetSpeed",
}
_SLOT = {Action.BRIGHTNESS: "brightness", Action.POSITION: "position", Action.TEMPERATURE: "temperature"}
_DONE = {
    Action.TURN_ON: "Turned on {}.",
    Action.TURN_OFF: "Turned off {}.",
    Action.OPEN: "Opening {}.",
    Action.CLOSE: "Closing {}.",
    Action.LOCK: "Locked {}.",
    Action.UNLOCK: "Unlocked {}.",
    Action.BRIGHTNESS: "Set {} to {} % brightness.",
    Action.POSITION: "Set {} to position {} %.",
    Action.TEMPERATURE: "Set {} to {} degrees.",
    Action.FAN_SPEED: "Set {} to {} % speed.",
}


@dataclass(frozen=True, slots=True)
class Command:
    """What the resolver will ask Home Assistant to do: one intent, its slots, and the entities it must hit."""

    action: Action
    value: float | None
    intent_type: str
    slots: dict[str, Any]
    entity_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    ref: str  # entity id, area id or floor id


async def async_resolve_command(
    hass: HomeAssistant, user_input: conversation.ConversationInput
) -> intent.IntentResponse | None:
    """Carry out the sentence if it is one unambiguous command, through Home Assistant's intent; the
    intent's response with a plain reply of what was done, or None (nothing was done)."""
    if not (user_input.language or hass.config.language).lower().startswith("en"):
        return None  # the words are English
    command = resolve(hass, user_input.text)
    if command is None:
        return None
    try:
        response = await intent.async_handle(
            hass,
            DOMAIN,
            command.intent_type,
            command.slots,
            text_input=user_input.text,
            context=user_input.context,
            language=user_input.language,
            assistant=ASSISTANT,
            device_id=user_input.device_id,
            satellite_id=user_input.satellite_id,
        )
    except intent.IntentError as err:  # nothing done: the agent's refusal stands
        LOGGER.debug("Resolver's %s for %r failed: %s", command.intent_type, user_input.text, err)
        return None
    # Said done only for what Home Assistant reports done: an entity it acted on (an area target is listed as
    # a success even when every call in it failed).
    done = _entity_names(response.success_results)
    if response.response_type is not intent.IntentResponseType.ACTION_DONE or not done:
        return None
    response.async_set_speech(_reply(command, done, _entity_names(response.failed_results)))
    return response


def resolve(hass: HomeAssistant, text: str) -> Command | None:
    """The one command the sentence gives this home, or None when there is not exactly one."""
    words = tokens(text)
    if not words:
        return None
    names = _find_names(hass, words)
    in_names = {i for span in names for i in range(span.start, span.end)}
    if any(words[i] in NOT_A_COMMAND for i in range(len(words)) if i not in in_names):
        return None
    places = _find_places(hass, words, in_names)
    in_places = {i for span in places for i in range(span.start, span.end)}
    devices = _find_device_words(words, in_names, in_places)
    in_devices = {i for span in devices for i in range(span.start, span.end)}
    said = numbers(words, in_names)
    if len(said) > 1:
        return None
    in_numbers = {i for n in said for i in range(n.start, n.end)}
    known = in_names | in_places | in_devices | in_numbers
    if not all(_neighbours_known(words, span, known) for span in (*names, *devices)):
        return None
    possible = _possible_actions(words, said, in_names, in_devices)
    if possible is None:
        return None
    # "make it 22 degrees" names no device: degrees mean the heating, if every other word is a plain one (not
    # "preheat the oven to 180 degrees").
    implied_climate = (
        bool(said)
        and said[0].unit == "degrees"
        and not names
        and not devices
        and all(i in known or _plain(w) or w in COMFORT_WORDS for i, w in enumerate(words))
    )
    target = _target(hass, words, names, places, devices, possible, implied_climate)
    if target is None:
        return None
    states, slots = target
    domain = states[0].domain
    chosen = possible & SUITS.get(domain, frozenset())
    if len(chosen) != 1:
        return None
    action = next(iter(chosen))
    value = said[0].value if said else None
    if action is Action.FAN_SPEED:
        slots["percentage"] = {"value": int(value or 0)}
    elif action in _SLOT:
        slots[_SLOT[action]] = {"value": value if action is Action.TEMPERATURE else int(value or 0)}
    if action is not Action.TEMPERATURE:
        slots["domain"] = {"value": [domain]}
    return Command(action, value, INTENTS[action], slots, frozenset(s.entity_id for s in states))


def _possible_actions(
    words: list[str], said: list[Number], in_names: set[int], in_devices: set[int]
) -> frozenset[Action] | None:
    """The actions the sentence can mean before its target is known (a percentage is a brightness, a position or
    a fan speed: the target's domain decides), or None when its words disagree."""
    actions = _word_actions(words, in_names | in_devices)
    setting = {SETTING_WORDS[w] for i, w in enumerate(words) if w in SETTING_WORDS and i not in in_names}
    if not said:
        return frozenset(actions) if len(actions) == 1 and not setting else None
    number = said[0]
    if not actions <= _WITH_NUMBER:
        return None  # "turn off the lamp to 30 %"
    if number.unit is None and (actions or number.start == 0 or not _names_a_setting(words[number.start - 1])):
        return None  # a bare number beside an action, or not after "to" or a setting word: maybe a time
    if number.unit == "percent":
        possible = _PERCENT_ACTIONS
    elif number.unit == "degrees":
        possible = frozenset({Action.TEMPERATURE})
    else:
        possible = frozenset(setting or {Action.TEMPERATURE})
    if setting:  # "brightness 30 %" is a light's, never a blind's position
        possible &= setting
    return possible or None


def _target(
    hass: HomeAssistant,
    words: list[str],
    names: list[_Span],
    places: list[_Span],
    devices: list[_Span],
    actions: frozenset[Action],
    implied_climate: bool,
) -> tuple[list[State], dict[str, Any]] | None:
    """The one target (its states and the intent's target slots), or None. With `implied_climate`, a
    sentence without a device word means the heating."""
    areas = {span.ref for span in places if span.ref.startswith("area:")}
    floors = {span.ref for span in places if span.ref.startswith("floor:")}
    if len(areas) + len(floors) > 1:
        return None
    place = next(iter(areas | floors), None)
    phrases = {tuple(words[span.start : span.end]) for span in devices}
    readings = [_readings(phrase) for phrase in phrases]
    if names:
        if len({(span.start, span.end) for span in names}) != 1:
            return None  # two names: two targets
        entity_ids = {span.ref for span in names}
        if place is not None:  # a place said with the name must be its ("the desk lamp in the study")
            entity_ids &= _entities_in(hass, place)
        if len(entity_ids) != 1:
            return None  # a name several entities share, or not in the place said
        entity_id = next(iter(entity_ids))
        state = hass.states.get(entity_id)
        if state is None or not async_should_expose(hass, ASSISTANT, entity_id):
            return None
        # A device word beside the name must be able to mean it ("the front door lock").
        if any(not any(r.domain == state.domain for r in options) for options in readings):
            return None
        return _by_name(hass, state)
    if len(readings) > 1:
        return None
    options = readings[0] if readings else ()
    if not options and implied_climate:
        options = (DeviceReading("climate"),)  # "make it 22 degrees": degrees are the heating's
    found: dict[frozenset[str], list[State]] = {}
    for reading in options:
        if not actions & SUITS.get(reading.domain, frozenset()):
            continue
        match = intent.async_match_targets(hass, _in_place(place, {reading.domain}, reading.device_classes))
        if match.is_match:
            found[frozenset(s.entity_id for s in match.states)] = match.states
    if len(found) != 1:
        return None
    states = next(iter(found.values()))
    if len(states) == 1:
        return _by_name(hass, states[0])
    if place is None or any(s.domain != states[0].domain for s in states):
        return None  # "the lights" of the whole home: which ones?
    # All of one kind in one place, as Home Assistant's own "turn off the lights in the kitchen": checked to
    # be exactly these (a device-class reading narrower than the domain would not be).
    result = intent.async_match_targets(hass, _in_place(place, {states[0].domain}))
    if {s.entity_id for s in result.states} != {s.entity_id for s in states}:
        return None
    kind, _, ref = place.partition(":")
    return states, {kind: {"value": ref}}


def _by_name(hass: HomeAssistant, state: State) -> tuple[list[State], dict[str, Any]] | None:
    """Target one entity by a name of its that Home Assistant resolves to it alone (with its area if the name
    is shared); None if no name does."""
    entry = er.async_get(hass).async_get(state.entity_id)
    area_id = _area_of(hass, entry)
    for name in intent.async_get_entity_aliases(hass, entry, state=state, allow_empty=False):
        for area in (None, area_id):
            constraints = intent.MatchTargetsConstraints(
                name=name, area_name=area, domains={state.domain}, assistant=ASSISTANT
            )
            result = intent.async_match_targets(hass, constraints)
            if [s.entity_id for s in result.states] == [state.entity_id]:
                slots: dict[str, Any] = {"name": {"value": name, "text": name}}
                if area is not None:
                    slots["area"] = {"value": area}
                return [state], slots
    return None


def _in_place(
    place: str | None, domains: set[str] | None = None, device_classes: Collection[str] | None = None
) -> intent.MatchTargetsConstraints:
    """What Assist sees in a place ("area:<id>" or "floor:<id>"; None: the whole home), narrowed to `domains`
    and `device_classes` when given."""
    kind, _, ref = (place or "").partition(":")
    return intent.MatchTargetsConstraints(
        area_name=ref if kind == "area" else None,
        floor_name=ref if kind == "floor" else None,
        domains=domains,
        device_classes=device_classes,
        assistant=ASSISTANT,
    )


def _entities_in(hass: HomeAssistant, place: str) -> set[str]:
    return {s.entity_id for s in intent.async_match_targets(hass, _in_place(place)).states}


def _area_of(hass: HomeAssistant, entry: er.RegistryEntry | None) -> str | None:
    if entry is None:
        return None
    if entry.area_id:
        return entry.area_id
    if entry.device_id and (device := dr.async_get(hass).async_get(entry.device_id)):
        return device.area_id
    return None


def _names_a_setting(word: str) -> bool:
    return word == "to" or word in SETTING_WORDS or DEVICE_WORDS.get(word) == (DeviceReading("climate"),)


def _readings(phrase: tuple[str, ...]) -> tuple[DeviceReading, ...]:
    """What adjacent device words mean together ("garage door": a garage cover; "light switch": nothing)."""
    if phrase in COMPOUNDS:
        return COMPOUNDS[phrase]
    options = DEVICE_WORDS[phrase[0]]
    for word in phrase[1:]:
        merged = []
        for a in options:
            for b in DEVICE_WORDS[word]:
                if a.domain != b.domain:
                    continue
                if a.device_classes is None or b.device_classes is None:
                    classes = a.device_classes or b.device_classes
                else:
                    classes = a.device_classes & b.device_classes
                    if not classes:
                        continue
                merged.append(DeviceReading(a.domain, classes))
        options = tuple(merged)
    return options


def _find_names(hass: HomeAssistant, words: list[str]) -> list[_Span]:
    """Mentions of entities' names and aliases, longest first, not overlapping. Every entity's names count
    (a name of an entity Assist cannot see must not be read as another device); one name shared by several
    entities gives several spans over the same words."""
    registry = er.async_get(hass)
    phrases: dict[tuple[str, ...], set[str]] = {}
    for state in hass.states.async_all():
        entry = registry.async_get(state.entity_id)
        for name in intent.async_get_entity_aliases(hass, entry, state=state, allow_empty=False):
            if phrase := tuple(tokens(name)):
                phrases.setdefault(phrase, set()).add(state.entity_id)
    return _longest(words, phrases, set())


def _find_places(hass: HomeAssistant, words: list[str], taken: set[int]) -> list[_Span]:
    """Mentions of areas and floors (names and aliases) outside the names."""
    phrases: dict[tuple[str, ...], set[str]] = {}
    for area in ar.async_get(hass).async_list_areas():
        for name in (area.name, *area.aliases):
            if phrase := tuple(tokens(name)):
                phrases.setdefault(phrase, set()).add(f"area:{area.id}")
    for floor in fr.async_get(hass).async_list_floors():
        for name in (floor.name, *floor.aliases):
            if phrase := tuple(tokens(name)):
                phrases.setdefault(phrase, set()).add(f"floor:{floor.floor_id}")
    return _longest(words, phrases, taken)


def _longest(words: list[str], phrases: dict[tuple[str, ...], set[str]], taken: set[int]) -> list[_Span]:
    spans: list[_Span] = []
    used = set(taken)
    for phrase in sorted(phrases, key=len, reverse=True):
        size = len(phrase)
        for start in range(len(words) - size + 1):
            covered = range(start, start + size)
            if tuple(words[start : start + size]) == phrase and not used.intersection(covered):
                spans.extend(_Span(start, start + size, ref) for ref in sorted(phrases[phrase]))
                used.update(covered)
    return spans


def _find_device_words(words: list[str], in_names: set[int], in_places: set[int]) -> list[_Span]:
    """Runs of device words outside the names. A place's word may also be a device word ("open the garage"). A
    word that is also a verb ("switch", "lock") is a device word only after a determiner or a place."""
    spans: list[_Span] = []
    i = 0
    while i < len(words):
        if not _device_word_at(words, i, in_names, in_places):
            i += 1
            continue
        end = i + 1
        while end < len(words) and words[end] in DEVICE_WORDS and end not in in_names:
            end += 1
        spans.append(_Span(i, end, "device"))
        i = end
    return spans


def _device_word_at(words: list[str], i: int, in_names: set[int], in_places: set[int]) -> bool:
    if words[i] not in DEVICE_WORDS or i in in_names:
        return False
    if words[i] in VERB_OR_DEVICE:
        return i > 0 and (words[i - 1] in DETERMINERS or i - 1 in in_places)
    return True


def _neighbours_known(words: list[str], span: _Span, known: set[int]) -> bool:
    """The words just before and after a name or device word are ones that do not change what it means."""
    for i in (span.start - 1, span.end):
        if 0 <= i < len(words) and i not in known and not _plain(words[i]):
            return False
    return True


def _plain(word: str) -> bool:
    return (
        word in NEIGHBOURS
        or word in ACTION_WORDS
        or word in SETTING_WORDS
        or word in PERCENT_WORDS
        or word in DEGREE_WORDS
    )


def _word_actions(words: list[str], skip: set[int]) -> set[Action]:
    """The actions the words say ("fire ... up", "kill", "off"), outside names and device words."""
    found: set[Action] = set()
    used: set[int] = set(skip)
    for i, word in enumerate(words):
        if i in used:
            continue
        for j in range(i + 1, len(words)):
            if words[j] == ",":
                break
            if j not in used and (action := PHRASAL.get((word, words[j]))) is not None:
                found.add(action)
                used.update((i, j))
                break
    for i, word in enumerate(words):
        if i not in used and word in ACTION_WORDS:
            found.add(ACTION_WORDS[word])
    return found


def _reply(command: Command, done: list[str], failed: list[str]) -> str:
    """What was done, in the names Home Assistant reports; with a failure, how many failed (not which:
    Home Assistant 2026.10 pairs its failed calls with the wrong entities when several run at once)."""
    number = "" if command.value is None else f"{command.value:g}"
    if not failed:
        return _DONE[command.action].format(_join(done), number)
    tried = _DONE[command.action].format(_join(done + failed), number).rstrip(".")
    return f"Tried: {tried[0].lower()}{tried[1:]}, but {len(failed)} of the {len(done) + len(failed)} failed."


def _entity_names(targets: list[intent.IntentResponseTarget]) -> list[str]:
    names = [t.name for t in targets if t.type is intent.IntentResponseTargetType.ENTITY]
    return [name if name.lower().startswith("the ") else f"the {name}" for name in names]


def _join(parts: Iterable[str]) -> str:
    items = list(parts)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
