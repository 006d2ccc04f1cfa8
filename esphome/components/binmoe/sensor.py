"""Sensors of a BinMoE node: confidence of the last window, inference time, escalation rate, and the per-machine
baseline's anomaly score and learning progress (docs/esphome.md)."""

import esphome.codegen as cg
import esphome.config_validation as cv
from esphome.const import (
    DEVICE_CLASS_DURATION,
    ENTITY_CATEGORY_DIAGNOSTIC,
    STATE_CLASS_MEASUREMENT,
    UNIT_PERCENT,
)

from esphome.components import sensor

from . import CONF_BINMOE_ID, USE_BASELINE, BinMoEComponent

DEPENDENCIES = ["binmoe"]

UNIT_MICROSECOND = "\u03bcs"  # Home Assistant's UnitOfTime.MICROSECONDS (Greek mu)

CONF_ANOMALY_SCORE = "anomaly_score"
CONF_BASELINE_PROGRESS = "baseline_progress"
CONF_CONFIDENCE = "confidence"
CONF_ESCALATION_RATE = "escalation_rate"
CONF_INFERENCE_TIME = "inference_time"

CONFIG_SCHEMA = cv.Schema(
    {
        cv.GenerateID(CONF_BINMOE_ID): cv.use_id(BinMoEComponent),
        cv.Optional(CONF_CONFIDENCE): sensor.sensor_schema(
            unit_of_measurement=UNIT_PERCENT,
            accuracy_decimals=1,
            state_class=STATE_CLASS_MEASUREMENT,
            icon="mdi:gauge",
        ),
        cv.Optional(CONF_INFERENCE_TIME): sensor.sensor_schema(
            unit_of_measurement=UNIT_MICROSECOND,
            accuracy_decimals=0,
            device_class=DEVICE_CLASS_DURATION,
            state_class=STATE_CLASS_MEASUREMENT,
            entity_category=ENTITY_CATEGORY_DIAGNOSTIC,
            icon="mdi:timer-outline",
        ),
        cv.Optional(CONF_ESCALATION_RATE): sensor.sensor_schema(
            unit_of_measurement=UNIT_PERCENT,
            accuracy_decimals=1,
            state_class=STATE_CLASS_MEASUREMENT,
            entity_category=ENTITY_CATEGORY_DIAGNOSTIC,
            icon="mdi:arrow-up-bold-circle-outline",
        ),
        cv.Optional(CONF_ANOMALY_SCORE): sensor.sensor_schema(
            accuracy_decimals=0,
            state_class=STATE_CLASS_MEASUREMENT,
            icon="mdi:chart-bell-curve",
        ),
        cv.Optional(CONF_BASELINE_PROGRESS): sensor.sensor_schema(
            unit_of_measurement=UNIT_PERCENT,
            accuracy_decimals=0,
            entity_category=ENTITY_CATEGORY_DIAGNOSTIC,
            icon="mdi:progress-clock",
        ),
    }
)


async def to_code(config):
    parent = await cg.get_variable(config[CONF_BINMOE_ID])
    for key, setter in (
        (CONF_CONFIDENCE, parent.set_confidence_sensor),
        (CONF_INFERENCE_TIME, parent.set_inference_time_sensor),
        (CONF_ESCALATION_RATE, parent.set_escalation_rate_sensor),
        (CONF_ANOMALY_SCORE, parent.set_anomaly_score_sensor),
        (CONF_BASELINE_PROGRESS, parent.set_baseline_progress_sensor),
    ):
        if key in config:
            cg.add(setter(await sensor.new_sensor(config[key])))
    if CONF_ANOMALY_SCORE in config or CONF_BASELINE_PROGRESS in config:
        cg.add_define(USE_BASELINE)
