"""Binary sensors of a BinMoE node: on while the per-machine baseline's anomaly lasts (with its hysteresis); on
while the shaft speed that fault identification needs is unknown or out of range."""

import esphome.codegen as cg
import esphome.config_validation as cv
import esphome.final_validate as fv
from esphome.const import DEVICE_CLASS_PROBLEM, ENTITY_CATEGORY_DIAGNOSTIC

from esphome.components import binary_sensor

from . import CONF_BEARING, CONF_BINMOE_ID, USE_BASELINE, BinMoEComponent

DEPENDENCIES = ["binmoe"]

CONF_ANOMALY = "anomaly"
CONF_SHAFT_SPEED_PROBLEM = "shaft_speed_problem"

CONFIG_SCHEMA = cv.Schema(
    {
        cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent),
        cv.Optional(CONF_ANOMALY): binary_sensor.binary_sensor_schema(
            device_class=DEVICE_CLASS_PROBLEM, icon="mdi:alert-decagram-outline"
        ),
        cv.Optional(CONF_SHAFT_SPEED_PROBLEM): binary_sensor.binary_sensor_schema(
            device_class=DEVICE_CLASS_PROBLEM, entity_category=ENTITY_CATEGORY_DIAGNOSTIC, icon="mdi:speedometer-slow"
        ),
    }
)


def _final_validate(config):
    if CONF_SHAFT_SPEED_PROBLEM not in config:
        return config
    full = fv.full_config.get()
    parent = full.get_config_for_path(full.get_path_for_id(config[CONF_BINMOE_ID])[:-1])
    if CONF_BEARING not in parent:
        raise cv.Invalid(
            "shaft_speed_problem reports on the speed that fault identification uses: set the binmoe component's "
            "shaft_speed and bearing",
            path=[CONF_SHAFT_SPEED_PROBLEM],
        )
    return config


FINAL_VALIDATE_SCHEMA = _final_validate


async def to_code(config):
    parent = await cg.get_variable(config[CONF_BINMOE_ID])
    if CONF_ANOMALY in config:
        cg.add_define(USE_BASELINE)
        cg.add(parent.set_anomaly_binary_sensor(await binary_sensor.new_binary_sensor(config[CONF_ANOMALY])))
    if CONF_SHAFT_SPEED_PROBLEM in config:
        sensor = await binary_sensor.new_binary_sensor(config[CONF_SHAFT_SPEED_PROBLEM])
        cg.add(parent.set_shaft_speed_problem_binary_sensor(sensor))
