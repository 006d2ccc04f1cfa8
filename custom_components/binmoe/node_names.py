"""The names a user may call BinMoE's nodes by, so that BinMoE's sentences take only questions about them.

BinMoE's templates say `{node}` where the user names a node. Taken as a wildcard, that slot matches any
words, and BinMoE would answer sentences meant for Home Assistant ("is the front door ok"). So the
sentence is BinMoE's only when `{node}` is a name this home gives a node: a run of words of one of its
names (its id, its device's name, its area and the area's aliases), or the name of any area (so that
"the bedroom sensor" gets "there is no node in the Bedroom"), each optionally followed by a kind word
("sensor", "alarm", ...), or a kind word alone ("the sensors"). Home Assistant's sentence triggers read
every `{list}` as a wildcard, so for them the names are written into the template as alternatives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .answers import known_nodes
from .runtime import BinMoERuntimeData

# Words that say what kind of thing is meant, not which one (answers.py ignores them when it looks up a node).
KIND_WORDS = ("sensor", "node", "alarm", "detector", "microphone", "mic", "device", "listener", "monitor")
_KINDS = frozenset({*KIND_WORDS, *(f"{word}s" for word in KIND_WORDS)})
_OWNER = ("my", "our", "your")
_LEADING = frozenset({"the", "a", "an", "binmoe", *_OWNER})


def spoken(text: str) -> str:
    """Lower-case words only, as a recognizer compares them ("Bob's Lathe-2" -> "bob lathe 2")."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")))


@dataclass(frozen=True, slots=True)
class NodeNames:
    """The names (lower-case words) that mean a node or an area of this home."""

    names: frozenset[str]

    def knows(self, name: str) -> bool:
        """Whether `name` (what filled `{node}`) is one of these names, a kind word, or both."""
        words = spoken(name).split()
        while words and words[0] in _LEADING:
            words.pop(0)
        kind = bool(words) and words[-1] in _KINDS
        rest = " ".join(words[:-1] if kind else words)
        return rest in self.names or (kind and not rest)

    def template(self) -> str:
        """A hassil expression that matches exactly the names `knows` accepts (for sentence triggers)."""
        kinds = "|".join(sorted(_KINDS))
        owner = f"[{'|'.join(_OWNER)}] [binmoe] "
        if not self.names:
            return f"({owner}({kinds}))"
        names = "|".join(sorted(self.names))
        return f"({owner}({names}) [({kinds})]|{owner}({kinds}))"


def node_names(hass: HomeAssistant, data: BinMoERuntimeData) -> NodeNames:
    """Every run of words of every node's names, and every area's name and aliases."""
    found: set[str] = set()
    for known in known_nodes(hass, data):
        for name in known.names:
            words = spoken(name).split()
            found.update(" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1))
    for area in ar.async_get(hass).async_list_areas():
        found.update(spoken(name) for name in (area.name, *area.aliases))
    return NodeNames(frozenset(name for name in found if name and name not in _KINDS | _LEADING))


def names_something_else(hass: HomeAssistant, name: str) -> bool:
    """Whether `name` is what Home Assistant calls one of its entities or devices (not a BinMoE node)."""
    words = spoken(name).split()
    while words and words[0] in _LEADING:
        words.pop(0)
    wanted = " ".join(words)
    called = {spoken(str(state.name)) for state in hass.states.async_all()}
    # an entity's aliases may hold COMPUTED_NAME (its own name, already among the states' names)
    aliases = (alias for entity in er.async_get(hass).entities.values() for alias in entity.aliases)
    called |= {spoken(alias) for alias in aliases if isinstance(alias, str)}
    called |= {spoken(d.name_by_user or d.name or "") for d in dr.async_get(hass).devices}
    return wanted in called
