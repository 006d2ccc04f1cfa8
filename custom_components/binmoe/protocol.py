"""Node messages of protocol v1 (docs/protocol.md §1), validated with one schema for every transport.

ESPHome delivers event data as strings, MQTT as native JSON: the schema coerces both to one typed form.
It mirrors the GPU tier's reference (gpu_backend/protocol.py); both are tested on the same examples.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

import probatio as vol

from .const import PROTOCOL_VERSION


class InvalidMessage(ValueError):
    """A payload that does not follow the protocol; the message says which field and why."""


def _from_json(value: Any) -> Any:
    """ESPHome's string form of a JSON array parsed; MQTT's native value as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError) as err:  # RecursionError: "[[[[…", deeper than the parser goes
        raise vol.Invalid("not a JSON array") from err


def _json_list(value: Any) -> list[int]:
    value = _from_json(value)
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise vol.Invalid("expected a list of integers")
    return value


def _bearing(value: Any) -> list[float]:
    """[balls, ball diameter mm, pitch diameter mm, contact angle degrees], a possible geometry."""
    value = _from_json(value)
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise vol.Invalid("expected [balls, ball diameter, pitch diameter, contact angle]")
    balls, ball_mm, pitch_mm, contact_deg = value
    if balls != int(balls) or balls < 3 or not 0 < ball_mm < pitch_mm or not 0 <= contact_deg < 90:
        raise vol.Invalid("not a bearing geometry")
    return [int(balls), float(ball_mm), float(pitch_mm), float(contact_deg)]


def _speed_range(value: Any) -> list[float]:
    """[low, high] shaft speeds in rpm, inside the speeds fault identification takes."""
    value = _from_json(value)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not MIN_SHAFT_RPM <= value[0] <= value[1] <= MAX_SHAFT_RPM
    ):
        raise vol.Invalid(f"expected [low, high] with {MIN_SHAFT_RPM:g} <= low <= high <= {MAX_SHAFT_RPM:g} rpm")
    return [float(value[0]), float(value[1])]


def _boolean(value: Any) -> bool:
    """JSON's true / false, or ESPHome's strings of them."""
    value = {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value
    if not isinstance(value, bool):
        raise vol.Invalid("expected true or false")
    return value


MAX_EVENT_SPAN = 32  # windows an alarm event's rule may span (event_windows counts among them)
# fault identification in shaft orders: the shaft speeds it takes and a capture's limits (at least 1 s, at most
# 65,536 bytes: 32768 int16 samples or 256 IMA ADPCM blocks)
MIN_SHAFT_RPM, MAX_SHAFT_RPM = 60.0, 60000.0
MIN_CAPTURE_S, MAX_CAPTURE_SAMPLES = 1.0, 32768
MAX_CAPTURE_CHARS = (2 * MAX_CAPTURE_SAMPLES + 2) // 3 * 4
# a capture's encodings: int16 little-endian samples (the default), or IMA ADPCM in WAV's mono block layout
CAPTURE_ENCODINGS = ("s16le", "ima_adpcm")
ADPCM_BLOCK_BYTES, ADPCM_BLOCK_SAMPLES = 256, 505
_COUNT = vol.All(vol.Coerce(int), vol.Range(min=0))
_HEX8 = vol.All(str, vol.Match(r"^[0-9a-f]{8}$"))

_SCHEMA = vol.Schema(
    {
        vol.Required("v"): vol.All(vol.Coerce(int), vol.In([PROTOCOL_VERSION])),
        vol.Required("kind"): vol.In(["detection", "escalation"]),
        vol.Required("node_id"): vol.All(str, vol.Match(r"^[a-z0-9_-]{1,64}$")),
        vol.Required("task"): vol.In(["sound", "vibration"]),
        vol.Required("boot"): _HEX8,
        vol.Required("seq"): _COUNT,
        vol.Required("uptime_ms"): _COUNT,
        vol.Required("class"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("class_idx"): _COUNT,
        vol.Required("scores"): vol.All(_json_list, vol.Length(min=2, max=64)),
        vol.Required("margin"): _COUNT,
        vol.Required("confidence"): vol.All(vol.Coerce(float), vol.Range(min=0.0, max=1.0)),
        vol.Required("model"): vol.All(str, vol.Length(min=1, max=64)),
        vol.Required("model_hash"): _HEX8,
        vol.Required("level_db"): vol.Coerce(float),
        vol.Optional("reason"): vol.In(["low_margin", "escalate_class", "forced", "anomaly"]),
        vol.Optional("event_windows"): vol.All(vol.Coerce(int), vol.Range(min=1, max=MAX_EVENT_SPAN)),
        vol.Optional("event_span_ms"): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional("alarm_code"): vol.In(["T3", "T4"]),
        vol.Optional("anomaly_score"): vol.All(vol.Coerce(int), vol.Range(min=0)),
        vol.Optional("anomaly_threshold"): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional("queued_ms"): _COUNT,
        vol.Optional("features"): vol.All(str, vol.Length(max=65536)),
        vol.Optional("feature_shape"): vol.All(str, vol.Match(r"^[0-9]{1,4}x[0-9]{1,4}$")),
        vol.Optional("shaft_rpm"): vol.All(vol.Coerce(float), vol.Range(min=MIN_SHAFT_RPM, max=MAX_SHAFT_RPM)),
        vol.Optional("bearing"): _bearing,
        vol.Optional("capture"): vol.All(str, vol.Length(max=MAX_CAPTURE_CHARS), vol.Match(r"^[A-Za-z0-9+/]*={0,2}$")),
        vol.Optional("capture_rate"): vol.All(vol.Coerce(int), vol.Range(min=1000, max=100_000)),
        vol.Optional("capture_encoding"): vol.In(CAPTURE_ENCODINGS),
        vol.Optional("baseline_rpm"): _speed_range,
        vol.Optional("alarm_active"): _boolean,
    },
    extra=vol.REMOVE_EXTRA,
)


@dataclass(frozen=True, slots=True)
class NodeMessage:
    """A validated detection or escalation."""

    v: int
    kind: Literal["detection", "escalation"]
    node_id: str
    task: str
    boot: str
    seq: int
    uptime_ms: int
    label: str  # the protocol's `class`
    class_idx: int
    scores: tuple[int, ...]
    margin: int
    confidence: float
    model: str
    model_hash: str
    level_db: float
    reason: str | None = None
    event_windows: int | None = None  # an alarm event: windows with the class among the rule's span
    event_span_ms: int | None = None
    alarm_code: str | None = None  # the event was recognised by its temporal code (T3 smoke, T4 CO)
    anomaly_score: int | None = None  # the per-machine baseline's score of the window, and its threshold
    anomaly_threshold: int | None = None
    queued_ms: int | None = None  # held in the node's outbox this long before it was sent (delivered late)
    features: str | None = None
    feature_shape: str | None = None
    shaft_rpm: float | None = None  # fault identification in shaft orders: speed, bearing, samples and their rate
    bearing: tuple[float, ...] | None = None
    capture: str | None = None
    capture_rate: int | None = None
    capture_encoding: str | None = None  # absent: s16le
    baseline_rpm: tuple[float, float] | None = None  # the shaft speeds the node's learnt baseline saw
    alarm_active: bool | None = None  # nodes with alarm events: one of them was going on when the window ended

    def as_payload(self) -> dict[str, Any]:
        """The protocol form (native JSON types), e.g. for the diagnosis request."""
        data = asdict(self)
        data["class"] = data.pop("label")
        data["scores"] = list(self.scores)
        if self.bearing is not None:
            data["bearing"] = [int(self.bearing[0]), *self.bearing[1:]]
        if self.baseline_rpm is not None:
            data["baseline_rpm"] = list(self.baseline_rpm)
        return {k: v for k, v in data.items() if v is not None}


def parse_message(data: dict[str, Any]) -> NodeMessage:
    """Validate a payload from any transport; raises InvalidMessage naming the problem."""
    try:
        clean = cast(dict[str, Any], _SCHEMA(dict(data)))
    except vol.Invalid as err:
        raise InvalidMessage(str(err)) from err
    if clean["class_idx"] >= len(clean["scores"]):
        raise InvalidMessage("class_idx is outside scores")
    if clean["kind"] == "escalation" and "reason" not in clean:
        raise InvalidMessage("an escalation needs a reason")
    if ("features" in clean) != ("feature_shape" in clean):
        raise InvalidMessage("features and feature_shape come together")
    if ("event_windows" in clean) != ("event_span_ms" in clean):
        raise InvalidMessage("event_windows and event_span_ms come together")
    if ("anomaly_score" in clean) != ("anomaly_threshold" in clean):
        raise InvalidMessage("anomaly_score and anomaly_threshold come together")
    _check_capture(clean)
    if "baseline_rpm" in clean and "shaft_rpm" not in clean:
        raise InvalidMessage("baseline_rpm comes with shaft_rpm")
    for name in ("bearing", "baseline_rpm"):
        if name in clean:
            clean[name] = tuple(clean[name])
    clean["label"] = clean.pop("class")
    clean["scores"] = tuple(clean["scores"])
    return NodeMessage(**clean)


def _check_capture(clean: dict[str, Any]) -> None:
    """A capture comes with its rate, the shaft speed and the bearing, and holds at least 1 s of samples: whole
    int16 samples, or whole IMA ADPCM blocks (`capture_encoding`)."""
    if ("capture" in clean) != ("capture_rate" in clean):
        raise InvalidMessage("capture and capture_rate come together")
    if "capture" not in clean:
        if "capture_encoding" in clean:
            raise InvalidMessage("capture_encoding comes with a capture")
        return
    if "shaft_rpm" not in clean or "bearing" not in clean:
        raise InvalidMessage("a capture needs shaft_rpm and bearing")
    text: str = clean["capture"]
    if len(text) % 4:
        raise InvalidMessage("capture is not base64 (its length is not a multiple of 4)")
    size = len(text) // 4 * 3 - (len(text) - len(text.rstrip("=")))
    if clean.get("capture_encoding") == "ima_adpcm":
        samples = size // ADPCM_BLOCK_BYTES * ADPCM_BLOCK_SAMPLES
        if size % ADPCM_BLOCK_BYTES or samples < MIN_CAPTURE_S * clean["capture_rate"]:
            raise InvalidMessage(
                f"an ima_adpcm capture must hold whole {ADPCM_BLOCK_BYTES}-byte blocks, at least {MIN_CAPTURE_S:g} s"
                " of samples"
            )
    elif size % 2 or size // 2 < MIN_CAPTURE_S * clean["capture_rate"]:
        raise InvalidMessage(f"capture must hold int16 samples, at least {MIN_CAPTURE_S:g} s of them")
