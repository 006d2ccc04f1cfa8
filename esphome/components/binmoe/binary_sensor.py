"""Binary sensors of a BinMoE node: on while the per-machine baseline's anomaly lasts (with its hysteresis); on
while the shaft speed that fault identification needs is unknown or out of range; on while a smoke or CO alarm
sounds (from its alarm event until the alarm is over)."""

import esphome.codegen as cg
import esphome.config_validation as cv
import esphome.final_validate as fv
from esphome.const import (
    CONF_MODEL,
    DEVICE_CLASS_CARBON_MONOXIDE,
    DEVICE_CLASS_PROBLEM,
    DEVICE_CLASS_SMOKE,
    ENTITY_CATEGORY_DIAGNOSTIC,
)

from esphome.components import binary_sensor

from . import CONF_BEARING, CONF_BINMOE_ID, USE_BASELINE, BinMoEComponent, alarm_events, load_manifest

DEPENDENCIES = ["binmoe"]

CONF_ANOMALY = "anomaly"
CONF_SHAFT_SPEED_PROBLEM = "shaft_speed_problem"
# each follows the model's class of its name (an alarm-event class: docs/esphome.md, "Alarm events")
ALARM_SENSORS = ("smoke_alarm", "co_alarm")

CONFIG_SCHEMA = cv.Schema(
    {
        cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent),
        cv.Optional(CONF_ANOMALY): binary_sensor.binary_sensor_schema(
            device_class=DEVICE_CLASS_PROBLEM, icon="mdi:alert-decagram-outline"
        ),
        cv.Optional(CONF_SHAFT_SPEED_PROBLEM): binary_sensor.binary_sensor_schema(
            device_class=DEVICE_CLASS_PROBLEM, entity_category=ENTITY_CATEGORY_DIAGNOSTIC, icon="mdi:speedometer-slow"
        ),
        cv.Optional("smoke_alarm"): binary_sensor.binary_sensor_schema(device_class=DEVICE_CLASS_SMOKE),
        cv.Optional("co_alarm"): binary_sensor.binary_sensor_schema(device_class=DEVICE_CLASS_CARBON_MONOXIDE),
    }
)


def _final_validate(config):
    full = fv.full_config.get()
    parent = full.get_config_for_path(full.get_path_for_id(config[CONF_BINMOE_ID])[:-1])
    if wanted := [name for name in ALARM_SENSORS if name in config]:
        manifest = load_manifest(parent[CONF_MODEL])
        classes = manifest["classes"]
        with_rules = {classes[rule[0]] for rule in alarm_events(parent, manifest)}
        for name in wanted:
            if name not in with_rules:
                raise cv.Invalid(
                    f"{name} follows the node's alarm events of class '{name}': model {manifest['model_id']} has no "
                    f"such class or the binmoe component's alarm_events has no rule for it",
                    path=[name],
                )
    if CONF_SHAFT_SPEED_PROBLEM not in config:
        return config
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
    for name in ALARM_SENSORS:
        if name in config:
            cg.add(parent.add_alarm_binary_sensor(name, await binary_sensor.new_binary_sensor(config[name])))
