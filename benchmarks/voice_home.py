"""A home for voice evaluations inside a Home Assistant core: areas, entities in the registries, exposed to
Assist, and simulated devices whose state follows the actions called on them, so an evaluation can score
what a sentence *did* (the resulting state), whichever path handled it.

The simulation is deliberately simple (one rule per action, below); covers report `opening`/`closing`
after open/close as real motorised covers do. It serves this repository's fixture home
(benchmarks/voice_cases.py) and homes read from a home-assistant-datasets checkout
(benchmarks/assist_dataset.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant, ServiceCall, State
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import color as color_util

DOMAINS = ("light", "switch", "fan", "cover", "lock", "climate", "media_player", "vacuum", "valve", "input_boolean")


@dataclass
class Entity:
    """One entity of a fixture home."""

    entity_id: str
    name: str
    area: str | None
    state: str
    attributes: dict[str, Any] = field(default_factory=dict)
    device_id: str | None = None


Rule = Callable[[State, dict[str, Any]], tuple[str, dict[str, Any]]]


def _set(state: str, **attrs: Any) -> Rule:
    return lambda old, data: (state, {**old.attributes, **attrs})


def _light_on(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    attrs = dict(old.attributes)
    if "brightness_pct" in data:
        attrs["brightness"] = round(float(data["brightness_pct"]) * 255 / 100)
    elif "brightness" in data:
        attrs["brightness"] = int(data["brightness"])
    elif "brightness" not in attrs or not attrs["brightness"]:
        attrs["brightness"] = 255
    if "rgb_color" in data:
        attrs["rgb_color"] = list(data["rgb_color"])
    elif "color_name" in data:
        attrs["rgb_color"] = list(color_util.color_name_to_rgb(data["color_name"]))
    if "color_temp_kelvin" in data:
        attrs["color_temp_kelvin"] = int(data["color_temp_kelvin"])
    return "on", attrs


def _light_off(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "off", {**old.attributes, "brightness": None} if "brightness" in old.attributes else dict(old.attributes)


def _toggle(on: Rule, off: Rule) -> Rule:
    return lambda old, data: off(old, data) if old.state == "on" else on(old, data)


def _position(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    position = int(data["position"])
    current = int(old.attributes.get("current_position", 100 if old.state == "open" else 0))
    moving = ("opening" if position > current else "closing") if position != current else old.state
    return moving, {**old.attributes, "current_position": position}


def _climate_temperature(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return old.state, {**old.attributes, "temperature": data["temperature"]}


def _volume(old: State, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return old.state, {**old.attributes, "volume_level": data["volume_level"]}


_LIGHT_TOGGLE = _toggle(_light_on, _light_off)
_ON_OFF = {"turn_on": _set("on"), "turn_off": _set("off"), "toggle": _toggle(_set("on"), _set("off"))}
RULES: dict[str, dict[str, Rule]] = {
    "light": {"turn_on": _light_on, "turn_off": _light_off, "toggle": _LIGHT_TOGGLE},
    "switch": _ON_OFF,
    "input_boolean": _ON_OFF,
    "fan": {
        **_ON_OFF,
        "set_percentage": lambda old, data: ("on", {**old.attributes, "percentage": data["percentage"]}),
    },
    "cover": {
        "open_cover": _set("opening"),
        "close_cover": _set("closing"),
        "stop_cover": lambda old, data: (old.state, dict(old.attributes)),
        "set_cover_position": _position,
    },
    "valve": {
        "open_valve": _set("opening"),
        "close_valve": _set("closing"),
        "set_valve_position": _position,
    },
    "lock": {"lock": _set("locked"), "unlock": _set("unlocked"), "open": _set("open")},
    "climate": {
        "set_temperature": _climate_temperature,
        "set_hvac_mode": lambda old, data: (data["hvac_mode"], dict(old.attributes)),
        "turn_on": lambda old, data: (old.attributes.get("hvac_modes", ["heat"])[-1], dict(old.attributes)),
        "turn_off": _set("off"),
    },
    "media_player": {
        "turn_on": _set("on"),
        "turn_off": _set("off"),
        "media_play": _set("playing"),
        "media_pause": _set("paused"),
        "media_stop": _set("idle"),
        "media_next_track": lambda old, data: (old.state, dict(old.attributes)),
        "media_previous_track": lambda old, data: (old.state, dict(old.attributes)),
        "volume_set": _volume,
        "volume_mute": lambda old, data: (old.state, {**old.attributes, "is_volume_muted": data["is_volume_muted"]}),
    },
    "vacuum": {
        "start": _set("cleaning"),
        "stop": _set("idle"),
        "pause": _set("paused"),
        "return_to_base": _set("returning"),
    },
}


class SimulatedHome:
    """Registers the home's entities and simulated actions; records every action called."""

    def __init__(self, hass: HomeAssistant, rules: dict[str, dict[str, Rule]] | None = None) -> None:
        self.hass = hass
        self.rules = RULES if rules is None else rules
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def async_setup(self, extra_domains: Iterable[str] = ()) -> None:
        for domain in ("homeassistant", "intent", "conversation", "sensor", "binary_sensor", *DOMAINS, *extra_domains):
            assert await async_setup_component(self.hass, domain, {}), domain
        for domain, rules in self.rules.items():
            for service in rules:
                self.hass.services.async_register(domain, service, self._handle)

    async def _handle(self, call: ServiceCall) -> None:
        data = dict(call.data)
        entity_ids = data.pop("entity_id", [])
        entity_ids = [entity_ids] if isinstance(entity_ids, str) else list(entity_ids)
        self.calls.append((call.domain, call.service, {"entity_id": entity_ids, **data}))
        rule = self.rules[call.domain][call.service]
        for entity_id in entity_ids:
            if (old := self.hass.states.get(entity_id)) is not None:
                state, attrs = rule(old, data)
                self.hass.states.async_set(entity_id, state, {k: v for k, v in attrs.items() if v is not None})

    def add_entities(self, entities: Iterable[Entity], platform: str = "voice_eval") -> None:
        """Put the entities in the registries (with their areas), set their states, expose them to Assist."""
        areas, registry = ar.async_get(self.hass), er.async_get(self.hass)
        for entity in entities:
            domain, object_id = entity.entity_id.split(".", 1)
            # An entity of a device is registered as an integration registers it (the dataset's synthetic_home
            # does): Home Assistant's intents match the registry's name, and without original_name an entity
            # is named after its device, so a valve's battery sensor would share the valve's name. (Entities
            # without a device, as in this repository's fixture home, keep their state's name.)
            named: dict[str, Any] = {}
            if entity.device_id:
                features = entity.attributes.get("supported_features")
                named = {
                    "original_name": entity.name,
                    "has_entity_name": False,
                    "supported_features": features if isinstance(features, int) else 0,
                }
            entry = registry.async_get_or_create(
                domain, platform, entity.entity_id, suggested_object_id=object_id, device_id=entity.device_id, **named
            )
            assert entry.entity_id == entity.entity_id, f"{entity.entity_id} is taken"
            area_id = None
            if entity.area:
                area_id = (areas.async_get_area_by_name(entity.area) or areas.async_create(entity.area)).id
            device = dr.async_get(self.hass).async_get(entity.device_id) if entity.device_id else None
            if device is not None and device.area_id == area_id:
                area_id = None  # in its device's area (Home Assistant refuses an own area to an entity named as it)
            registry.async_update_entity(entry.entity_id, area_id=area_id)
            self.set_state(entity)
            async_expose_entity(self.hass, conversation.DOMAIN, entity.entity_id, True)

    def set_state(self, entity: Entity) -> None:
        self.hass.states.async_set(entity.entity_id, entity.state, {"friendly_name": entity.name, **entity.attributes})

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every entity's state and attributes (for comparing before and after a sentence)."""
        return {s.entity_id: {"state": s.state, **s.attributes} for s in self.hass.states.async_all()}
