"""A home for voice evaluations inside a Home Assistant core: areas, devices and entities in the registries,
exposed to Assist, and simulated devices whose state follows the actions called on them, so an evaluation
can score what a sentence *did* (the resulting state), whichever path handled it.

Every home goes into the registries the same way (`SimulatedHome.add_home`), as an integration registers
its devices and entities: each device with its area, each entity under its own name with its device class
and features. Home Assistant's intents read names, areas, device classes and features from there.

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
from pytest_homeassistant_custom_component.common import MockConfigEntry

DOMAINS = ("light", "switch", "fan", "cover", "lock", "climate", "media_player", "vacuum", "valve", "input_boolean")


@dataclass
class Device:
    """One device of a home: `key` is the home's own id for it (entities name it)."""

    key: str
    name: str
    area: str | None


@dataclass
class Entity:
    """One entity of a home; `area` is its own, or its device's when it has none."""

    entity_id: str
    name: str
    area: str | None
    state: str
    attributes: dict[str, Any] = field(default_factory=dict)
    device: str | None = None  # the key of its Device


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
        "turn_on": lambda old, data: ("on", {**old.attributes, **{k: v for k, v in data.items() if k == "percentage"}}),
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
    """Registers the home's areas, devices and entities and the simulated actions; records every action
    called. `platform` names the integration that owns the home's devices and entities."""

    def __init__(
        self, hass: HomeAssistant, rules: dict[str, dict[str, Rule]] | None = None, platform: str = "voice_eval"
    ) -> None:
        self.hass = hass
        self.rules = RULES if rules is None else rules
        self.platform = platform
        self.entry = MockConfigEntry(domain=platform, title=f"{platform} home")  # owns the devices
        self.devices: dict[str, str] = {}  # Device.key -> device registry id
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def async_setup(self, extra_domains: Iterable[str] = ()) -> None:
        for domain in ("homeassistant", "intent", "conversation", "sensor", "binary_sensor", *DOMAINS, *extra_domains):
            assert await async_setup_component(self.hass, domain, {}), domain
        for domain, rules in self.rules.items():
            for service in rules:
                self.hass.services.async_register(domain, service, self._handle)
        self.entry.add_to_hass(self.hass)

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

    def add_home(self, areas: Iterable[str], devices: Iterable[Device], entities: Iterable[Entity]) -> None:
        """The areas, the devices in theirs, and the entities with their states (see register_entity)."""
        device_registry = dr.async_get(self.hass)
        for name in areas:
            self._area_id(name)
        for device in devices:
            entry = device_registry.async_get_or_create(
                config_entry_id=self.entry.entry_id, identifiers={(self.platform, device.key)}, name=device.name
            )
            device_registry.async_update_device(entry.id, area_id=self._area_id(device.area) if device.area else None)
            self.devices[device.key] = entry.id
        for entity in entities:
            self.register_entity(entity)
            self.set_state(entity)

    def register_entity(self, entity: Entity) -> None:
        """Put one entity in the registry as an integration registers it, and expose it to Assist.

        Its own name (`original_name`; without it Home Assistant names an entity of a device after the
        device, so e.g. a valve's battery sensor would answer to the valve's name), its device class
        (`original_device_class`) and features, its device, and an area of its own only where it is not
        its device's (Home Assistant keeps no own area for an entity in its device's)."""
        registry = er.async_get(self.hass)
        domain, object_id = entity.entity_id.split(".", 1)
        device_id = self.devices[entity.device] if entity.device else None
        features = entity.attributes.get("supported_features")
        device_class = entity.attributes.get("device_class")
        entry = registry.async_get_or_create(
            domain,
            self.platform,
            entity.entity_id,
            suggested_object_id=object_id,
            device_id=device_id,
            original_name=entity.name,
            has_entity_name=False,
            supported_features=features if isinstance(features, int) else 0,
            original_device_class=device_class if isinstance(device_class, str) else None,
        )
        assert entry.entity_id == entity.entity_id, f"{entity.entity_id} is taken"
        area_id = self._area_id(entity.area) if entity.area else None
        device = dr.async_get(self.hass).async_get(device_id) if device_id else None
        if device is not None and device.area_id == area_id:
            area_id = None
        registry.async_update_entity(entry.entity_id, area_id=area_id)
        async_expose_entity(self.hass, conversation.DOMAIN, entity.entity_id, True)

    def _area_id(self, name: str) -> str:
        areas = ar.async_get(self.hass)
        return (areas.async_get_area_by_name(name) or areas.async_create(name)).id

    def clear(self) -> None:
        """Remove the home's entities and devices (areas are left to the caller)."""
        registry = er.async_get(self.hass)
        for entry in list(registry.entities.values()):
            if entry.platform == self.platform:
                registry.async_remove(entry.entity_id)
                self.hass.states.async_remove(entry.entity_id)
        devices = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(devices, self.entry.entry_id):
            devices.async_remove_device(device.id)
        self.devices = {}

    def set_state(self, entity: Entity) -> None:
        self.hass.states.async_set(entity.entity_id, entity.state, {"friendly_name": entity.name, **entity.attributes})

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every entity's state and attributes (for comparing before and after a sentence)."""
        return {s.entity_id: {"state": s.state, **s.attributes} for s in self.hass.states.async_all()}
