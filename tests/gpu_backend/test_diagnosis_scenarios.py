"""The diagnosis benchmark's hand-written scenarios: well-formed, covering every class, and answered by the
knowledge base alone as the benchmark reports (a regression guard for the knowledge base's rules)."""

from __future__ import annotations

import asyncio

from benchmarks.diagnosis_eval import evaluate, load_scenarios, markdown, summarize
from gpu_backend.diagnosis import Diagnoser
from gpu_backend.knowledge import load_knowledge_base


def test_scenarios_cover_every_class_with_known_actions() -> None:
    kb = load_knowledge_base()
    scenarios = load_scenarios()
    assert sum(1 for s in scenarios if s.escalated) >= 60
    assert len({s.id for s in scenarios}) == len(scenarios)
    for s in scenarios:
        known = next(k for (_task, name), k in kb.classes.items() if name == s.diagnosed_class)
        assert s.expect_action in known.actions, s.id
    assert {s.class_ for s in scenarios if s.escalated} == {name for _task, name in kb.classes}


def test_knowledge_base_alone_meets_the_target() -> None:
    scenarios = load_scenarios()
    results = asyncio.run(evaluate(Diagnoser(load_knowledge_base()), scenarios))
    summary = summarize("knowledge-base-only", "binmoe-knowledge-base", 0.0, results)
    assert summary["schema_valid"] == 1.0
    assert summary["severity_and_action_correct"] >= 0.95, summary["failures"]
    assert summary["summary_names_class_and_area"] == 1.0
    assert summary["llm_status"] == {"off": len(scenarios)}
    assert "| `schema_valid` | 1.0 |" in markdown({"knowledge-base-only": summary})


def test_a_wrong_expectation_is_counted_as_wrong() -> None:
    """The scorer can fail: a scenario expecting a smoke alarm to be a mere info is scored incorrect."""
    (smoke,) = [s for s in load_scenarios() if s.id == "smoke-hallway-plain"]
    wrong = smoke.model_copy(update={"expect_severity": "info"})
    (result,) = asyncio.run(evaluate(Diagnoser(load_knowledge_base()), [wrong]))
    assert result["schema_valid"] and not result["severity_and_action_correct"]
