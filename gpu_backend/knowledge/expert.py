"""The grounded diagnosis expert: which class, which cause, how severe, what to do — from the knowledge base
and the evidence alone, no LLM.

Which class is diagnosed: the node's, unless the teacher (the larger classifier) confidently says another
known class; a life-safety (critical) class is never given up for a non-critical one, and the teacher's
critical verdict is taken at lower confidence than a non-critical one (a missed alarm costs more than a
false one); the knowledge base then answers a possible alarm to check, a warning (`class_from_teacher`):
from one window the node heard as something else, the teacher reads smoke or CO in recorded speech and music
a few times an hour. A question without an escalation is matched to a class by the knowledge base's keywords.
For a vibration anomaly whose escalation carried a capture, the shaft-order analysis (gpu_backend/orders.py)
names the fault: it knows the machine's speed and bearing, which neither classifier does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..protocol import DiagnoseRequest, NodeMessage, OrderAnalysis, Source, TeacherOpinion
from .evidence import describe_facts, gather_facts
from .loader import KnowledgeBase, KnownClass
from .schema import Cause, ClassEntry

TEACHER_OVERRIDE_MIN = 0.7  # the teacher's class replaces the node's (both non-critical) from this confidence
TEACHER_CRITICAL_MIN = 0.5  # the teacher's critical class replaces the node's non-critical one from this
QUESTION_CERTAINTY = 0.5  # a class guessed from a question's words, with no sensor evidence
# The certainty of a fault named in shaft orders: a fixed prior, set by hand and not fitted to any data (the
# held-out accuracy of the rules is in docs/benchmarks.md); the node's own class, when it agrees, may raise it.
ORDERS_CERTAINTY = 0.6


@dataclass(frozen=True)
class Decision:
    """The knowledge base's answer and what it was based on; `render` turns a cause into text."""

    known: KnownClass
    class_name: str | None
    class_source: Source | None
    facts: dict[str, Any]
    admissible: list[Cause]  # causes whose conditions hold, in the knowledge base's rank order
    certainty: float  # how sure we are of the class itself
    where: str  # " in the Hallway", " at node hallway-sound" or ""

    @property
    def cause(self) -> Cause:
        return self.admissible[0]

    @property
    def label(self) -> str:
        return self.known.entry.label

    def confidence(self, cause: Cause) -> float:
        return round(cause.confidence * self.certainty, 2)

    def summary(self, cause: Cause) -> str:
        text = cause.summary.format(label=self.label, where=self.where)
        return text[0].upper() + text[1:]

    def reasoning(self, cause: Cause) -> str:
        observed = describe_facts(self.facts)
        return f"{cause.reasoning} Observed: {observed}." if observed else cause.reasoning

    def names_class(self, text: str) -> bool:
        """Does a text name the diagnosed class (its label or one of its keywords)?"""
        lowered = text.lower()
        return any(word.lower() in lowered for word in (self.label, *self.known.entry.keywords))


def _where(request: DiagnoseRequest) -> str:
    ctx = request.context
    if ctx and ctx.area:
        return f" in {ctx.area}" if ctx.area.lower().startswith("the ") else f" in the {ctx.area}"
    if ctx and ctx.node_name:
        return f" at {ctx.node_name}"
    if request.escalation is not None:
        return f" at node {request.escalation.node_id}"
    return ""


def _built_in(name: str, task: str, label: str, cause: Cause, action: str) -> KnownClass:
    """An entry made in code for what the knowledge base cannot know, citing the docs that explain why."""
    entry = ClassEntry(label=label, causes=[cause])
    sources = {"extend_kb": "BinMoE docs/diagnosis.md, 'Extending it': how to add a knowledge-base entry"}
    return KnownClass(task, name, entry, {cause.action: action}, sources, Path("<built-in>"))


def unknown_class(task: str, name: str) -> KnownClass:
    """An honest answer for a class the knowledge base has no entry for (e.g. a user's own model)."""
    cause = Cause(
        id="no_entry",
        cause=f"class {name} from a custom model: no knowledge-base entry",
        severity="info",
        action="look_yourself",
        confidence=0.0,
        reasoning=f"The knowledge base has no entry for the {task} class {name!r}, so no cause can be given.",
        summary="{label}{where}: the knowledge base has no entry for this class from a custom model.",
        sources=["extend_kb"],
    )
    action = "Have a look or a listen yourself; to get diagnoses for this class, add it to the knowledge base."
    return _built_in(name, task, name.replace("_", " "), cause, action)


def unmatched_question() -> KnownClass:
    cause = Cause(
        id="no_match",
        cause="no sensor evidence, and the question matches no knowledge-base class",
        severity="info",
        action="ask_with_evidence",
        confidence=0.0,
        reasoning="Without an escalation, a question is matched to a class by its words; none matched.",
        summary="I have no sensor evidence{where} and no knowledge-base entry that fits this {label}.",
        sources=["extend_kb"],
    )
    action = "Name the sound or the machine fault in the question, or ask about a node's escalation."
    return _built_in("question", "sound", "question", cause, action)


def is_anomaly(esc: NodeMessage) -> bool:
    """The node's baseline says this window is anomalous: the anomaly's escalation, or a score above threshold."""
    above = esc.anomaly_score is not None and esc.anomaly_threshold is not None
    return esc.reason == "anomaly" or (above and (esc.anomaly_score or 0) >= (esc.anomaly_threshold or 0))


# An escalation this soon after its node's own smoke/CO alarm event is the alarm (Home Assistant takes such
# escalations as part of the alarm, custom_components/binmoe/router.py ALARM_AFTER_MS, docs/integration.md): the
# node repeats the event once per detection interval (10 s by default) while the alarm sounds. A node that says
# its alarm was over when it made the window (`alarm_active: false`) is believed, as the hub believes it.
ALARM_EVENT_COVERS_S = 15.0


def alarm_event(kb: KnowledgeBase, request: DiagnoseRequest) -> tuple[KnownClass, NodeMessage, float] | None:
    """The node's latest report of a critical class as an event (`event_windows` or `alarm_code`) in
    `context.recent` at or before the escalation, same node and boot: (its class, the report, seconds since);
    None when the escalation says the node's alarm was over."""
    esc, ctx = request.escalation, request.context
    if esc is None or ctx is None or not ctx.recent or esc.alarm_active is False:
        return None
    for m in sorted(ctx.recent, key=lambda m: m.uptime_ms, reverse=True):
        if (m.node_id, m.boot) != (esc.node_id, esc.boot) or m.uptime_ms > esc.uptime_ms:
            continue
        if not m.reports_alarm_event:
            continue
        known = kb.lookup(m.task, m.class_)
        if known is not None and known.entry.critical:
            return known, m, (esc.uptime_ms - m.uptime_ms) / 1000
    return None


def _subject(
    kb: KnowledgeBase,
    request: DiagnoseRequest,
    teacher: TeacherOpinion | None,
    orders: OrderAnalysis | None = None,
    alarm: tuple[KnownClass, NodeMessage, float] | None = None,
) -> tuple[KnownClass, str | None, Source | None, float]:
    """(entry, class name, who named the class, certainty of the class); `alarm`: `alarm_event`'s answer."""
    esc = request.escalation
    if esc is None:
        matched = kb.match_question(request.question or "")
        if matched is None:
            return unmatched_question(), None, None, 0.0
        return matched, matched.name, "knowledge_base", QUESTION_CERTAINTY
    # the rules name a fault, not whether there is one: only the baseline's anomaly says that
    if orders is not None and is_anomaly(esc) and (found := kb.lookup(esc.task, orders.fault)) is not None:
        certainty = max(ORDERS_CERTAINTY, esc.confidence) if esc.class_ == orders.fault else ORDERS_CERTAINTY
        return found, found.name, "orders", certainty
    node = kb.lookup(esc.task, esc.class_)
    node_critical = node is not None and node.entry.critical
    if alarm is not None and alarm[2] <= ALARM_EVENT_COVERS_S and not node_critical:
        known, report, _seconds = alarm  # the node itself named the alarm, by its pattern or its windows
        return known, known.name, "node", 1.0 if report.alarm_code is not None else report.confidence
    if teacher is not None and teacher.class_ != esc.class_ and not node_critical:
        other = kb.lookup(esc.task, teacher.class_)
        needed = TEACHER_CRITICAL_MIN if other is not None and other.entry.critical else TEACHER_OVERRIDE_MIN
        if other is not None and teacher.confidence >= needed:
            return other, other.name, "teacher", teacher.confidence
    certainty = esc.confidence
    if teacher is not None:
        agrees = teacher.class_ == esc.class_
        certainty = max(certainty, teacher.confidence) if agrees else certainty * (1 - teacher.confidence)
    return node or unknown_class(esc.task, esc.class_), esc.class_, "node", certainty


def decide(
    kb: KnowledgeBase,
    request: DiagnoseRequest,
    teacher: TeacherOpinion | None = None,
    orders: OrderAnalysis | None = None,
) -> Decision:
    alarm = alarm_event(kb, request)
    known, name, source, certainty = _subject(kb, request, teacher, orders, alarm)
    facts = gather_facts(request, name, teacher, orders)
    if alarm is not None:
        facts["alarm_event_s"] = round(alarm[2], 3)
    facts["class_from_teacher"] = source == "teacher"
    admissible = []
    for cause in known.entry.causes:
        if all(cond.holds(facts.get(cond.fact)) for cond in cause.when):
            admissible.append(cause)
            if cause.final:
                break
    return Decision(known, name, source, facts, admissible, round(certainty, 4), _where(request))
