"""command_words.py: the resolver's words. Tokens, numbers in digits and words with their units, and the
consistency of the word tables (every device word means a domain the resolver can act on, every action
suits some domain, and no word both refuses a sentence and may stand beside a name)."""

from __future__ import annotations

import pytest

from custom_components.binmoe.command_words import (
    ACTION_WORDS,
    COMPOUNDS,
    DETERMINERS,
    DEVICE_WORDS,
    NEIGHBOURS,
    NOT_A_COMMAND,
    PHRASAL,
    SETTING_WORDS,
    SUITS,
    Action,
    Number,
    numbers,
    tokens,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kitchen light to 50%!", ["kitchen", "light", "to", "50", "%"]),
        ("Set the Living-Room heat to 21.5°", ["set", "the", "living", "room", "heat", "to", "21.5", "°"]),
        ("Don\u2019t open it, please", ["don't", "open", "it", ",", "please"]),  # a typographic apostrophe
        ("isn't", ["isn't"]),
        ("", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def _values(text: str, skip: set[int] | None = None) -> list[tuple[float, str | None]]:
    return [(number.value, number.unit) for number in numbers(tokens(text), skip or set())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dim the lamp to 40", [(40.0, None)]),
        ("set the heating to 21.5 degrees", [(21.5, "degrees")]),
        ("twenty five per cent", [(25.0, "percent")]),
        ("seventy percent", [(70.0, "percent")]),
        ("fan to 30 %", [(30.0, "percent")]),
        ("a hundred percent", [(100.0, "percent")]),
        ("two hundred", [(200.0, None)]),
        ("twenty one degrees celsius", [(21.0, "degrees")]),
        ("22 °", [(22.0, "degrees")]),
        ("nineteen ninety nine", [(19.0, None), (99.0, None)]),  # no years: two numbers
        ("twenty zero", [(20.0, None), (0.0, None)]),  # a unit word after tens joins only for 1..9
        ("turn on the light", []),
        ("a lamp", []),  # "a" is a number only before "hundred"
    ],
)
def test_numbers(text: str, expected: list[tuple[float, str | None]]) -> None:
    assert _values(text) == expected


def test_number_positions_include_units() -> None:
    words = tokens("set it to twenty five per cent now")
    assert numbers(words, set()) == [Number(25.0, 3, 7, "percent")]
    assert words[7] == "now"


def test_skipped_tokens_are_not_read() -> None:
    """A device's own number ("Light 2") is part of its name, not the setting."""
    assert _values("light 2 to 40", skip={1}) == [(40.0, None)]
    assert _values("light 2 to 40") == [(2.0, None), (40.0, None)]


def test_device_words_mean_domains_the_resolver_acts_on() -> None:
    readings = [reading for meaning in (*DEVICE_WORDS.values(), *COMPOUNDS.values()) for reading in meaning]
    assert {reading.domain for reading in readings} <= set(SUITS)
    assert all(reading.device_classes is None or reading.device_classes for reading in readings)
    assert {reading.domain for reading in DEVICE_WORDS["door"]} == {"cover", "lock"}  # the action picks one
    assert [reading.device_classes for reading in COMPOUNDS[("garage", "door")]] == [frozenset({"garage"})]


def test_every_action_suits_some_domain() -> None:
    suited = frozenset().union(*SUITS.values())
    said = {*ACTION_WORDS.values(), *PHRASAL.values(), *SETTING_WORDS.values()}
    assert said <= suited and set(Action) <= suited


def test_word_tables_do_not_contradict() -> None:
    """A word that makes a sentence no command must never be one that may stand beside a name or say an
    action, or the resolver would act on a refused sentence or refuse a plain one."""
    assert not NOT_A_COMMAND & NEIGHBOURS
    assert not NOT_A_COMMAND & set(ACTION_WORDS)
    assert not NOT_A_COMMAND & set(DEVICE_WORDS)
    assert DETERMINERS <= NEIGHBOURS
    assert all(verb in NEIGHBOURS or verb in ACTION_WORDS for verb, _ in PHRASAL)
