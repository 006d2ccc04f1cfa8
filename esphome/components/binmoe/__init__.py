"""BinMoE node: a binarized expert on the chip, escalations to Home Assistant (docs/esphome.md)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import re
from pathlib import Path
from typing import Any

import esphome.codegen as cg
import esphome.config_validation as cv
import esphome.final_validate as fv
from esphome.const import (
    CONF_ID,
    CONF_MICROPHONE,
    CONF_MODEL,
    CONF_PIN,
    CONF_RANGE,
    CONF_SAMPLE_RATE,
    CONF_SPEED,
    CONF_TRIGGER_ID,
)
from esphome.core import CORE
from esphome.helpers import copy_file_if_changed, write_file_if_changed

from esphome import automation
from esphome.components import esp32, i2c, microphone
from esphome.components import sensor as esphome_sensor  # not `sensor`: binmoe.sensor (the platform) would shadow it

from .bearing_table import lookup as lookup_bearing
from .bearing_table import unknown_message as unknown_bearing

_LOGGER = logging.getLogger(__name__)

CODEOWNERS = ["@binmoe"]
MULTI_CONF = False

CONF_ADC = "adc"
CONF_ADXL345 = "adxl345"
CONF_ALARM_EVENTS = "alarm_events"
CONF_ALARM_CODE = "alarm_code"
CONF_ALARM_TONE = "alarm_tone"
# alarm_tone's name until 2026-12-05, when the detector learnt CO's T4 too: still accepted, with a warning
CONF_SMOKE_TONE = "smoke_tone"
CONF_CO_TONE = "co_tone"
CONF_ALARM_PITCH = "alarm_pitch"
CONF_ALWAYS_ESCALATE = "always_escalate"
CONF_CONFIRM_WINDOWS = "confirm_windows"
CONF_AXIS = "axis"
CONF_BALL_DIAMETER = "ball_diameter"
CONF_BALLS = "balls"
CONF_BEARING = "bearing"
CONF_BINMOE_ID = "binmoe_id"
CONF_CLASS = "class"
CONF_CAPTURE_DURATION = "capture_duration"
CONF_CAPTURE_ENCODING = "capture_encoding"
CONF_CAPTURE_DELAY = "capture_delay"
CONF_ANOMALY_START_AFTER = "anomaly_start_after"
CONF_ANOMALY_END_AFTER = "anomaly_end_after"
CONF_CLASSES = "classes"
CONF_CONTACT_ANGLE = "contact_angle"
CONF_DETECTION_INTERVAL = "detection_interval"
CONF_DURATION = "duration"
CONF_BASELINE = "baseline"
CONF_FILE = "file"
CONF_HOP = "hop"
CONF_MARGIN_THRESHOLD = "margin_threshold"
CONF_MAX_ESCALATIONS_PER_MINUTE = "max_escalations_per_minute"
CONF_NEED = "need"
CONF_ON_DETECTION = "on_detection"
CONF_ON_ESCALATION = "on_escalation"
CONF_OUTBOX = "outbox"
CONF_PITCH_DIAMETER = "pitch_diameter"
CONF_REPLAY = "replay"
CONF_REPORT = "report"
CONF_RPM = "rpm"
CONF_SEND_FEATURES = "send_features"
CONF_SENSOR = "sensor"
CONF_SHAFT_SPEED = "shaft_speed"
CONF_SPAN = "span"
CONF_TARGET_ESCALATION_RATE = "target_escalation_rate"

SOURCES = (CONF_MICROPHONE, CONF_ADXL345, CONF_ADC, CONF_REPLAY)
COMPONENT_DIR = Path(__file__).parent
KERNEL_DIR = COMPONENT_DIR / "kernel"


def _kernel_constant(name: str) -> int:
    """A `static constexpr int` of the kernel header: the C++ this component compiles is where it is defined."""
    match = re.search(rf"static constexpr int {name} = (\d+);", (KERNEL_DIR / "binmoe_kernel.h").read_text())
    if match is None:
        raise RuntimeError(f"binmoe_kernel.h defines no {name}")
    return int(match.group(1))


HEADER_FORMAT = _kernel_constant("kHeaderFormat")  # the model header layout this component reads
MODELS_DIR = COMPONENT_DIR / "models"
BUILTIN_MODELS = {"sound": "sound_v1", "vibration": "vibration_v1", "vibration_adc": "vibration_adc_v1"}
# Classes that mean "nothing happening": their detections are not reported unless `report: true`.
IDLE_CLASSES = frozenset({"background", "healthy", "idle", "silence", "noise", "other"})
# Classes detected only on the second window of them in a row by default (`confirm_windows: 2`): a doorbell's chime
# lasts over a second, and one window of one in speech or music is the TV (docs/esphome.md, "A doorbell needs two
# windows in a row"). node_factory/reference/router.py has the same set (tests/esphome/test_configs.py checks it).
CONFIRMED_CLASSES = frozenset({"doorbell"})
MAX_OUTBOX = 64  # queued messages of 36 bytes + 4 per class each (rv32): 4.4 KB at most
MAX_CLASSES = 16  # esphome::binmoe::MAX_CLASSES: messages and per-class settings are sized for it
MAX_EVENT_SPAN = 32  # esphome::binmoe::MAX_EVENT_SPAN: one 32-bit mask of windows per rule
# Alarm events by default, per class name: (need, span in ms). Spans of one T3 cycle (4 s) and one T4 cycle
# (5.8 s), as 8 and 12 windows at the sound model's default hop of 512 ms (node_factory.evaluation.generalization
# default_event_rules, where the evaluation uses the same rules); other hops get the span in windows that covers
# the same time (ceil(span_ms / hop_ms), at most 32), the same `need`.
DEFAULT_ALARM_EVENTS = {"smoke_alarm": (2, 8 * 512), "co_alarm": (2, 12 * 512)}
# With the alarm-code detector, one code window is an event and the event holds for 9.7 s without the code (19
# windows at 512 ms; node_factory.evaluation.generalization CODE_EVENT_SPAN): just under the default 10 s
# detection interval, so a code lost for a cycle or two neither ends the alarm nor starts a second one, and a
# repeat report still means the code was heard again.
CODE_EVENT_SPAN_MS = 19 * 512
BUILD_DIR = "binmoe"  # under the build's src/, next to main.cpp (ESPHome prunes unknown files in src/esphome)

binmoe_ns = cg.esphome_ns.namespace("binmoe")
BinMoEComponent = binmoe_ns.class_("BinMoEComponent", cg.PollingComponent)
DetectionTrigger = binmoe_ns.class_("DetectionTrigger", automation.Trigger.template(cg.std_string, cg.float_))
EscalationTrigger = binmoe_ns.class_("EscalationTrigger", automation.Trigger.template(cg.std_string, cg.float_))
ForceEscalationAction = binmoe_ns.class_("ForceEscalationAction", automation.Action)
LearnBaselineAction = binmoe_ns.class_("LearnBaselineAction", automation.Action)
SetBaselineAction = binmoe_ns.class_("SetBaselineAction", automation.Action)
ReplayAction = binmoe_ns.class_("ReplayAction", automation.Action)
ReplaySource = binmoe_ns.class_("ReplaySource", cg.Component)
Adxl345Source = binmoe_ns.class_("Adxl345Source", cg.Component, i2c.I2CDevice)
AdcSource = binmoe_ns.class_("AdcSource", cg.Component)

ADXL345_RATES = {3200: 0x0F, 1600: 0x0E, 800: 0x0D, 400: 0x0C, 200: 0x0B, 100: 0x0A}
ADXL345_RANGES = {"2g": 0, "4g": 1, "8g": 2, "16g": 3}
# level_db in dB re 1 g: full resolution is 4 mg/LSB at every range and the source feeds LSB x 8 (13 bit ->
# int16), so int16 full scale is 32768 / 8 * 4 mg = 16.4 g.
ADXL345_LEVEL_OFFSET_DB = 20 * math.log10(32768 / 8 * 0.004)


def _hex_digest(value: Any) -> str:
    value = cv.string_strict(value)
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise cv.Invalid("must be 64 lowercase hex digits (a sha256)")
    return value


def _rate(value: Any) -> str:
    """A key of margin_thresholds_by_rate: an escalation rate as a string ("0.05")."""
    value = cv.string_strict(value)
    try:
        rate = float(value)
    except ValueError as err:
        raise cv.Invalid(f"'{value}' is not an escalation rate") from err
    if not 0.0 < rate <= 1.0:
        raise cv.Invalid(f"escalation rate {value} is not in (0, 1]")
    return value


def _current_header_format(data: Any) -> Any:
    """Checked before the rest: an older export lacks fields, and exporting again is the one fix."""
    if not isinstance(data, dict):
        return data  # the schema says what is wrong
    try:
        found = cv.int_(data.get("header_format", 1))  # format 1 wrote none
    except cv.Invalid:
        return data
    if found != HEADER_FORMAT:
        raise cv.Invalid(
            f"the model has header format {found}, this component reads format {HEADER_FORMAT}: export the model"
            " again with this BinMoE version",
            path=["header_format"],
        )
    return data


def _one_value_per_class(data: dict[str, Any]) -> dict[str, Any]:
    classes = len(data["classes"])
    rows = {"margin_thresholds": data["margin_thresholds"]}
    rows.update({f"margin_thresholds_by_rate/{rate}": row for rate, row in data["margin_thresholds_by_rate"].items()})
    for where, row in rows.items():
        if len(row) != classes:
            raise cv.Invalid(f"{len(row)} values for {classes} classes", path=where.split("/"))
    return data


# The manifest `python -m node_factory export` writes beside a model header (fields the component reads; others
# are allowed).
MANIFEST_SCHEMA = cv.All(
    _current_header_format,
    cv.Schema(
        {
            cv.Required("model_id"): cv.string_strict,
            cv.Required("family"): cv.string_strict,
            cv.Required("header"): cv.string_strict,
            cv.Optional("header_format", default=1): cv.int_,
            cv.Required("namespace"): cv.string_strict,
            cv.Required("classes"): cv.All([cv.string_strict], cv.Length(min=2, max=MAX_CLASSES)),
            cv.Required("feature_config"): cv.Schema(
                {
                    cv.Required("sample_rate"): cv.int_range(min=1),
                    cv.Required("frame"): cv.int_range(min=1),
                    cv.Required("frames"): cv.int_range(min=1),
                },
                extra=cv.ALLOW_EXTRA,
            ),
            cv.Required("feature_digest"): _hex_digest,
            cv.Required("margin_thresholds"): [cv.int_],
            cv.Optional("margin_thresholds_by_rate", default={}): cv.Schema({_rate: [cv.int_]}),
        },
        extra=cv.ALLOW_EXTRA,
    ),
    _one_value_per_class,
)


@functools.cache
def _read_manifest(path: str) -> dict[str, Any]:
    """The manifest at `path`, validated by MANIFEST_SCHEMA; errors name the file and the field."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise cv.Invalid(f"model manifest {path} is not readable JSON: {err}") from err
    try:
        return MANIFEST_SCHEMA(data)
    except cv.Invalid as err:
        field = "/".join(str(key) for key in err.path)
        raise cv.Invalid(f"model manifest {path}: {field + ': ' if field else ''}{err.msg}") from err


def manifest_path(model: str) -> Path:
    """The manifest (.json) of a built-in model name or of a user's exported header (.h)."""
    if model in BUILTIN_MODELS:
        return MODELS_DIR / f"{BUILTIN_MODELS[model]}.json"
    return Path(model).with_suffix(".json")


def load_manifest(model: str) -> dict[str, Any]:
    return _read_manifest(str(manifest_path(model)))


def validate_model(value: Any) -> str:
    """A built-in model name, or the path of a header exported by `python -m node_factory export`."""
    value = cv.string_strict(value)
    if value in BUILTIN_MODELS:
        return value
    if not value.endswith(".h"):
        raise cv.Invalid(
            f"model must be one of {', '.join(BUILTIN_MODELS)} or the path of an exported model header (.h)"
        )
    path = Path(CORE.relative_config_path(value))
    if not path.is_file():
        raise cv.Invalid(f"model header {path} does not exist")
    manifest = path.with_suffix(".json")
    if not manifest.is_file():
        raise cv.Invalid(f"model header {path} has no manifest {manifest.name} beside it (the export writes both)")
    header = _read_manifest(str(manifest))["header"]
    if header != path.name:
        raise cv.Invalid(f"model manifest {manifest} describes {header}, not {path.name}")
    return str(path)


CLASS_SCHEMA = cv.Schema(
    {
        cv.Optional(CONF_REPORT): cv.boolean,
        cv.Optional(CONF_ALWAYS_ESCALATE, default=False): cv.boolean,
        cv.Optional(CONF_CONFIRM_WINDOWS): cv.int_range(min=1, max=2),
        cv.Optional(CONF_MARGIN_THRESHOLD): cv.int_range(min=0),
    }
)


def _need_within_span(rule: dict[str, Any]) -> dict[str, Any]:
    if rule[CONF_NEED] > rule[CONF_SPAN]:
        raise cv.Invalid(f"need ({rule[CONF_NEED]}) must not exceed span ({rule[CONF_SPAN]})", path=[CONF_NEED])
    return rule


# `need` windows of the class among the last `span` make an alarm event (docs/esphome.md, "Alarm events").
ALARM_EVENT_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.Required(CONF_CLASS): cv.string_strict,
            cv.Required(CONF_NEED): cv.int_range(min=1, max=MAX_EVENT_SPAN),
            cv.Required(CONF_SPAN): cv.int_range(min=1, max=MAX_EVENT_SPAN),
        }
    ),
    _need_within_span,
)

TRIGGER_CLASSES_SCHEMA = {cv.Optional(CONF_CLASSES): cv.ensure_list(cv.string_strict)}

ADXL345_SCHEMA = cv.Schema(
    {
        cv.GenerateID(): cv.declare_id(Adxl345Source),
        cv.Optional(CONF_SAMPLE_RATE): cv.one_of(*ADXL345_RATES, int=True),
        cv.Optional(CONF_RANGE, default="16g"): cv.one_of(*ADXL345_RANGES, lower=True),
        cv.Optional(CONF_AXIS, default="z"): cv.one_of("x", "y", "z", lower=True),
    }
).extend(i2c.i2c_device_schema(0x53))

ADC_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.GenerateID(): cv.declare_id(AdcSource),
            cv.Required(CONF_PIN): cv.int_range(min=0, max=48),
            cv.Optional(CONF_SAMPLE_RATE): cv.int_range(min=611, max=83333),
        }
    ),
    cv.only_on_esp32,
    # the source reads ESP-IDF's TYPE2 continuous-mode results, which these variants produce
    esp32.only_on_variant(supported=[esp32.VARIANT_ESP32C3, esp32.VARIANT_ESP32S3], msg_prefix="binmoe's adc source"),
)

# Fault identification in shaft orders (docs/vibration-baseline.md): the speeds its analysis takes, and the
# longest capture an escalation carries (64 KB of int16 samples or IMA ADPCM blocks, and 87 KB of base64 beside
# them). binmoe_adpcm.h's block: 505 samples in 256 bytes (WAV's mono IMA ADPCM layout).
MIN_SHAFT_RPM, MAX_SHAFT_RPM = 60, 60000
MAX_CAPTURE_BYTES = 65536
ADPCM_BLOCK_BYTES, ADPCM_BLOCK_SAMPLES = 256, 505
CAPTURE_ENCODINGS = ("s16le", "ima_adpcm")
MIN_CAPTURE_MS = 1000
MAX_CAPTURE_DELAY_MS = 60_000  # an escalation a minute late still finds the fault running


def shaft_speed(value: Any) -> dict[str, Any]:
    """`shaft_speed`: a fixed speed in rpm (a number, "1480" or "1480 rpm"), or the id of a sensor that reports rpm."""
    if isinstance(value, bool):
        raise cv.Invalid("shaft_speed must be a speed in rpm or the id of a sensor that reports rpm")
    text = value if isinstance(value, str) else None
    if text is not None and (match := re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*(?:rpm)?\s*", text, re.IGNORECASE)):
        value = float(match.group(1))
    if isinstance(value, int | float):
        if not MIN_SHAFT_RPM <= value <= MAX_SHAFT_RPM:
            raise cv.Invalid(f"shaft_speed must be between {MIN_SHAFT_RPM} and {MAX_SHAFT_RPM} rpm (got {value:g}), or"
                             " the id of a sensor that reports rpm")  # fmt: skip
        return {CONF_RPM: float(value)}
    return {CONF_SENSOR: cv.use_id(esphome_sensor.Sensor)(value)}


def _geometry_consistent(conf: dict[str, Any]) -> dict[str, Any]:
    if conf[CONF_BALL_DIAMETER] >= conf[CONF_PITCH_DIAMETER]:
        raise cv.Invalid(f"ball_diameter ({conf[CONF_BALL_DIAMETER]:g} mm) must be smaller than pitch_diameter "
                         f"({conf[CONF_PITCH_DIAMETER]:g} mm)", path=[CONF_BALL_DIAMETER])  # fmt: skip
    return conf


# lengths in mm; the contact angle in degrees (0 for deep-groove ball bearings)
BEARING_GEOMETRY_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.Required(CONF_BALLS): cv.int_range(min=3, max=100),
            cv.Required(CONF_BALL_DIAMETER): cv.float_range(min=0.1, max=500.0, min_included=True),
            cv.Required(CONF_PITCH_DIAMETER): cv.float_range(min=0.5, max=5000.0),
            cv.Optional(CONF_CONTACT_ANGLE, default=0.0): cv.float_range(min=0.0, max=90.0, max_included=False),
        }
    ),
    _geometry_consistent,
)


def bearing(value: Any) -> dict[str, Any]:
    """`bearing`: the geometry, or a designation from the table in bearing_table.py (which cites its sources)."""
    if isinstance(value, dict):
        return BEARING_GEOMETRY_SCHEMA(value)
    name = str(value) if isinstance(value, int) and not isinstance(value, bool) else cv.string_strict(value)
    try:
        balls, ball_mm, pitch_mm, contact_deg = lookup_bearing(name)
    except KeyError:
        raise cv.Invalid(unknown_bearing(name)) from None
    return {CONF_BALLS: balls, CONF_BALL_DIAMETER: ball_mm, CONF_PITCH_DIAMETER: pitch_mm,
            CONF_CONTACT_ANGLE: contact_deg}  # fmt: skip


def bearing_json(conf: dict[str, Any]) -> str:
    """The protocol's `bearing` (docs/protocol.md): [balls, ball diameter mm, pitch diameter mm, contact angle]."""
    return json.dumps([conf[CONF_BALLS], round(conf[CONF_BALL_DIAMETER], 4), round(conf[CONF_PITCH_DIAMETER], 4),
                       round(conf[CONF_CONTACT_ANGLE], 3)], separators=(",", ":"))  # fmt: skip


REPLAY_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.GenerateID(): cv.declare_id(ReplaySource),
            cv.Optional(CONF_SPEED, default=1.0): cv.float_range(min=0.0, max=1000.0),
        }
    ),
    cv.only_on(["host"]),
)


def _validate_against_model(config: dict[str, Any]) -> dict[str, Any]:
    """Everything that depends on the model: classes, hop, rates, thresholds (all at config time)."""
    manifest = load_manifest(config[CONF_MODEL])
    classes: list[str] = manifest["classes"]
    features = manifest["feature_config"]
    rate, frame, frames = features["sample_rate"], features["frame"], features["frames"]
    for name in config.get(CONF_CLASSES, {}):
        if name not in classes:
            raise cv.Invalid(f"model {manifest['model_id']} has no class '{name}' (classes: {', '.join(classes)})",
                             path=[CONF_CLASSES, name])  # fmt: skip
    for key in (CONF_ON_DETECTION, CONF_ON_ESCALATION):
        for i, conf in enumerate(config.get(key, [])):
            for name in conf.get(CONF_CLASSES, []):
                if name not in classes:
                    raise cv.Invalid(f"model {manifest['model_id']} has no class '{name}'", path=[key, i, CONF_CLASSES])
    seen: set[str] = set()
    for i, rule in enumerate(config.get(CONF_ALARM_EVENTS, [])):
        name = rule[CONF_CLASS]
        if name not in classes:
            raise cv.Invalid(f"model {manifest['model_id']} has no class '{name}' (classes: {', '.join(classes)})",
                             path=[CONF_ALARM_EVENTS, i, CONF_CLASS])  # fmt: skip
        if name in seen:
            raise cv.Invalid(f"one alarm event rule per class: '{name}' has two",
                             path=[CONF_ALARM_EVENTS, i, CONF_CLASS])  # fmt: skip
        seen.add(name)
    if config.get(CONF_ALARM_CODE) and alarm_code_classes(config, manifest) is None:
        raise cv.Invalid(f"model {manifest['model_id']} cannot listen for the alarms' temporal codes: that needs the "
                         "smoke_alarm and co_alarm classes and the sound features (32 ms frames of 16 kHz "
                         "audio, 16 bands of 150-7000 Hz)",
                         path=[CONF_ALARM_CODE])  # fmt: skip
    if config.get(CONF_ALARM_TONE) and alarm_code_classes(config, manifest) is None:
        raise cv.Invalid("alarm_tone feeds the alarm-code events: it needs the alarm-code detector (a model with the "
                         "smoke_alarm and co_alarm classes and the sound features, and alarm_code not false)",
                         path=[CONF_ALARM_TONE])  # fmt: skip
    tone_detector = alarm_code_classes(config, manifest) is not None and config.get(CONF_ALARM_TONE, True)
    if config.get(CONF_CO_TONE) and not tone_detector:
        raise cv.Invalid("co_tone is the tone detector's T4 path: it needs the tone detector (alarm_tone not false, "
                         "and the alarm-code detector)", path=[CONF_CO_TONE])  # fmt: skip
    if CONF_ALARM_PITCH in config and not tone_detector:
        raise cv.Invalid("alarm_pitch gates the tone detector's codes: it needs the tone detector (alarm_tone not "
                         "false, and the alarm-code detector)", path=[CONF_ALARM_PITCH])  # fmt: skip
    if not 1 <= hop_frames(config, features) <= frames:
        window_ms = frame * frames * 1000 / rate
        raise cv.Invalid(f"hop must be between {frame * 1000 / rate:.0f} ms (one frame) and {window_ms:.0f} ms "
                         f"(one window) for model {manifest['model_id']}", path=[CONF_HOP])  # fmt: skip
    source_rate = _source_rate(config, rate)
    if source_rate != rate:
        source = next(s for s in SOURCES if s in config)
        raise cv.Invalid(f"model {manifest['model_id']} needs {rate} Hz input, {source} is set to {source_rate} Hz",
                         path=[source, CONF_SAMPLE_RATE])  # fmt: skip
    if CONF_TARGET_ESCALATION_RATE in config:
        _thresholds_for_rate(manifest, config[CONF_TARGET_ESCALATION_RATE])
    _validate_fault_identification(config, manifest)
    anomaly_persistence(config, manifest)  # raises for a length over 255 windows at the hop
    return config


def _validate_fault_identification(config: dict[str, Any], manifest: dict[str, Any]) -> None:
    options = (CONF_SHAFT_SPEED, CONF_BEARING, CONF_CAPTURE_DURATION, CONF_CAPTURE_ENCODING, CONF_CAPTURE_DELAY)
    keys = [k for k in options if k in config]
    if not keys:
        return
    if not manifest["family"].startswith("vibration"):
        raise cv.Invalid(f"{keys[0]} is for vibration models (fault identification in shaft orders); model "
                         f"{manifest['model_id']} is a {manifest['family']} model", path=[keys[0]])  # fmt: skip
    missing = [k for k in (CONF_SHAFT_SPEED, CONF_BEARING) if k not in config]
    if missing:
        missing_text = f"{missing[0]} is" if len(missing) == 1 else "both are"
        raise cv.Invalid(f"fault identification needs both shaft_speed and bearing: {keys[0]} is set, "
                         f"{missing_text} missing", path=[keys[0]])  # fmt: skip
    rate = manifest["feature_config"]["sample_rate"]
    samples = capture_samples(config, manifest)
    encoding = config.get(CONF_CAPTURE_ENCODING, "s16le")
    if capture_bytes(samples, encoding) > MAX_CAPTURE_BYTES:
        blocks = MAX_CAPTURE_BYTES // ADPCM_BLOCK_BYTES
        most = MAX_CAPTURE_BYTES // 2 if encoding == "s16le" else blocks * ADPCM_BLOCK_SAMPLES
        longest = f"at most {most} ({most / rate:g} s) as {encoding}"
        raise cv.Invalid(f"capture_duration of {samples / rate:g} s is {samples} samples at {rate} Hz; {longest}",
                         path=[CONF_CAPTURE_DURATION])  # fmt: skip


def capture_bytes(samples: int, encoding: str) -> int:
    """Bytes a capture of `samples` takes as it is sent: int16 samples, or the IMA ADPCM blocks that hold them."""
    if encoding == "ima_adpcm":
        return -(-samples // ADPCM_BLOCK_SAMPLES) * ADPCM_BLOCK_BYTES
    return 2 * samples


def capture_delay_windows(config: dict[str, Any], manifest: dict[str, Any]) -> int:
    """Windows an anomaly's escalation waits (`capture_delay`): the first window that ends at least that long
    after the one that raised the anomaly goes (0: that window)."""
    if CONF_CAPTURE_DELAY not in config:
        return 0
    features = manifest["feature_config"]
    hop_units = hop_frames(config, features) * features["frame"] * 1000  # hop in ms x sample rate
    return -(-config[CONF_CAPTURE_DELAY].total_milliseconds * features["sample_rate"] // hop_units)


def capture_samples(config: dict[str, Any], manifest: dict[str, Any]) -> int:
    """Samples an anomaly escalation captures: `capture_duration`, else one model window (at least 1 s)."""
    features = manifest["feature_config"]
    rate = features["sample_rate"]
    if CONF_CAPTURE_DURATION in config:
        return round(config[CONF_CAPTURE_DURATION].total_milliseconds * rate / 1000)
    return max(features["frame"] * features["frames"], -(-MIN_CAPTURE_MS * rate // 1000))


def hop_frames(config: dict[str, Any], features: dict[str, Any]) -> int:
    """The configured hop in feature frames (default: half a window)."""
    rate, frame = features["sample_rate"], features["frame"]
    window_ms = frame * features["frames"] * 1000 / rate
    hop_ms = config[CONF_HOP].total_milliseconds if CONF_HOP in config else window_ms / 2
    return round(hop_ms * rate / 1000 / frame)


# An anomaly of the per-machine baseline starts after the score stays above its threshold for a length of signal
# and ends after another below 3/4 of it. Vibration nodes: three and six whole windows (7.68 s and 15.36 s on the
# ADXL345 node, 3.07 s and 6.14 s on the piezo node: what the held-out protocol measures). Sound nodes: 2 s and
# 3.5 s, since "unusual sound here" is about events of a second or two (3 and 6 windows at the sound model's
# default hop, what its benchmark measures). The reference is node_factory.reference.baseline.persistence_windows.
ANOMALY_WINDOWS = (3, 6)
SOUND_ANOMALY_MS = (2000, 3500)
MAX_PERSISTENCE_WINDOWS = 255  # a byte of the stored baseline


def anomaly_persistence_ms(config: dict[str, Any], manifest: dict[str, Any]) -> tuple[float, float]:
    """`anomaly_start_after` and `anomaly_end_after` in ms, or the model family's defaults."""
    features = manifest["feature_config"]
    window_ms = features["frame"] * features["frames"] * 1000 / features["sample_rate"]
    if manifest["family"].startswith("vibration"):
        defaults = (ANOMALY_WINDOWS[0] * window_ms, ANOMALY_WINDOWS[1] * window_ms)
    else:
        defaults = (float(SOUND_ANOMALY_MS[0]), float(SOUND_ANOMALY_MS[1]))
    keys = (CONF_ANOMALY_START_AFTER, CONF_ANOMALY_END_AFTER)
    start, end = (config[k].total_milliseconds if k in config else d for k, d in zip(keys, defaults, strict=True))
    return start, end


def anomaly_persistence(config: dict[str, Any], manifest: dict[str, Any]) -> tuple[int, int]:
    """The windows in a row at the node's hop that cover `anomaly_persistence_ms`: 1 + ceil((length - window) /
    hop), at least 1 (a length under one window is one window)."""
    features = manifest["feature_config"]
    rate, frame = features["sample_rate"], features["frame"]
    window, hop = frame * features["frames"], hop_frames(config, features) * frame
    counts = []
    for key, ms in zip((CONF_ANOMALY_START_AFTER, CONF_ANOMALY_END_AFTER), anomaly_persistence_ms(config, manifest),
                       strict=True):  # fmt: skip
        signal = round(ms * rate / 1000)
        count = 1 + max(0, -(-(signal - window) // hop))
        if count > MAX_PERSISTENCE_WINDOWS:
            longest = (window + (MAX_PERSISTENCE_WINDOWS - 1) * hop) * 1000 / rate
            hop_ms = hop * 1000 / rate
            raise cv.Invalid(f"{key} of {ms / 1000:g} s is {count} windows at the {hop_ms:g} ms hop; at most "
                             f"{MAX_PERSISTENCE_WINDOWS} ({longest / 1000:g} s)", path=[key])  # fmt: skip
        counts.append(count)
    return counts[0], counts[1]


def alarm_code_classes(config: dict[str, Any], manifest: dict[str, Any]) -> tuple[int, int] | None:
    """The classes the temporal-three and temporal-four codes report, if the node listens for them: by default
    when the model has both alarm classes and the features the detector is built for (32 ms frames of 16 kHz
    audio, 16 bands 150-7000 Hz: its band range and levels are in those units); `alarm_code: false` turns it
    off. None otherwise."""
    classes: list[str] = manifest["classes"]
    features = manifest["feature_config"]
    fits = (
        "smoke_alarm" in classes and "co_alarm" in classes and features["sample_rate"] == 16000
        and features["frame"] == 512 and features["bands"] == 16 and not features.get("envelope_bands")
        and features.get("f_min") == 150.0 and features.get("f_max") == 7000.0
    )  # fmt: skip
    if not fits or not config.get(CONF_ALARM_CODE, True):
        return None
    return classes.index("smoke_alarm"), classes.index("co_alarm")


def alarm_events(config: dict[str, Any], manifest: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(class index, need, span) of each alarm-event rule: `alarm_events` if set (`[]`: none), else the defaults
    for the model's alarm classes at the configured hop. With the alarm-code detector the rules count windows
    in which the class's code completed, one is an event (a code match is already four or five pulses), and
    the event holds for CODE_EVENT_SPAN_MS without the code."""
    classes: list[str] = manifest["classes"]
    if CONF_ALARM_EVENTS in config:
        return [(classes.index(r[CONF_CLASS]), r[CONF_NEED], r[CONF_SPAN]) for r in config[CONF_ALARM_EVENTS]]
    features = manifest["feature_config"]
    hop_units = hop_frames(config, features) * features["frame"] * 1000  # hop in ms x sample rate
    code = alarm_code_classes(config, manifest) is not None
    rules = []
    for name, (need, span_ms) in DEFAULT_ALARM_EVENTS.items():
        if name in classes:
            span_ms = CODE_EVENT_SPAN_MS if code else span_ms
            span = min(MAX_EVENT_SPAN, -(-span_ms * features["sample_rate"] // hop_units))
            rules.append((classes.index(name), 1 if code else min(need, span), span))
    return rules


def reports(name: str, rule: dict[str, Any]) -> bool:
    """Whether detections of class `name` are reported: `report:` if set, else all but the idle classes."""
    return bool(rule.get(CONF_REPORT, name not in IDLE_CLASSES))


def confirmed(name: str, rule: dict[str, Any]) -> bool:
    """Whether class `name` is detected only on its second window in a row: `confirm_windows: 2` if set, else the
    CONFIRMED_CLASSES."""
    return int(rule.get(CONF_CONFIRM_WINDOWS, 2 if name in CONFIRMED_CLASSES else 1)) == 2


def _source_rate(config: dict[str, Any], model_rate: int) -> int:
    for key in (CONF_ADXL345, CONF_ADC):
        if key in config:
            config[key].setdefault(CONF_SAMPLE_RATE, model_rate)
            if key == CONF_ADXL345 and model_rate not in ADXL345_RATES:
                raise cv.Invalid(f"the ADXL345 cannot sample at the model's {model_rate} Hz", path=[key])
            return int(config[key][CONF_SAMPLE_RATE])
    return model_rate  # microphone: checked against the microphone in FINAL_VALIDATE_SCHEMA; replay: WAV header


def _thresholds_for_rate(manifest: dict[str, Any], target: float) -> list[int]:
    """Per-class margins calibrated for the largest tabulated escalation rate <= target."""
    table: dict[str, list[int]] = manifest.get("margin_thresholds_by_rate") or {}
    if not table:
        raise cv.Invalid(
            f"model {manifest['model_id']} has no calibration table (margin_thresholds_by_rate); "
            "re-export it or leave target_escalation_rate out",
            path=[CONF_TARGET_ESCALATION_RATE],
        )
    usable = sorted((float(rate), rate) for rate in table if float(rate) <= target + 1e-9)
    if not usable:
        lowest = min(float(rate) for rate in table)
        raise cv.Invalid(f"target_escalation_rate must be at least {lowest:.0%} for model {manifest['model_id']}",
                         path=[CONF_TARGET_ESCALATION_RATE])  # fmt: skip
    return [int(v) for v in table[usable[-1][1]]]


def _renamed_smoke_tone(config: dict[str, Any]) -> dict[str, Any]:
    """`smoke_tone` was `alarm_tone`'s name until the tone detector heard CO too: read as `alarm_tone`, with a
    warning, so that existing YAML keeps compiling."""
    if CONF_SMOKE_TONE not in config:
        return config
    if CONF_ALARM_TONE in config:
        raise cv.Invalid("smoke_tone is the old name of alarm_tone: give alarm_tone only", path=[CONF_SMOKE_TONE])
    _LOGGER.warning("binmoe: 'smoke_tone' is now called 'alarm_tone' (the detector hears CO's T4 too); rename it")
    config = dict(config)
    config[CONF_ALARM_TONE] = config.pop(CONF_SMOKE_TONE)
    return config


CONFIG_SCHEMA = cv.All(
    cv.Schema(
        {
            cv.GenerateID(): cv.declare_id(BinMoEComponent),
            cv.Required(CONF_MODEL): validate_model,
            cv.Optional(CONF_MICROPHONE): microphone.microphone_source_schema(16, 16, 1, 1),
            cv.Optional(CONF_ADXL345): ADXL345_SCHEMA,
            cv.Optional(CONF_ADC): ADC_SCHEMA,
            cv.Optional(CONF_REPLAY): REPLAY_SCHEMA,
            cv.Optional(CONF_HOP): cv.positive_time_period_milliseconds,
            cv.Optional(CONF_TARGET_ESCALATION_RATE): cv.percentage,
            cv.Optional(CONF_CLASSES, default={}): cv.Schema({cv.string_strict: CLASS_SCHEMA}),
            cv.Optional(CONF_DETECTION_INTERVAL, default="10s"): cv.positive_time_period_milliseconds,
            cv.Optional(CONF_MAX_ESCALATIONS_PER_MINUTE, default=6): cv.int_range(min=0, max=600),
            cv.Optional(CONF_SEND_FEATURES, default=True): cv.boolean,
            # messages kept while no hub can hear the node (store and forward); 0: none
            cv.Optional(CONF_OUTBOX, default=8): cv.int_range(min=0, max=MAX_OUTBOX),
            cv.Optional(CONF_ALARM_EVENTS): cv.ensure_list(ALARM_EVENT_SCHEMA),
            cv.Optional(CONF_SHAFT_SPEED): shaft_speed,
            cv.Optional(CONF_BEARING): bearing,
            cv.Optional(CONF_CAPTURE_DURATION): cv.All(
                cv.positive_time_period_milliseconds, cv.Range(min=cv.TimePeriod(milliseconds=MIN_CAPTURE_MS))
            ),
            cv.Optional(CONF_CAPTURE_ENCODING): cv.one_of(*CAPTURE_ENCODINGS, lower=True),
            cv.Optional(CONF_CAPTURE_DELAY): cv.All(
                cv.positive_time_period_milliseconds, cv.Range(max=cv.TimePeriod(milliseconds=MAX_CAPTURE_DELAY_MS))
            ),
            # the per-machine baseline's hysteresis as signal (default: anomaly_persistence_ms)
            cv.Optional(CONF_ANOMALY_START_AFTER): cv.positive_time_period_milliseconds,
            cv.Optional(CONF_ANOMALY_END_AFTER): cv.positive_time_period_milliseconds,
            cv.Optional(CONF_ALARM_CODE): cv.boolean,
            cv.Optional(CONF_ALARM_TONE): cv.boolean,  # default: on wherever the alarm-code detector is
            cv.Optional(CONF_SMOKE_TONE): cv.boolean,  # the old name of alarm_tone (_renamed_smoke_tone)
            cv.Optional(CONF_CO_TONE): cv.boolean,  # default: on wherever the tone detector is
            # default: on wherever the tone detector is (codes only on a smoke or CO sounder's pitch)
            cv.Optional(CONF_ALARM_PITCH): cv.boolean,
            cv.Optional(CONF_ON_DETECTION): automation.validate_automation(
                {cv.GenerateID(CONF_TRIGGER_ID): cv.declare_id(DetectionTrigger), **TRIGGER_CLASSES_SCHEMA}
            ),
            cv.Optional(CONF_ON_ESCALATION): automation.validate_automation(
                {cv.GenerateID(CONF_TRIGGER_ID): cv.declare_id(EscalationTrigger), **TRIGGER_CLASSES_SCHEMA}
            ),
        }
    ).extend(cv.polling_component_schema("10s")),
    cv.has_exactly_one_key(*SOURCES),
    _renamed_smoke_tone,
    _validate_against_model,
)


def _final_validate(config: dict[str, Any]) -> dict[str, Any]:
    if CONF_MICROPHONE in config:
        rate = load_manifest(config[CONF_MODEL])["feature_config"]["sample_rate"]
        microphone.final_validate_microphone_source_schema("binmoe", sample_rate=rate)(config[CONF_MICROPHONE])
    if fv.full_config.get().get("api") is None and CONF_ON_DETECTION not in config and CONF_ON_ESCALATION not in config:
        raise cv.Invalid("binmoe needs the native API (api:) to send detections and escalations to Home Assistant, "
                         "or on_detection/on_escalation automations to act on them locally")  # fmt: skip
    return config


FINAL_VALIDATE_SCHEMA = _final_validate


def _copy_sources(header: Path) -> None:
    for source in (KERNEL_DIR / "binmoe_kernel.h", KERNEL_DIR / "binmoe_report.h", header):
        copy_file_if_changed(source, Path(CORE.relative_src_path(BUILD_DIR, source.name)))


def _write_model_config(manifest: dict[str, Any], header: str, source_rate: int, hop_frames: int) -> None:
    """binmoe/binmoe_model.h: which model binmoe_runner.cpp instantiates. The static_assert repeats the config-time
    checks in the compiler: the header must be the one the manifest describes (feature digest) and take the
    configured input, so a hand-edited manifest cannot smuggle in a model for other features."""
    ns = "::" + manifest["namespace"]
    frame = manifest["feature_config"]["frame"]
    digest32 = int(manifest["feature_digest"][:8], 16)
    text = f"""// Generated by the binmoe component (ESPHome code generation) - do not edit.
#pragma once
#include "{header}"

#define BINMOE_MODEL {ns}::kModel
#define BINMOE_MODEL_TYPE {ns}::ModelType
#define BINMOE_HOP_FRAMES {hop_frames}

static_assert(::binmoe::takes_input(BINMOE_MODEL, {source_rate}, {frame}),
              "BinMoE: model {manifest["model_id"]} does not take this node's input ({source_rate} Hz, frame {frame})");
static_assert(BINMOE_MODEL.features.digest32 == 0x{digest32:08x}u,
              "BinMoE: {header} is not the model its manifest describes (feature digest differs)");
"""
    write_file_if_changed(Path(CORE.relative_src_path(BUILD_DIR, "binmoe_model.h")), text)


async def _new_source(conf: dict[str, Any], parent: Any, define: str) -> Any:
    """A sample source: its own component, feeding the parent's ring; compiled in only when configured."""
    cg.add_define(define)
    src = cg.new_Pvariable(conf[CONF_ID], parent)
    await cg.register_component(src, conf)
    return src


async def to_code(config: dict[str, Any]) -> None:
    manifest = load_manifest(config[CONF_MODEL])
    model = config[CONF_MODEL]
    header = MODELS_DIR / manifest["header"] if model in BUILTIN_MODELS else Path(model)
    _copy_sources(header)
    features = manifest["feature_config"]
    rate = features["sample_rate"]
    _write_model_config(manifest, header.name, _source_rate(config, rate), hop_frames(config, features))

    var = cg.new_Pvariable(config[CONF_ID])
    await cg.register_component(var, config)
    if "api" in CORE.config:
        cg.add_define("USE_API_HOMEASSISTANT_SERVICES")  # the node fires Home Assistant events
        if config[CONF_OUTBOX] > 0:
            cg.add_define("BINMOE_OUTBOX_SIZE", config[CONF_OUTBOX])
            cg.add_define("BINMOE_OUTBOX_CLASSES", len(manifest["classes"]))  # each slot keeps the logits
    cg.add(var.set_task("vibration" if manifest["family"].startswith("vibration") else "sound"))
    cg.add(var.set_router_config(config[CONF_DETECTION_INTERVAL].total_milliseconds,
                                 config[CONF_MAX_ESCALATIONS_PER_MINUTE]))  # fmt: skip
    cg.add(var.set_send_features(config[CONF_SEND_FEATURES]))
    cg.add(var.set_anomaly_persistence(*anomaly_persistence(config, manifest)))
    # the digest's first 8 bytes, big endian: a stored baseline learnt with other features is refused
    cg.add(var.set_feature_digest(cg.RawExpression(f"0x{manifest['feature_digest'][:16]}ULL")))
    classes: list[str] = manifest["classes"]
    margins = list(manifest["margin_thresholds"])
    if CONF_TARGET_ESCALATION_RATE in config:
        margins = _thresholds_for_rate(manifest, config[CONF_TARGET_ESCALATION_RATE])
    for idx, name in enumerate(classes):
        rule = config[CONF_CLASSES].get(name, {})
        margin = rule.get(CONF_MARGIN_THRESHOLD, margins[idx])
        if margin != manifest["margin_thresholds"][idx]:
            cg.add(var.set_margin_threshold(idx, margin))
        always = rule[CONF_ALWAYS_ESCALATE] if rule else False
        cg.add(var.set_class_rule(idx, reports(name, rule), always, confirmed(name, rule)))
    if rules := alarm_events(config, manifest):
        cg.add_define("USE_BINMOE_ALARM_EVENTS")  # the event detector: compiled in only where there are rules
    for idx, need, span in rules:
        cg.add(var.add_event_rule(idx, need, span))
    if CONF_BEARING in config:
        cg.add_define("USE_BINMOE_ORDERS")  # fault identification: compiled in only where it is configured
        speed = config[CONF_SHAFT_SPEED]
        adpcm = config.get(CONF_CAPTURE_ENCODING, "s16le") == "ima_adpcm"
        cg.add(var.set_fault_identification(speed.get(CONF_RPM, 0.0), bearing_json(config[CONF_BEARING]),
                                            capture_samples(config, manifest), adpcm,
                                            capture_delay_windows(config, manifest)))  # fmt: skip
        if CONF_SENSOR in speed:
            cg.add(var.set_shaft_speed_sensor(await cg.get_variable(speed[CONF_SENSOR])))
    if (code_classes := alarm_code_classes(config, manifest)) is not None:
        cg.add_define("USE_BINMOE_ALARM_CODE")
        cg.add(var.set_alarm_code(*code_classes))
        if config.get(CONF_ALARM_TONE, True):
            cg.add_define("USE_BINMOE_ALARM_TONE")  # the tone-following T3/T4 detector (1,404 B RAM)
            if not config.get(CONF_CO_TONE, True):
                cg.add(var.set_co_tone(False))  # T3 only: the tone detector raises no CO events
            if not config.get(CONF_ALARM_PITCH, True):
                cg.add(var.set_alarm_pitch(False))  # codes on tones of any pitch count

    if CONF_MICROPHONE in config:
        cg.add_define("USE_BINMOE_MICROPHONE")
        mic_source = await microphone.microphone_source_to_code(config[CONF_MICROPHONE])
        cg.add(var.set_microphone_source(mic_source))
    if CONF_ADXL345 in config:
        conf = config[CONF_ADXL345]
        src = await _new_source(conf, var, "USE_BINMOE_ADXL345")
        await i2c.register_i2c_device(src, conf)
        cg.add(src.set_rate_code(ADXL345_RATES[conf[CONF_SAMPLE_RATE]]))
        cg.add(src.set_range_code(ADXL345_RANGES[conf[CONF_RANGE]]))
        cg.add(src.set_axis("xyz".index(conf[CONF_AXIS])))
        cg.add(var.set_level_offset_db(round(ADXL345_LEVEL_OFFSET_DB, 2)))
    if CONF_ADC in config:
        conf = config[CONF_ADC]
        esp32.include_builtin_idf_component("esp_adc")  # ESPHome leaves ESP-IDF's ADC driver out unless asked
        src = await _new_source(conf, var, "USE_BINMOE_ADC")
        cg.add(src.set_pin(conf[CONF_PIN]))
        cg.add(src.set_sample_rate(conf[CONF_SAMPLE_RATE]))
    if CONF_REPLAY in config:
        conf = config[CONF_REPLAY]
        src = await _new_source(conf, var, "USE_BINMOE_REPLAY")
        cg.add(src.set_speed(conf[CONF_SPEED]))

    if CONF_ON_DETECTION in config or CONF_ON_ESCALATION in config:
        cg.add_define("USE_BINMOE_TRIGGERS")  # compiled in only where the node has them
    for key in (CONF_ON_DETECTION, CONF_ON_ESCALATION):
        for conf in config.get(key, []):
            trigger = cg.new_Pvariable(conf[CONF_TRIGGER_ID], var)
            for name in conf.get(CONF_CLASSES, []):
                cg.add(trigger.add_class(classes.index(name)))
            await automation.build_automation(trigger, [(cg.std_string, "class_name"), (cg.float_, "confidence")], conf)


# The per-machine baseline (learner, anomaly score, its entities) is compiled in only where the node configures
# a way to learn or show it: binmoe.learn_baseline, or one of its entities (sensor, text_sensor, binary_sensor).
USE_BASELINE = "USE_BINMOE_BASELINE"

BINMOE_ACTION_SCHEMA = automation.maybe_simple_id({cv.GenerateID(): cv.use_id(BinMoEComponent)})


@automation.register_action("binmoe.force_escalation", ForceEscalationAction, BINMOE_ACTION_SCHEMA, synchronous=True)
async def force_escalation_to_code(config, action_id, template_arg, args):
    var = cg.new_Pvariable(action_id, template_arg)
    await cg.register_parented(var, config[CONF_ID])
    return var


# A baseline needs at least 4 windows (the node refuses shorter ones with a log line: the minimum depends on
# the hop); a week of windows stays far inside the learner's counters.
BASELINE_DURATION = cv.All(
    cv.positive_time_period_milliseconds, cv.Range(min=cv.TimePeriod(seconds=1), max=cv.TimePeriod(days=7))
)
LEARN_BASELINE_ACTION_SCHEMA = cv.Schema(
    {
        cv.GenerateID(): cv.use_id(BinMoEComponent),
        cv.Required(CONF_DURATION): cv.templatable(BASELINE_DURATION),
    }
)


@automation.register_action("binmoe.learn_baseline", LearnBaselineAction, LEARN_BASELINE_ACTION_SCHEMA,
                            synchronous=True)  # fmt: skip
async def learn_baseline_to_code(config, action_id, template_arg, args):
    cg.add_define(USE_BASELINE)
    var = cg.new_Pvariable(action_id, template_arg)
    await cg.register_parented(var, config[CONF_ID])
    cg.add(var.set_duration(await cg.templatable(config[CONF_DURATION], args, cg.uint32)))
    return var


# binmoe_baseline.h's baseline_blob_bytes(1) and MAX_BASELINE_BLOB: the stored form of a 1- and a 16-band
# baseline (header, means, scales, weights, the correlation factor's lower triangle, checksum)
MIN_BASELINE_BLOB = 24 + 1 * 8 + 4
MAX_BASELINE_BLOB = 24 + 16 * 8 + 16 * 15 + 4


def _base64_baseline(value: Any) -> str:
    """A baseline written into the YAML must at least be base64 (whether it is one of this model's, the node says
    when the action runs: it knows the model's features)."""
    value = cv.string_strict(value)
    try:
        blob = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise cv.Invalid(f"baseline is not base64: {err}") from err
    if len(blob) > MAX_BASELINE_BLOB:
        raise cv.Invalid(f"baseline has {len(blob)} bytes, more than any stored baseline ({MAX_BASELINE_BLOB})")
    if len(blob) < MIN_BASELINE_BLOB:
        raise cv.Invalid(f"baseline has {len(blob)} bytes, fewer than any stored baseline ({MIN_BASELINE_BLOB})")
    return value


SET_BASELINE_ACTION_SCHEMA = cv.Schema(
    {
        cv.GenerateID(): cv.use_id(BinMoEComponent),
        cv.Required(CONF_BASELINE): cv.templatable(_base64_baseline),
    }
)


@automation.register_action("binmoe.set_baseline", SetBaselineAction, SET_BASELINE_ACTION_SCHEMA, synchronous=True)
async def set_baseline_to_code(config, action_id, template_arg, args):
    cg.add_define(USE_BASELINE)
    var = cg.new_Pvariable(action_id, template_arg)
    await cg.register_parented(var, config[CONF_ID])
    cg.add(var.set_baseline(await cg.templatable(config[CONF_BASELINE], args, cg.std_string)))
    return var


def _only_on_host(config: dict[str, Any]) -> dict[str, Any]:
    if not CORE.is_host:
        raise cv.Invalid("binmoe.replay is only available on the host platform (the replay source is host-only)")
    return config


REPLAY_ACTION_SCHEMA = cv.All(
    _only_on_host,
    cv.Schema({cv.GenerateID(): cv.use_id(ReplaySource), cv.Required(CONF_FILE): cv.templatable(cv.string)}),
)


@automation.register_action("binmoe.replay", ReplayAction, REPLAY_ACTION_SCHEMA, synchronous=True)
async def replay_to_code(config, action_id, template_arg, args):
    var = cg.new_Pvariable(action_id, template_arg)
    await cg.register_parented(var, config[CONF_ID])
    cg.add(var.set_file(await cg.templatable(config[CONF_FILE], args, cg.std_string)))
    return var
