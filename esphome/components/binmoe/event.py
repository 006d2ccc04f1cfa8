"""Event entity of a BinMoE node: fires with the detected class (reported detections only)."""

import esphome.codegen as cg
import esphome.config_validation as cv
from esphome.core import CORE

from esphome.components import event

from . import CONF_BINMOE_ID, CONF_CLASSES, BinMoEComponent, load_manifest, reports

DEPENDENCIES = ["binmoe"]

CONFIG_SCHEMA = event.event_schema(event.Event, icon="mdi:waveform").extend(
    {cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent)}
)


def reported_classes(binmoe_config) -> list[str]:
    """The classes whose detections the node reports: the event entity's event types."""
    classes = load_manifest(binmoe_config["model"])["classes"]
    rules = binmoe_config.get(CONF_CLASSES, {})
    return [name for name in classes if reports(name, rules.get(name, {}))]


async def to_code(config):
    parent = await cg.get_variable(config[CONF_BINMOE_ID])
    var = await event.new_event(config, event_types=reported_classes(CORE.config["binmoe"]))
    cg.add(parent.set_detection_event(var))
