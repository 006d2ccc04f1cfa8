"""Diagnosis benchmark: hand-written escalations (diagnosis_scenarios.toml) -> the diagnosis expert.

    python -m benchmarks.diagnosis_eval                      # knowledge base alone (no LLM)
    python -m benchmarks.diagnosis_eval --url http://127.0.0.1:8000 [--api-key KEY]
                                                             # + the LLM a running gateway serves (its profile)

Each scenario becomes a diagnose request (and a teacher opinion, as the gateway would pass it) for the same
`Diagnoser` the gateway runs; with --url its LLM calls go to that gateway's /v1/chat/completions, so the
profile's model phrases under the same budget as in production. A scenario scores when severity and
action equal the expected ones; the summary must name the class (its label or a keyword) and the area; every
response is checked against the response's JSON schema with `jsonschema`, independently of pydantic.
Writes docs/benchmarks/diagnosis.json (one entry per profile) and the `diagnosis` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import httpx
import jsonschema
from pydantic import BaseModel, ConfigDict, Field

import benchmarks_md
from gpu_backend.diagnosis import Diagnoser, LLMCall, LLMSettings, LLMUnavailable
from gpu_backend.knowledge import KnowledgeBase, load_knowledge_base
from gpu_backend.protocol import DiagnoseHistory, DiagnoseRequest, DiagnoseResponse, Severity, TeacherOpinion

SCENARIOS = Path(__file__).with_name("diagnosis_scenarios.toml")
KB_ONLY = "knowledge-base-only"
COMMAND = "python -m benchmarks.diagnosis_eval [--url <gateway> [--llm-budget SECONDS]]"


class TeacherVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: str = Field(alias="class")
    confidence: float = Field(ge=0, le=1)


class RecentMessages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=20)
    every_s: float = Field(gt=0)


class AlarmReport(BaseModel):
    """The node's own smoke/CO alarm event, reported `seconds_before` the escalation (in context.recent)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: Literal["smoke_alarm", "co_alarm"] = Field(alias="class")
    seconds_before: float = Field(ge=0)
    alarm_code: Literal["T3", "T4"] | None = None


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    class_: str | None = Field(default=None, alias="class")
    question: str | None = None
    area: str | None = None
    level_db: float | None = None
    margin: int = 1
    confidence: float = 0.55
    reason: Literal["low_margin", "escalate_class", "forced"] = "low_margin"
    local_hour: int | None = None
    teacher: TeacherVerdict | None = None
    history: DiagnoseHistory | None = None
    recent: RecentMessages | None = None
    alarm_report: AlarmReport | None = None
    alarm_active: bool | None = None
    expect_class: str | None = None
    expect_severity: Severity
    expect_action: str

    @property
    def escalated(self) -> bool:
        return self.class_ is not None

    @property
    def diagnosed_class(self) -> str:
        name = self.expect_class or self.class_
        assert name is not None, f"{self.id}: a question needs expect_class"
        return name


def load_scenarios(path: Path = SCENARIOS) -> list[Scenario]:
    return [Scenario.model_validate(s) for s in tomllib.loads(path.read_text(encoding="utf-8"))["scenario"]]


def _task_of(kb: KnowledgeBase, name: str) -> str:
    tasks = [task for task, cls in kb.classes if cls == name]
    if len(tasks) != 1:
        raise ValueError(f"class {name!r} is in {len(tasks)} knowledge-base tasks")
    return tasks[0]


def _message(scenario: Scenario, task: str, uptime_ms: int, seq: int) -> dict[str, Any]:
    """A node message of the scenario's class (scores: the class's logit `margin` above the others)."""
    n = 8 if task == "sound" else 7
    scores = [0] * n
    scores[1] = scenario.margin
    default_level = -25.0 if task == "sound" else -10.0
    return {
        "v": 1,
        "kind": "escalation",
        "node_id": f"bench-{task}",
        "task": task,
        "boot": "0badc0de",
        "seq": seq,
        "uptime_ms": uptime_ms,
        "class": scenario.class_,
        "class_idx": 1,
        "scores": scores,
        "margin": scenario.margin,
        "confidence": scenario.confidence,
        "model": f"{task}-v1",
        "model_hash": "00c0ffee",
        "level_db": scenario.level_db if scenario.level_db is not None else default_level,
        "reason": scenario.reason,
    }


def _alarm_report(report: AlarmReport, task: str, now_ms: int) -> dict[str, Any]:
    """The node's detection of its alarm event (`docs/protocol.md` §1: event fields, the code's class)."""
    idx = 1 if report.class_ == "smoke_alarm" else 2
    scores = [0] * 8
    scores[idx] = 9
    message: dict[str, Any] = {
        "v": 1, "kind": "detection", "node_id": f"bench-{task}", "task": task, "boot": "0badc0de", "seq": 90,
        "uptime_ms": now_ms - int(report.seconds_before * 1000), "class": report.class_, "class_idx": idx,
        "scores": scores, "margin": 9, "confidence": 1.0 if report.alarm_code else 0.93, "model": f"{task}-v1",
        "model_hash": "00c0ffee", "level_db": -20.0, "event_windows": 1 if report.alarm_code else 3,
        "alarm_active": True,
        "event_span_ms": 9728 if report.alarm_code else 4096 if report.class_ == "smoke_alarm" else 6144,
    }  # fmt: skip
    if report.alarm_code:
        message["alarm_code"] = report.alarm_code
    return message


def build_request(kb: KnowledgeBase, scenario: Scenario) -> tuple[DiagnoseRequest, TeacherOpinion | None]:
    body: dict[str, Any] = {"v": 1}
    context: dict[str, Any] = {}
    if scenario.area:
        context["area"] = scenario.area
    if scenario.local_hour is not None:
        context["local_hour"] = scenario.local_hour
    if scenario.history is not None:
        context["history"] = scenario.history.model_dump(exclude_none=True)
    teacher = None
    if scenario.class_ is not None:
        task = _task_of(kb, scenario.class_)
        now_ms = 7_200_000  # two hours after boot: room for an hour of earlier messages
        body["escalation"] = _message(scenario, task, now_ms, seq=100)
        if scenario.alarm_active is not None:
            body["escalation"]["alarm_active"] = scenario.alarm_active
        if scenario.recent is not None:
            step_ms = int(scenario.recent.every_s * 1000)
            context["recent"] = [
                _message(scenario, task, now_ms - k * step_ms, seq=100 - k) for k in range(scenario.recent.count, 0, -1)
            ]
        if scenario.alarm_report is not None:
            context.setdefault("recent", []).append(_alarm_report(scenario.alarm_report, task, now_ms))
        if scenario.teacher is not None:
            teacher = TeacherOpinion.model_validate(
                {
                    "class": scenario.teacher.class_,
                    "confidence": scenario.teacher.confidence,
                    "agrees_with_node": scenario.teacher.class_ == scenario.class_,
                }
            )
    if scenario.question:
        body["question"] = scenario.question
    if context:
        body["context"] = context
    return DiagnoseRequest.model_validate(body), teacher


def names_class(kb: KnowledgeBase, class_name: str, text: str) -> bool:
    known = kb.lookup(_task_of(kb, class_name), class_name)
    assert known is not None
    lowered = text.lower()
    return any(word.lower() in lowered for word in (known.entry.label, *known.entry.keywords))


def score(kb: KnowledgeBase, scenario: Scenario, body: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """One scenario's result: what was expected, what came, and each check."""
    try:
        jsonschema.validate(body, schema)
        schema_valid = True
    except jsonschema.ValidationError:
        schema_valid = False
    task = _task_of(kb, scenario.diagnosed_class)
    expected_known = kb.lookup(task, scenario.diagnosed_class)
    assert expected_known is not None
    expected_action = expected_known.actions[scenario.expect_action]
    severity_ok = body.get("severity") == scenario.expect_severity
    action_ok = body.get("recommended_action") == expected_action
    summary = str(body.get("summary", ""))
    summary_names_class = names_class(kb, scenario.diagnosed_class, summary)
    summary_names_area = scenario.area is None or scenario.area.lower() in summary.lower()
    return {
        "id": scenario.id,
        "escalation": scenario.escalated,
        "expected": {"class": scenario.diagnosed_class, "severity": scenario.expect_severity,
                     "action": scenario.expect_action},
        "got": {k: body.get(k) for k in ("class", "cause_id", "severity", "recommended_action", "summary",
                                         "llm_status")},
        "severity_and_action_correct": severity_ok and action_ok,
        "summary_names_class_and_area": summary_names_class and summary_names_area,
        "schema_valid": schema_valid,
        "latency_ms": body.get("latency_ms"),
    }  # fmt: skip


def gateway_llm(url: str, api_key: str | None) -> LLMCall:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def call(payload: dict[str, Any]) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
                response = await client.post("/v1/chat/completions", json=payload)
        except httpx.HTTPError as err:
            raise LLMUnavailable(repr(err)) from err
        if response.status_code != 200:
            raise LLMUnavailable(f"HTTP {response.status_code}")
        result: dict[str, Any] = response.json()
        return result

    return call


def _ratio(results: list[dict[str, Any]], key: str) -> float:
    return round(sum(1 for r in results if r[key]) / len(results), 4) if results else 0.0


async def evaluate(diagnoser: Diagnoser, scenarios: list[Scenario]) -> list[dict[str, Any]]:
    schema = DiagnoseResponse.model_json_schema(by_alias=True)
    results = []
    for scenario in scenarios:  # one at a time: latencies are per request, as a hub would see them
        request, teacher = build_request(diagnoser.knowledge, scenario)
        response = await diagnoser.diagnose(request, teacher, time.perf_counter())
        results.append(score(diagnoser.knowledge, scenario, response.model_dump(by_alias=True), schema))
    return results


def summarize(profile: str, model: str, budget_s: float, results: list[dict[str, Any]]) -> dict[str, Any]:
    escalations = [r for r in results if r["escalation"]]
    latencies = [float(r["latency_ms"]) for r in results]
    return {
        "profile": profile,
        "model": model,
        "llm_budget_s": budget_s,
        "scenarios": len(results),
        "escalations": len(escalations),
        "questions": len(results) - len(escalations),
        "severity_and_action_correct": _ratio(results, "severity_and_action_correct"),
        "severity_and_action_correct_escalations": _ratio(escalations, "severity_and_action_correct"),
        "summary_names_class_and_area": _ratio(results, "summary_names_class_and_area"),
        "schema_valid": _ratio(results, "schema_valid"),
        "llm_status": dict(Counter(str(r["got"]["llm_status"]) for r in results)),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_max": round(max(latencies), 1),
        "failures": [r["id"] for r in results if not (r["severity_and_action_correct"] and r["schema_valid"])],
        "results": results,
    }


METRICS = (
    "model",
    "llm_budget_s",
    "scenarios",
    "escalations",
    "questions",
    "severity_and_action_correct",
    "severity_and_action_correct_escalations",
    "summary_names_class_and_area",
    "schema_valid",
    "llm_status",
    "latency_ms_p50",
    "latency_ms_max",
    "failures",
)


def markdown(profiles: dict[str, dict[str, Any]]) -> str:
    names = sorted(profiles)
    counts = {n: len(profiles[n]["results"]) for n in names}
    older = [n for n in names if counts[n] < max(counts.values())]
    lines = [
        f"{max(counts.values())} hand-written scenarios "
        "(`benchmarks/diagnosis_scenarios.toml`: escalations with class, level, history, area, teacher verdict, "
        "and a few questions) with the expected severity and action. Profile `knowledge-base-only`: no LLM; "
        "another profile: the model of a gateway started with that profile phrases within the LLM budget "
        "(`--llm-budget`). The scenarios were written alongside the knowledge base: they show that its rules do "
        "what `docs/diagnosis.md` says, not how well they fit every home. `llm_budget_s` is the budget the run "
        "gave the model (`--llm-budget`); a gateway's own is its profile's (`cpu-default`: 0, its model is not asked "
        "in production, so it answers as `knowledge-base-only`). Per-scenario results: "
        "`docs/benchmarks/diagnosis.json`."
        + "".join(
            f" The `{n}` column is an earlier run, on the {counts[n]} scenarios of its day (row `scenarios`)."
            for n in older
        ),
        "",
        "| metric | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in METRICS:
        cells = []
        for name in names:
            value = profiles[name].get(key)
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
            elif isinstance(value, list):
                value = ", ".join(value) or "none"
            cells.append(str(value))
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _existing_profiles() -> dict[str, dict[str, Any]]:
    path = benchmarks_md.BENCHMARKS_DIR / "diagnosis.json"
    if not path.exists():
        return {}
    profiles: dict[str, dict[str, Any]] = json.loads(path.read_text())["profiles"]
    return profiles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.diagnosis_eval", description=__doc__)
    parser.add_argument("--url", help="a running gateway whose LLM phrases the diagnoses (default: no LLM)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--llm-budget", type=float, default=5.0, help="seconds per diagnosis for the LLM (default 5)")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)
    kb = load_knowledge_base()
    scenarios = load_scenarios()
    profile, model = KB_ONLY, "binmoe-knowledge-base"
    diagnoser = Diagnoser(kb)
    if args.url:
        health = httpx.get(f"{args.url}/health", timeout=10).json()
        profile, model = str(health["profile"]), str(health["model"])
        diagnoser = Diagnoser(kb, gateway_llm(args.url, args.api_key), LLMSettings(model, args.llm_budget))
    budget = args.llm_budget if args.url else 0.0
    result = summarize(profile, model, budget, asyncio.run(evaluate(diagnoser, scenarios)))
    for key in METRICS:
        print(f"{key}: {result[key]}")
    if not args.no_write:
        profiles = _existing_profiles() | {profile: result}
        path = benchmarks_md.write_json("diagnosis", {"profiles": profiles})
        benchmarks_md.write_section("diagnosis", "Diagnosis expert", COMMAND, markdown(profiles))
        print(f"wrote {path} and docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
