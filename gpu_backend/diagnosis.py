"""A diagnosis: the knowledge base decides, the LLM (if any, within a time budget) may phrase it.

The grounded expert (gpu_backend/knowledge) gives class, cause, severity, confidence, action, summary and
reasoning without any LLM. With an LLM, the model may pick one of the causes whose conditions hold and write
the summary and reasoning, under a JSON schema whose `cause_id` enum comes from the knowledge base. Its
answer is used only if it is valid, in time, names the class and the area, does not repeat itself and does
not lower the severity; otherwise the knowledge base's own text is returned. Every field says who made it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .knowledge import Decision, KnowledgeBase, decide
from .knowledge.evidence import describe_facts
from .knowledge.schema import SEVERITY_RANK, Cause
from .protocol import DiagnoseRequest, DiagnoseResponse, FieldSources, LLMStatus, OrderAnalysis, TeacherOpinion

LOGGER = logging.getLogger(__name__)
KNOWLEDGE_BASE_MODEL = "binmoe-knowledge-base"  # `model` when no LLM wrote any part of the answer
SYSTEM_PROMPT = (
    "You are BinMoE, the voice of a smart home's diagnosis expert. A knowledge base has already decided the "
    "diagnosis from the sensor evidence. Do not change its facts. Choose cause_id among the allowed ids, "
    "then write a short summary for a spoken announcement that names the sound or fault and the place, and "
    "one sentence of reasoning about the evidence."
)
SUMMARY_MAX, REASONING_MAX = 240, 240
RESPONSE_SUMMARY_MAX, RESPONSE_REASONING_MAX = 400, 1000  # DiagnoseResponse's limits


def fit(text: str, limit: int) -> str:
    """Text within a response field's limit (long area or class names could exceed it), cut at a word."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


class LLMUnavailable(Exception):
    """The engine cannot take the request now (starting, overloaded, or it answered with an error)."""


LLMCall = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]  # chat-completion body -> completion JSON


@dataclass(frozen=True)
class LLMSettings:
    model: str
    budget_s: float = 5.0  # the knowledge base's answer is returned when the LLM needs longer
    max_tokens: int = 200
    repetition_penalty: float = 1.1


class LLMPhrasing(BaseModel):
    """What the LLM writes."""

    model_config = ConfigDict(extra="forbid")

    cause_id: str
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    reasoning: str = Field(min_length=1, max_length=REASONING_MAX)


def phrasing_schema(decision: Decision) -> dict[str, Any]:
    schema = LLMPhrasing.model_json_schema()
    schema["properties"]["cause_id"]["enum"] = [c.id for c in decision.admissible]
    return schema


def response_format(decision: Decision) -> dict[str, Any]:
    """OpenAI `response_format` that makes vLLM constrain the output (xgrammar) to the phrasing schema."""
    return {"type": "json_schema", "json_schema": {"name": "binmoe_phrasing", "schema": phrasing_schema(decision)}}


def describe_decision(decision: Decision, question: str | None) -> str:
    """The user message: the knowledge base's decision and the evidence, deterministic for a given request."""
    cause = decision.cause
    lines = [
        f"Sound or fault: {decision.label}{decision.where}.",
        f"Knowledge-base diagnosis: {cause.cause} [{cause.id}], severity {cause.severity}.",
        f"Action: {decision.known.action_text(cause)}",
    ]
    if observed := describe_facts(decision.facts):
        lines.append(f"Evidence: {observed}.")
    if len(decision.admissible) > 1:
        others = "; ".join(f"{c.id}: {c.cause}" for c in decision.admissible[1:])
        lines.append(f"Other causes the evidence allows: {others}.")
    if question:
        lines.append(f"Question: {question}")
    lines.append(f"Allowed cause_id: {', '.join(c.id for c in decision.admissible)}.")
    return "\n".join(lines)


def build_messages(decision: Decision, question: str | None) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": describe_decision(decision, question)},
    ]


def _repeats_itself(text: str, n: int = 4) -> bool:
    """True when a run of n words occurs twice: the looping that a small model falls into."""
    words = re.findall(r"[\w'-]+", text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def check_phrasing(decision: Decision, text: str, area: str | None) -> tuple[LLMPhrasing | None, LLMStatus, str]:
    """(the phrasing or None, status, why): valid JSON of the schema, a cause the evidence allows, no lower
    severity, a summary that names the class and the area and states something (not a question), no repetition."""
    try:
        phrasing = LLMPhrasing.model_validate(json.loads(text))
    except (ValueError, ValidationError) as err:
        return None, "invalid", f"not the phrasing schema: {err}"
    chosen = next((c for c in decision.admissible if c.id == phrasing.cause_id), None)
    if chosen is None:
        return None, "invalid", f"cause_id {phrasing.cause_id!r} is not one the evidence allows"
    if SEVERITY_RANK[chosen.severity] < SEVERITY_RANK[decision.cause.severity]:
        return None, "downgrade", f"{chosen.id} ({chosen.severity}) is below {decision.cause.severity}"
    if not decision.names_class(phrasing.summary):
        return None, "invalid", "the summary does not name the class"
    if area and area.lower() not in phrasing.summary.lower():
        return None, "invalid", "the summary does not name the area"
    if _repeats_itself(phrasing.summary) or _repeats_itself(phrasing.reasoning):
        return None, "invalid", "the text repeats itself"
    if phrasing.summary.rstrip().endswith("?"):  # a small model echoes the user's question back
        return None, "invalid", "the summary is a question, not a diagnosis"
    return phrasing, "used", ""


class Diagnoser:
    """Answers POST /v1/binmoe/diagnose: the knowledge base always, the LLM when it helps in time."""

    def __init__(self, knowledge: KnowledgeBase, llm: LLMCall | None = None, settings: LLMSettings | None = None):
        self.knowledge = knowledge
        self.llm = llm
        self.settings = settings or LLMSettings(model=KNOWLEDGE_BASE_MODEL, budget_s=0)

    async def diagnose(
        self,
        request: DiagnoseRequest,
        teacher: TeacherOpinion | None = None,
        started: float | None = None,
        orders: OrderAnalysis | None = None,
    ) -> DiagnoseResponse:
        started = time.perf_counter() if started is None else started
        decision = decide(self.knowledge, request, teacher, orders)
        phrasing, status = await self._phrase(decision, request)
        return self._respond(decision, teacher, phrasing, status, started, orders)

    async def _phrase(self, decision: Decision, request: DiagnoseRequest) -> tuple[LLMPhrasing | None, LLMStatus]:
        if self.llm is None or self.settings.budget_s <= 0:
            return None, "off"
        payload = {
            "model": self.settings.model,
            "messages": build_messages(decision, request.question),
            "temperature": 0,
            "max_tokens": self.settings.max_tokens,
            "repetition_penalty": self.settings.repetition_penalty,
            "response_format": response_format(decision),
        }
        try:
            completion = await asyncio.wait_for(self.llm(payload), self.settings.budget_s)
            text = completion["choices"][0]["message"]["content"]
        except TimeoutError:
            LOGGER.info("LLM phrasing took over %.1f s: the knowledge base answers alone", self.settings.budget_s)
            return None, "timeout"
        except LLMUnavailable as err:
            LOGGER.info("LLM unavailable (%s): the knowledge base answers alone", err)
            return None, "unavailable"
        except (KeyError, IndexError, TypeError) as err:
            LOGGER.info("LLM answer without content (%r): the knowledge base answers alone", err)
            return None, "invalid"
        area = request.context.area if request.context else None
        phrasing, status, why = check_phrasing(decision, text or "", area)
        if phrasing is None:
            LOGGER.info("LLM phrasing rejected (%s: %s): the knowledge base answers alone", status, why)
        return phrasing, status

    def _respond(
        self,
        decision: Decision,
        teacher: TeacherOpinion | None,
        phrasing: LLMPhrasing | None,
        status: LLMStatus,
        started: float,
        orders: OrderAnalysis | None = None,
    ) -> DiagnoseResponse:
        cause: Cause = decision.cause
        if phrasing is not None:
            cause = next(c for c in decision.admissible if c.id == phrasing.cause_id)
        kb, llm = "knowledge_base", "llm"
        sources = FieldSources.model_validate(
            {
                "class": decision.class_source,
                "cause": llm if cause is not decision.cause else kb,
                "severity": kb,
                "confidence": kb,
                "recommended_action": kb,
                "summary": llm if phrasing else kb,
                "reasoning": llm if phrasing else kb,
            }
        )
        return DiagnoseResponse.model_validate(
            {
                "id": uuid.uuid4().hex,
                "class": decision.class_name,
                "cause_id": f"{decision.known.name}.{cause.id}",
                "cause": cause.cause,
                "severity": cause.severity,
                "confidence": decision.confidence(cause),
                "recommended_action": decision.known.action_text(cause),
                "summary": phrasing.summary if phrasing else fit(decision.summary(cause), RESPONSE_SUMMARY_MAX),
                "reasoning": phrasing.reasoning if phrasing else fit(decision.reasoning(cause), RESPONSE_REASONING_MAX),
                "sources": sources,
                "references": decision.known.references(cause),
                "teacher": teacher,
                "orders": orders,
                "model": self.settings.model if phrasing else KNOWLEDGE_BASE_MODEL,
                "llm_status": status,
                "latency_ms": (time.perf_counter() - started) * 1000,
            }
        )
