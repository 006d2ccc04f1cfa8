"""The words of the command resolver (resolver.py): tokens, numbers, actions and device words.

Written from general English and Home Assistant's own vocabulary (its domains and device classes), not from
any evaluation sentence. Pure functions over a sentence's tokens; the home's names come from resolver.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What a command asks for; the set actions carry a number."""

    TURN_ON = "turn_on"
    TURN_OFF = "turn_off"
    OPEN = "open"
    CLOSE = "close"
    LOCK = "lock"
    UNLOCK = "unlock"
    BRIGHTNESS = "brightness"
    POSITION = "position"
    TEMPERATURE = "temperature"
    FAN_SPEED = "fan_speed"


# The actions each domain suits (a blind is opened, not turned on; a lock is locked, not opened).
SUITS: dict[str, frozenset[Action]] = {
    "light": frozenset({Action.TURN_ON, Action.TURN_OFF, Action.BRIGHTNESS}),
    "switch": frozenset({Action.TURN_ON, Action.TURN_OFF}),
    "input_boolean": frozenset({Action.TURN_ON, Action.TURN_OFF}),
    "fan": frozenset({Action.TURN_ON, Action.TURN_OFF, Action.FAN_SPEED}),
    "cover": frozenset({Action.OPEN, Action.CLOSE, Action.POSITION}),
    "valve": frozenset({Action.OPEN, Action.CLOSE, Action.POSITION}),
    "lock": frozenset({Action.LOCK, Action.UNLOCK}),
    "climate": frozenset({Action.TEMPERATURE}),
}


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One meaning of a device word: a domain, optionally only some of its device classes."""

    domain: str
    device_classes: frozenset[str] | None = None


_SHADES = frozenset({"blind", "shade", "shutter", "curtain", "awning"})
# Device words (singular and plural) and what they can mean; a word may mean several things ("door": a door
# cover or a lock), and the action picks the meaning that suits it.
DEVICE_WORDS: dict[str, tuple[DeviceReading, ...]] = {
    **dict.fromkeys(("light", "lights", "lamp", "lamps", "bulb", "bulbs", "lighting"), (DeviceReading("light"),)),
    **dict.fromkeys(
        ("blind", "blinds", "shade", "shades", "shutter", "shutters", "curtain", "curtains", "awning", "awnings"),
        (DeviceReading("cover", _SHADES),),
    ),
    **dict.fromkeys(("cover", "covers"), (DeviceReading("cover"),)),
    "garage": (DeviceReading("cover", frozenset({"garage"})),),
    **dict.fromkeys(("gate", "gates"), (DeviceReading("cover", frozenset({"gate"})),)),
    **dict.fromkeys(("window", "windows"), (DeviceReading("cover", frozenset({"window"})),)),
    **dict.fromkeys(("door", "doors"), (DeviceReading("cover", frozenset({"door"})), DeviceReading("lock"))),
    **dict.fromkeys(("lock", "locks", "deadbolt"), (DeviceReading("lock"),)),
    **dict.fromkeys(
        (
            "heating",
            "heat",
            "heater",
            "thermostat",
            "thermostats",
            "radiator",
            "radiators",
            "temperature",
            "hvac",
            "aircon",
            "air",
            "conditioning",
            "conditioner",
        ),
        (DeviceReading("climate"),),
    ),
    **dict.fromkeys(("fan", "fans", "ventilator", "ventilation", "extractor"), (DeviceReading("fan"),)),
    **dict.fromkeys(
        ("switch", "switches", "plug", "plugs", "outlet", "outlets", "socket", "sockets"), (DeviceReading("switch"),)
    ),
    **dict.fromkeys(("valve", "valves"), (DeviceReading("valve"),)),
}
# Device words that mean something else together than each alone: a lone "door" is a door or a lock, never the
# garage's ("open the door" must not open the garage).
COMPOUNDS: dict[tuple[str, ...], tuple[DeviceReading, ...]] = {
    ("garage", word): (DeviceReading("cover", frozenset({"garage"})),) for word in ("door", "doors")
}
# Words that are verbs at the start of a clause and device words after a determiner ("switch on the lamp",
# "turn off the switch").
VERB_OR_DEVICE = frozenset({"switch", "lock"})
DETERMINERS = frozenset({"the", "a", "an", "my", "our", "your", "this", "that", "these", "those", "all", "both"})

# Words that make a sentence something other than one plain command: questions, statements about the home,
# negations, conditions and times (which the resolver cannot honour), and more than one wish.
NOT_A_COMMAND = frozenset({
    "is", "are", "was", "were", "isn't", "aren't", "wasn't", "weren't", "what", "what's", "whats", "which", "who",
    "why", "when", "whenever", "where", "how", "how's", "whether", "if", "unless", "until", "does", "did", "do",
    "don't", "dont", "doesn't", "didn't", "not", "never", "no", "nothing", "cannot", "can't", "won't", "minute",
    "minutes", "hour", "hours", "second", "seconds", "tomorrow", "tonight", "later", "morning", "evening", "pm",
    "o'clock", "timer", "schedule", "every", "each", "except", "or", "toggle",
    # a degree the resolver cannot honour ("open the blinds a bit": not fully)
    "bit", "little", "slightly", "partly", "partially", "halfway", "half", "somewhat", "more", "less",
})  # fmt: skip

# Single words that say an action.
ACTION_WORDS: dict[str, Action] = {
    "on": Action.TURN_ON,
    "off": Action.TURN_OFF,
    "activate": Action.TURN_ON,
    "enable": Action.TURN_ON,
    "deactivate": Action.TURN_OFF,
    "disable": Action.TURN_OFF,
    "kill": Action.TURN_OFF,
    "open": Action.OPEN,
    "opening": Action.OPEN,
    "close": Action.CLOSE,
    "closing": Action.CLOSE,
    "shut": Action.CLOSE,
    "raise": Action.OPEN,  # said of a blind; of the heating or a light it suits nothing and is refused
    "lower": Action.CLOSE,
    "lock": Action.LOCK,
    "locking": Action.LOCK,
    "bolt": Action.LOCK,
    "unlock": Action.UNLOCK,
    "unlocking": Action.UNLOCK,
    "unbolt": Action.UNLOCK,
    # "stop the blinds" asks to halt them, not to turn them off: covers do not suit TURN_OFF, so it is refused.
    "start": Action.TURN_ON,
    "stop": Action.TURN_OFF,
}
# Verb + particle pairs that say an action ("fire up", "power down", "shut off"): the verb, then the particle
# later in the clause. They win over the single words above ("shut off" turns off, it does not close).
PHRASAL: dict[tuple[str, str], Action] = {
    ("fire", "up"): Action.TURN_ON,
    ("power", "up"): Action.TURN_ON,
    ("start", "up"): Action.TURN_ON,
    ("power", "down"): Action.TURN_OFF,
    ("shut", "down"): Action.TURN_OFF,
    ("shut", "off"): Action.TURN_OFF,
    ("roll", "up"): Action.OPEN,
    ("roll", "down"): Action.CLOSE,
}

PERCENT_WORDS = frozenset({"percent", "per", "cent", "pct"})
DEGREE_WORDS = frozenset({"degree", "degrees", "celsius", "fahrenheit"})
# A bare number is read as the setting only after "to" or a word that names it ("dim the lamp to 40", "kitchen
# light brightness 70"), never beside an action word ("turn the heating on at 7" may be a time).
SETTING_WORDS: dict[str, Action] = {
    "brightness": Action.BRIGHTNESS,
    "dim": Action.BRIGHTNESS,
    "brighten": Action.BRIGHTNESS,
    "position": Action.POSITION,
    "speed": Action.FAN_SPEED,
}

# Words that may stand next to a device's name or device word without changing what it refers to (an unknown
# word there, "christmas lights", "oven light", "light strip", may be a device this home does not have).
NEIGHBOURS = frozenset({
    ",", "the", "a", "an", "my", "our", "your", "this", "that", "these", "those", "all", "both", "some", "it", "them",
    "me", "us", "you", "i", "i'm", "we", "please", "for", "to", "at", "in", "on", "off", "up", "down", "of", "with",
    "by", "into", "now", "right", "away", "again", "too", "just", "kindly", "could", "can", "would", "will",
    "need", "needs", "want", "wants", "and", "then", "so", "thanks", "thank", "quickly", "fully", "completely",
    "way", "here", "there", "set", "turn", "switch", "put", "get", "make", "bring", "run", "let", "keep",
    "go", "start", "fire", "power", "roll", "crank", "drop", "raise", "lower", "change", "adjust",
})  # fmt: skip

# How a room feels: said with a temperature and no device ("I'm cold, make it 22 degrees"), the heating is meant.
COMFORT_WORDS = frozenset({"cold", "warm", "hot", "chilly", "freezing", "cool", "cosy", "cozy", "warmer", "cooler"})

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|,|%|°")


def tokens(text: str) -> list[str]:
    """Lower-case words, numbers, commas, % and °: "Kitchen light to 50%!" -> kitchen light to 50 %."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    return _TOKEN.findall(text)


@dataclass(frozen=True, slots=True)
class Number:
    """A number said in a sentence: its value, where it is, and its unit word, if any."""

    value: float
    start: int
    end: int  # one past its last token, units included
    unit: str | None  # "percent" | "degrees" | None


def numbers(words: list[str], skip: set[int]) -> list[Number]:
    """The numbers of the sentence, in digits or words ("twenty five", "a hundred"), with their unit; tokens
    in `skip` (a device's name: "Light 2") are not read."""
    found: list[Number] = []
    i = 0
    while i < len(words):
        value, end = _number_at(words, i) if i not in skip else (None, i + 1)
        if value is None:
            i = max(end, i + 1)
            continue
        unit = None
        if end < len(words) and (words[end] in PERCENT_WORDS or words[end] == "%"):
            unit = "percent"
            end += 2 if words[end] == "per" and end + 1 < len(words) and words[end + 1] == "cent" else 1
        elif end < len(words) and (words[end] in DEGREE_WORDS or words[end] == "°"):
            unit = "degrees"
            end += 1
            if end < len(words) and words[end] in DEGREE_WORDS:  # "degrees celsius"
                end += 1
        found.append(Number(value, i, end, unit))
        i = end
    return found


def _number_at(words: list[str], i: int) -> tuple[float | None, int]:
    """The number that starts at token i and the index after it, or (None, i)."""
    word = words[i]
    if word[0].isdigit():
        return float(word), i + 1
    if word in _TENS:
        value = _TENS[word]
        if i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10:
            return float(value + _UNITS[words[i + 1]]), i + 2
        return float(value), i + 1
    if word in _UNITS:
        if i + 1 < len(words) and words[i + 1] == "hundred":
            return float(_UNITS[word] * 100), i + 2
        return float(_UNITS[word]), i + 1
    if word == "hundred" or (word == "a" and i + 1 < len(words) and words[i + 1] == "hundred"):
        return 100.0, i + (1 if word == "hundred" else 2)
    return None, i
