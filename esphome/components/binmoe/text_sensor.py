"""Text sensors of a BinMoE node: the model it runs (id and hash), the state of its per-machine baseline."""

import esphome.codegen as cg
import esphome.config_validation as cv
from esphome.const import CONF_MODEL, ENTITY_CATEGORY_DIAGNOSTIC

from esphome.components import text_sensor

from . import CONF_BINMOE_ID, USE_BASELINE, BinMoEComponent

DEPENDENCIES = ["binmoe"]

CONF_BASELINE = "baseline"

CONFIG_SCHEMA = cv.Schema(
    {
        cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent),
        cv.Optional(CONF_MODEL): text_sensor.text_sensor_schema(
            entity_category=ENTITY_CATEGORY_DIAGNOSTIC, icon="mdi:chip"
        ),
        # none, learning, ready, or corrupt / foreign (a stored baseline was refused at boot)
        cv.Optional(CONF_BASELINE): text_sensor.text_sensor_schema(
            entity_category=ENTITY_CATEGORY_DIAGNOSTIC, icon="mdi:school-outline"
        ),
    }
)


async def to_code(config):
    parent = await cg.get_variable(config[CONF_BINMOE_ID])
    if CONF_MODEL in config:
        cg.add(parent.set_model_sensor(await text_sensor.new_text_sensor(config[CONF_MODEL])))
    if CONF_BASELINE in config:
        cg.add_define(USE_BASELINE)
        cg.add(parent.set_baseline_state_sensor(await text_sensor.new_text_sensor(config[CONF_BASELINE])))
