"""Text sensor of a BinMoE node: the model it runs (id and hash)."""

import esphome.codegen as cg
import esphome.config_validation as cv
from esphome.const import CONF_MODEL, ENTITY_CATEGORY_DIAGNOSTIC

from esphome.components import text_sensor

from . import CONF_BINMOE_ID, BinMoEComponent

DEPENDENCIES = ["binmoe"]

CONFIG_SCHEMA = cv.Schema(
    {
        cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent),
        cv.Optional(CONF_MODEL): text_sensor.text_sensor_schema(
            entity_category=ENTITY_CATEGORY_DIAGNOSTIC, icon="mdi:chip"
        ),
    }
)


async def to_code(config):
    parent = await cg.get_variable(config[CONF_BINMOE_ID])
    if CONF_MODEL in config:
        cg.add(parent.set_model_sensor(await text_sensor.new_text_sensor(config[CONF_MODEL])))
