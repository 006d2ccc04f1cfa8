"""Protocol v1 (docs/protocol.md) as pydantic models: the GPU tier's reference schema."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PROTOCOL_VERSION = 1
MAX_EVENT_SPAN = 32  # windows an alarm event's rule may span (event_windows counts among them)

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
    features: str | None = Field(default=None, max_length=65536)
    feature_shape: str | None = Field(default=None, pattern=r"^[0-9]{1,4}x[0-9]{1,4}$")

    @field_validator("scores", mode="before")
    @classmethod
    def _scores_from_string(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except RecursionError as err:  # "[[[[…": a reason, not a crash
            raise ValueError("nested too deeply") from err

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
        return self


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
# Who produced a field: the node's classifier, the teacher, the knowledge base, or the LLM.
Source = Literal["node", "teacher", "knowledge_base", "llm"]
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
    recommended_action: str = Field(min_length=1, max_length=300)
    summary: str = Field(min_length=1, max_length=400)
    reasoning: str = Field(min_length=1, max_length=1000)
    sources: FieldSources
    references: list[str]
    teacher: TeacherOpinion | None
    model: str
    llm_status: LLMStatus
    latency_ms: float
