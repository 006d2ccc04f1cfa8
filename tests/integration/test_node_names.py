"""node_names.py: what counts as a name of a node or area (`knows`), the hassil expression that writes those
names out for sentence triggers (`template`, checked against `knows` with hassil itself), the names taken from
this home's registries (`node_names`), and the names Home Assistant gives its own things
(`names_something_else`)."""

from __future__ import annotations

from itertools import product

import pytest
from hassil import Intents, recognize
from hassil.sample import sample_intents
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.binmoe.node_names import KIND_WORDS, NodeNames, names_something_else, node_names, spoken

from .backend_double import BackendDouble
from .helpers import fire

NAMES = NodeNames(frozenset({"garage", "garage sound", "sound", "living room"}))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Bob's Lathe-2", "bob lathe 2"),
        ("  The GARAGE,  sensor! ", "the garage sensor"),
        ("living_room", "living room"),
        ("Küche", "k che"),  # only a-z and digits are words (what answers.py compares too)
        ("", ""),
    ],
)
def test_spoken(text: str, words: str) -> None:
    assert spoken(text) == words


@pytest.mark.parametrize(
    "name",
    [
        "garage",
        "Garage Sound",
        "the garage sensor",
        "my binmoe living room alarms",
        "our garage microphone",
        "the the garage",  # leading words are dropped however many there are
        "sensors",  # a kind word alone means every node
        "the nodes",
        "a detector",
    ],
)
def test_knows(name: str) -> None:
    assert NAMES.knows(name)


@pytest.mark.parametrize(
    "name",
    [
        "front door",  # a name of something else
        "timers in the garage",  # more words than a name
        "attic sensor",  # an unknown name with a kind word
        "sensor garage",  # the kind word comes last, not first
        "garage sensor sensor",
        "the",  # no name left
        "",
        "garage the",
    ],
)
def test_does_not_know(name: str) -> None:
    assert not NAMES.knows(name)


def test_no_names_knows_only_kind_words() -> None:
    empty = NodeNames(frozenset())
    assert empty.knows("the nodes") and empty.knows("my binmoe sensor")
    assert not empty.knows("pump") and not empty.knows("pump sensor")


def _matcher(names: NodeNames) -> Intents:
    """The template as BinMoE's sentences use it: `[the] {node}` (sentences/en.yaml)."""
    sentence = "[the] " + names.template()
    return Intents.from_dict({"language": "en", "intents": {"Node": {"data": [{"sentences": [sentence]}]}}})


def _candidates(names: NodeNames) -> list[str]:
    """Every order the sentences say a name in, with known and unknown names, with and without kind words."""
    cores = ["", *sorted(names.names), "front door", "attic", "garage living room", "sound garage"]
    kinds = ["", *KIND_WORDS, *(f"{word}s" for word in KIND_WORDS), "sensor sensor"]
    found = []
    for the, owner, binmoe, core, kind in product(("", "the"), ("", "my", "our", "your"), ("", "binmoe"), cores, kinds):
        text = " ".join(word for word in (the, owner, binmoe, core, kind) if word)
        if text:
            found.append(text)
    return found


@pytest.mark.parametrize("names", [NAMES, NodeNames(frozenset())], ids=["names", "no-names"])
def test_template_matches_exactly_what_knows_accepts(names: NodeNames) -> None:
    """hassil (what Home Assistant matches sentence triggers with) takes a phrase iff `knows` does."""
    matcher = _matcher(names)
    candidates = _candidates(names)
    assert len(candidates) > 1000
    differ = [text for text in candidates if (recognize(text, matcher) is not None) != names.knows(text)]
    assert differ == []
    assert any(names.knows(text) for text in candidates) and not all(names.knows(text) for text in candidates)


def test_every_sentence_the_template_makes_is_known() -> None:
    sampled = [text for _, text in sample_intents(_matcher(NAMES))]
    assert len(sampled) > 100
    assert [text for text in sampled if not NAMES.knows(text)] == []


async def test_node_names_come_from_the_registries(
    hass: HomeAssistant, backend: BackendDouble, loaded_entry: MockConfigEntry
) -> None:
    """Every run of words of a node's names (id, task, device, area and its aliases), and every area; never a
    kind word or a leading word alone."""
    await fire(hass, "detection", node_id="garage-sound", seq=1)
    await fire(hass, "detection", node_id="lathe-sensor", task="vibration", seq=2, **{"class": "healthy"})
    areas = ar.async_get(hass)
    garage = areas.async_get_or_create("Garage")
    areas.async_update(garage.id, aliases={"Work shop"})
    areas.async_get_or_create("Bedroom")
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier(
        ("binmoe", f"{loaded_entry.entry_id}_garage-sound"), loaded_entry.entry_id
    )
    assert device is not None
    devices.async_update_device(device.id, area_id=garage.id, name_by_user="Smoke watcher")
    names = node_names(hass, loaded_entry.runtime_data).names
    expected = {"garage", "sound", "garage sound", "lathe", "lathe sensor", "vibration", "work shop", "work", "shop"}
    expected |= {"smoke", "watcher", "smoke watcher", "bedroom"}
    assert expected <= names
    assert not names & {"sensor", "the", "binmoe", ""}
    assert "lathe sensor" in names  # a kind word inside a longer name stays
    assert node_names(hass, loaded_entry.runtime_data) == node_names(hass, loaded_entry.runtime_data)  # comparable


async def test_names_something_else(hass: HomeAssistant) -> None:
    """States' names, entity aliases (beside the computed name) and devices' names: Home Assistant's things."""
    hass.states.async_set("light.kitchen", "on", {"friendly_name": "Kitchen light"})
    entities = er.async_get(hass)
    lamp = entities.async_get_or_create("light", "test", "lamp", suggested_object_id="lamp")
    entities.async_update_entity(lamp.entity_id, aliases=[*lamp.aliases, "Ceiling lamp"])
    other = MockConfigEntry(domain="test")
    other.add_to_hass(hass)
    devices = dr.async_get(hass)
    devices.async_get_or_create(config_entry_id=other.entry_id, identifiers={("test", "boiler")}, name="Boiler")
    pump = devices.async_get_or_create(config_entry_id=other.entry_id, identifiers={("test", "pump")}, name="Pump")
    devices.async_update_device(pump.id, name_by_user="Well pump")
    for name in ("kitchen light", "the Kitchen Light", "my ceiling lamp", "boiler", "the well pump"):
        assert names_something_else(hass, name), name
    for name in ("pump", "garage sound", "kitchen", "light", "ceiling lamp sensor"):
        assert not names_something_else(hass, name), name
