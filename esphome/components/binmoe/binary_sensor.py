"""Binary sensor of a BinMoE node: on while the per-machine baseline's anomaly lasts (with its hysteresis)."""

import esphome.codegen as cg
import esphome.config_validation as cv
from esphome.const import DEVICE_CLASS_PROBLEM

from esphome.components import binary_sensor

from . import CONF_BINMOE_ID, USE_BASELINE, BinMoEComponent

DEPENDENCIES = ["binmoe"]

CONF_ANOMALY = "anomaly"

CONFIG_SCHEMA = cv.Schema(
    {
        cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent),
        cv.Optional(CONF_ANOMALY): binary_sensor.binary_sensor_schema(
            device_class=DEVICE_CLASS_PROBLEM, icon="mdi:alert-decagram-outline"
        ),
    }
)


async def to_code(config):
    parent = await cg.get_variable(config[CONF_BINMOE_ID])
    if CONF_ANOMALY in config:
        cg.add_define(USE_BASELINE)
        cg.add(parent.set_anomaly_binary_sensor(await binary_sensor.new_binary_sensor(config[CONF_ANOMALY])))
