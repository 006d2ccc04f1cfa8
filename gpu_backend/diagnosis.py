"""Turn a diagnosis request into an LLM prompt and the LLM's constrained JSON back into a response."""

from __future__ import annotations

import json
from typing import Any

from .protocol import DiagnoseRequest, LLMDiagnosis

SYSTEM_PROMPT = (
    "You are BinMoE, the diagnosis expert of a smart home and workshop. Sensor nodes escalate sounds and "
    "machine vibrations they could not classify confidently. Answer with the most likely cause, a "
    "severity (critical for fire, CO, flooding or imminent machine failure), your confidence, one "
    "recommended action and a one-sentence summary suitable for a spoken announcement."
)

# Field order matters: grammar-constrained decoders emit properties in schema order.
DIAGNOSIS_SCHEMA: dict[str, Any] = LLMDiagnosis.model_json_schema()


def describe_escalation(request: DiagnoseRequest, teacher_line: str | None = None) -> str:
    """The user message: a compact, deterministic rendering of what the node saw."""
    lines: list[str] = []
    if (esc := request.escalation) is not None:
        ctx = request.context
        where = f" in {ctx.area}" if ctx and ctx.area else ""
        lines.append(
            f"Node {esc.node_id}{where} ({esc.task}) heard {esc.class_} with confidence {esc.confidence:.2f} "
            f"(margin {esc.margin}, reason {esc.reason}), level {esc.level_db:.1f} dB."
        )
        if esc.anomaly_score is not None and esc.anomaly_threshold is not None:
            lines.append(
                f"Against this machine's learnt healthy baseline the window scores {esc.anomaly_score} "
                f"(threshold {esc.anomaly_threshold}, {esc.anomaly_score / esc.anomaly_threshold:.1f}x)"
                + (": the node reports an anomaly." if esc.reason == "anomaly" else ".")
            )
        if teacher_line:
            lines.append(teacher_line)
    if request.question:
        lines.append(f"Question: {request.question}")
    return "\n".join(lines)


def build_messages(request: DiagnoseRequest, teacher_line: str | None = None) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": describe_escalation(request, teacher_line)},
    ]


def response_format() -> dict[str, Any]:
    """OpenAI `response_format` that makes vLLM constrain the output to the diagnosis schema."""
    return {"type": "json_schema", "json_schema": {"name": "binmoe_diagnosis", "schema": DIAGNOSIS_SCHEMA}}


def parse_llm_output(text: str) -> LLMDiagnosis:
    """Validate what the LLM wrote; raises ValueError with the reason."""
    return LLMDiagnosis.model_validate(json.loads(text))
