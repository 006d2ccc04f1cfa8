"""Protocol v1 (docs/protocol.md) as pydantic models: the GPU tier's reference schema."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from node_factory.reference import ima_adpcm

PROTOCOL_VERSION = 1
MAX_EVENT_SPAN = 32  # windows an alarm event's rule may span (event_windows counts among them)
# fault identification in shaft orders (section 1): the speeds the analysis takes, and a capture's limits
MIN_SHAFT_RPM, MAX_SHAFT_RPM = 60.0, 60000.0
MIN_CAPTURE_S, MAX_CAPTURE_SAMPLES = 1.0, 32768
MAX_CAPTURE_CHARS = (2 * MAX_CAPTURE_SAMPLES + 2) // 3 * 4  # 65,536 bytes: also 256 IMA ADPCM blocks
BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"

Hex8 = Annotated[str, Field(pattern=r"^[0-9a-f]{8}$")]


class NodeMessage(BaseModel):
    """A node's detection or escalation (section 1). Accepts ESPHome's all-string form too."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    v: Literal[1]
    kind: Literal["detection", "escalation"]
    node_id: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    task: Literal["sound", "vibration"]
    boot: Hex8
    seq: int = Field(ge=0)
    uptime_ms: int = Field(ge=0)
    class_: str = Field(alias="class", min_length=1, max_length=64)
    class_idx: int = Field(ge=0)
    scores: list[int] = Field(min_length=2, max_length=64)
    margin: int = Field(ge=0)
    confidence: float = Field(ge=0.0, le=1.0)
    model: str = Field(min_length=1, max_length=64)
    model_hash: Hex8
    level_db: float
    reason: Literal["low_margin", "escalate_class", "forced", "anomaly"] | None = None
    event_windows: int | None = Field(default=None, ge=1, le=MAX_EVENT_SPAN)
    event_span_ms: int | None = Field(default=None, ge=1)
    # an alarm event recognised by its temporal code (T3 smoke, T4 CO) rather than by the model's windows
    alarm_code: Literal["T3", "T4"] | None = None
    # the per-machine baseline's score of the window and its threshold (nodes with a baseline in force)
    anomaly_score: int | None = Field(default=None, ge=0)
    anomaly_threshold: int | None = Field(default=None, ge=1)
    # how long the node held the message in its outbox before sending it (made while no hub could hear it)
    queued_ms: int | None = Field(default=None, ge=0)
    features: str | None = Field(default=None, max_length=65536)
    feature_shape: str | None = Field(default=None, pattern=r"^[0-9]{1,4}x[0-9]{1,4}$")
    # fault identification in shaft orders: the shaft speed, the bearing [balls, ball mm, pitch mm, contact
    # angle], and int16 little-endian samples of the stream up to the window's end (base64) at capture_rate Hz
    shaft_rpm: float | None = Field(default=None, ge=MIN_SHAFT_RPM, le=MAX_SHAFT_RPM)
    bearing: tuple[int, float, float, float] | None = None
    capture: str | None = Field(default=None, max_length=MAX_CAPTURE_CHARS, pattern=BASE64)
    capture_rate: int | None = Field(default=None, ge=1000, le=100_000)
    # how the capture's bytes hold its samples; absent: s16le (node_factory.reference.ima_adpcm for the other)
    capture_encoding: Literal["s16le", "ima_adpcm"] | None = None
    # the shaft speeds [low, high] in rpm the node's learnt baseline saw (with shaft_rpm): an anomaly at a speed
    # outside them may be the new speed, not a fault
    baseline_rpm: tuple[float, float] | None = None
    # nodes with alarm-event rules: whether one of their alarms (smoke, CO) was going on when the window ended
    alarm_active: bool | None = None

    @property
    def reports_alarm_event(self) -> bool:
        """A report of an alarm event (its pattern held over seconds, or its temporal code), not one window."""
        return self.event_windows is not None or self.alarm_code is not None

    @field_validator("scores", "bearing", "baseline_rpm", mode="before")
    @classmethod
    def _list_from_string(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except RecursionError as err:  # "[[[[…": a reason, not a crash
            raise ValueError("nested too deeply") from err

    @field_validator("alarm_active", mode="before")
    @classmethod
    def _strict_bool(cls, value: Any) -> Any:
        """JSON's true / false, or ESPHome's strings of them; nothing else pydantic would take for a bool."""
        value = {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value
        if value is not None and not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value

    @field_validator("bearing")
    @classmethod
    def _bearing_geometry(cls, value: tuple[int, float, float, float] | None) -> tuple[int, float, float, float] | None:
        if value is not None:
            balls, ball_mm, pitch_mm, contact_deg = value
            if balls < 3 or not 0 < ball_mm < pitch_mm or not 0 <= contact_deg < 90:
                raise ValueError("not a bearing geometry: [balls >= 3, 0 < ball < pitch diameter, 0 <= angle < 90]")
        return value

    @field_validator("baseline_rpm")
    @classmethod
    def _speed_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None:
            low, high = value
            if not MIN_SHAFT_RPM <= low <= high <= MAX_SHAFT_RPM:
                raise ValueError(f"not a speed range: [low, high] with {MIN_SHAFT_RPM:g} <= low <= high <= "
                                 f"{MAX_SHAFT_RPM:g} rpm")  # fmt: skip
        return value

    @field_validator("v", mode="before")
    @classmethod
    def _version_from_string(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.isdigit() else value

    @model_validator(mode="after")
    def _consistent(self) -> NodeMessage:
        if self.class_idx >= len(self.scores):
            raise ValueError("class_idx is outside scores")
        if self.kind == "escalation" and self.reason is None:
            raise ValueError("an escalation needs a reason")
        if (self.features is None) != (self.feature_shape is None):
            raise ValueError("features and feature_shape come together")
        if (self.event_windows is None) != (self.event_span_ms is None):
            raise ValueError("event_windows and event_span_ms come together")
        if (self.anomaly_score is None) != (self.anomaly_threshold is None):
            raise ValueError("anomaly_score and anomaly_threshold come together")
        if (self.capture is None) != (self.capture_rate is None):
            raise ValueError("capture and capture_rate come together")
        if self.baseline_rpm is not None and self.shaft_rpm is None:
            raise ValueError("baseline_rpm comes with shaft_rpm")
        if self.capture is None and self.capture_encoding is not None:
            raise ValueError("capture_encoding comes with a capture")
        if self.capture is not None:
            if self.shaft_rpm is None or self.bearing is None:
                raise ValueError("a capture needs shaft_rpm and bearing")
            if len(self.capture) % 4:
                raise ValueError("capture is not base64 (its length is not a multiple of 4)")
            size, least = capture_bytes(self.capture), MIN_CAPTURE_S * (self.capture_rate or 1)
            if self.capture_encoding == "ima_adpcm":
                if size % ima_adpcm.BLOCK_BYTES or ima_adpcm.samples_in(size) < least:
                    raise ValueError(
                        f"an ima_adpcm capture must hold whole {ima_adpcm.BLOCK_BYTES}-byte blocks, at least"
                        f" {MIN_CAPTURE_S:g} s of samples"
                    )
            elif size % 2 or size // 2 < least:
                raise ValueError(f"capture must hold int16 samples, at least {MIN_CAPTURE_S:g} s of them")
        return self


def capture_bytes(text: str) -> int:
    """Bytes a base64 text decodes to (its length is a multiple of 4)."""
    return len(text) // 4 * 3 - (len(text) - len(text.rstrip("=")))


class DiagnoseHistory(BaseModel):
    """What the hub knows about this node and this class lately; every field is optional evidence."""

    model_config = ConfigDict(extra="ignore")

    repeats_last_hour: int | None = Field(default=None, ge=0)
    repeats_last_day: int | None = Field(default=None, ge=0)
    seconds_since_last: float | None = Field(default=None, ge=0)
    median_interval_s: float | None = Field(default=None, ge=0)
    sustained_s: float | None = Field(default=None, ge=0)
    baseline_level_db: float | None = None
    level_trend_db: float | None = None  # this level minus the median of the class's earlier ones (last hour)


class DiagnoseContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    node_name: str | None = Field(default=None, max_length=128)
    area: str | None = Field(default=None, max_length=128)
    recent: list[NodeMessage] = Field(default_factory=list, max_length=20)
    history: DiagnoseHistory | None = None
    local_hour: int | None = Field(default=None, ge=0, le=23)


class DiagnoseRequest(BaseModel):
    """POST /v1/binmoe/diagnose body (section 2)."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    escalation: NodeMessage | None = None
    question: str | None = Field(default=None, min_length=1, max_length=2000)
    context: DiagnoseContext | None = None

    @model_validator(mode="after")
    def _something_to_diagnose(self) -> DiagnoseRequest:
        if self.escalation is None and self.question is None:
            raise ValueError("give an escalation, a question, or both")
        return self


class TeacherOpinion(BaseModel):
    class_: str = Field(alias="class")
    confidence: float
    agrees_with_node: bool

    model_config = ConfigDict(populate_by_name=True)


Severity = Literal["info", "warning", "critical"]
ACTION_MAX_CHARS = 300  # a diagnosis's recommended_action (the knowledge base's actions are held to it at start-up)
# Who produced a field: the node's classifier, the teacher, the shaft-order analysis, the knowledge base, or the LLM.
Source = Literal["node", "teacher", "orders", "knowledge_base", "llm"]
# What became of the LLM's part: used, or why the knowledge base's own text was kept.
LLMStatus = Literal["used", "off", "unavailable", "timeout", "invalid", "downgrade"]


class FieldSources(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: Source | None = Field(alias="class")
    cause: Source
    severity: Source
    confidence: Source
    recommended_action: Source
    summary: Source
    reasoning: Source


class OrderAnalysis(BaseModel):
    """The GPU tier's fault identification in shaft orders of an escalation's capture (docs/vibration-baseline.md)."""

    model_config = ConfigDict(extra="forbid")

    fault: str  # the rules' verdict: which fault the energies point at (not whether there is one)
    shaft_rpm: float
    # strength over the local spectral floor, dB: "1x", "2x", "3x" (raw spectrum), "bpfo", "bpfi", "bsf" (2 x BSF),
    # "ftf" (envelope, harmonics 1-3 summed)
    energies_db: dict[str, float]


class DiagnoseResponse(BaseModel):
    """200 body of POST /v1/binmoe/diagnose."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    v: Literal[1] = 1
    id: str
    class_: str | None = Field(alias="class")
    cause_id: str = Field(min_length=1, max_length=160)
    cause: str = Field(min_length=1, max_length=200)
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    recommended_action: str = Field(min_length=1, max_length=ACTION_MAX_CHARS)
    summary: str = Field(min_length=1, max_length=400)
    reasoning: str = Field(min_length=1, max_length=1000)
    sources: FieldSources
    references: list[str]
    teacher: TeacherOpinion | None
    orders: OrderAnalysis | None = None
    model: str
    llm_status: LLMStatus
    latency_ms: float
