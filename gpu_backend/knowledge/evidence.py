"""Collect the evidence of a diagnosis request as named facts (see facts.py) for the knowledge base's rules."""

from __future__ import annotations

import itertools
import statistics
from typing import Any

from node_factory.reference.orders import outside_speeds

from ..protocol import DiagnoseHistory, DiagnoseRequest, NodeMessage, OrderAnalysis, TeacherOpinion

SUSTAIN_GAP_S = 10.0  # messages of one class less than this apart belong to one sustained sound
HOUR_S, DAY_S = 3600.0, 86400.0
ORDER_LABELS = {"1x": "1x", "2x": "2x", "3x": "3x", "bpfo": "BPFO", "bpfi": "BPFI", "bsf": "2xBSF", "ftf": "FTF"}


def derive_history(escalation: NodeMessage, recent: list[NodeMessage]) -> DiagnoseHistory:
    """History from the node's own earlier messages in `context.recent` (same node, boot and class; their
    `uptime_ms` gives the times), for hubs that send those instead of `context.history`."""
    now = escalation.uptime_ms / 1000
    earlier = sorted(
        (m.uptime_ms / 1000, m.level_db)
        for m in recent
        if (m.node_id, m.boot, m.class_) == (escalation.node_id, escalation.boot, escalation.class_)
        and m.uptime_ms < escalation.uptime_ms
    )
    if not earlier:
        return DiagnoseHistory()
    times = [t for t, _level in earlier]
    within_hour = [t for t in times if now - t <= HOUR_S]
    levels_hour = [level for t, level in earlier if now - t <= HOUR_S]
    series = [*within_hour, now]
    gaps = [b - a for a, b in itertools.pairwise(series)]
    run_start = now
    for t in reversed(times):
        if run_start - t > SUSTAIN_GAP_S:
            break
        run_start = t
    return DiagnoseHistory(
        repeats_last_hour=len(within_hour),
        repeats_last_day=sum(1 for t in times if now - t <= DAY_S),
        seconds_since_last=round(now - times[-1], 3),
        median_interval_s=round(statistics.median(gaps), 3) if len(series) > 1 else None,
        sustained_s=round(now - run_start, 3),
        level_trend_db=round(escalation.level_db - statistics.median(levels_hour), 2) if levels_hour else None,
    )


def merged_history(request: DiagnoseRequest) -> DiagnoseHistory | None:
    """The hub's `context.history`, completed field by field from `context.recent` where it says nothing."""
    ctx, esc = request.context, request.escalation
    given = ctx.history if ctx else None
    if esc is None or ctx is None or not ctx.recent:
        return given
    derived = derive_history(esc, ctx.recent)
    if given is None:
        return derived
    return DiagnoseHistory.model_validate(derived.model_dump() | given.model_dump(exclude_none=True))


def gather_facts(
    request: DiagnoseRequest, subject: str | None, teacher: TeacherOpinion | None, orders: OrderAnalysis | None = None
) -> dict[str, Any]:
    """Every fact the request carries (absent facts are left out), about the class being diagnosed."""
    facts: dict[str, Any] = {"escalated": request.escalation is not None}
    if (esc := request.escalation) is not None:
        facts |= {
            "node_class": esc.class_,
            "reason": esc.reason,
            "margin": esc.margin,
            "confidence": esc.confidence,
            "level_db": esc.level_db,
        }
        if esc.anomaly_score is not None and esc.anomaly_threshold:
            facts |= {
                "anomaly_score": esc.anomaly_score,
                "anomaly_ratio": round(esc.anomaly_score / esc.anomaly_threshold, 2),
                "anomaly_threshold": esc.anomaly_threshold,
            }
        if esc.baseline_rpm is not None and esc.shaft_rpm is not None:
            facts |= {
                "shaft_rpm": esc.shaft_rpm,
                "baseline_rpm_low": esc.baseline_rpm[0],
                "baseline_rpm_high": esc.baseline_rpm[1],
                "speed_outside_baseline": outside_speeds(esc.shaft_rpm, *esc.baseline_rpm),
            }
    if orders is not None:
        facts |= {"shaft_rpm": orders.shaft_rpm, "order_fault": orders.fault}
        facts |= {f"order_{name}_db": value for name, value in orders.energies_db.items()}
    if teacher is not None:
        facts |= {
            "teacher_class": teacher.class_,
            "teacher_confidence": teacher.confidence,
            "teacher_agrees": teacher.class_ == subject,
        }
    history = merged_history(request)
    if history is not None:
        facts |= {
            "repeats_last_hour": history.repeats_last_hour,
            "repeats_last_day": history.repeats_last_day,
            "seconds_since_last": history.seconds_since_last,
            "interval_s": history.median_interval_s
            if history.median_interval_s is not None
            else history.seconds_since_last,
            "sustained_s": history.sustained_s,
            "level_trend_db": history.level_trend_db,
        }
        if esc is not None and history.baseline_level_db is not None:
            facts["level_rise_db"] = round(esc.level_db - history.baseline_level_db, 2)
    if (ctx := request.context) is not None:
        facts |= {"area": ctx.area, "local_hour": ctx.local_hour}
    if request.question:
        facts["question"] = request.question
    return {name: value for name, value in facts.items() if value is not None}


def describe_facts(facts: dict[str, Any]) -> str:
    """One line of what was observed, for the reasoning and the LLM's prompt."""
    parts: list[str] = []
    if "node_class" in facts:
        parts.append(
            f"the node heard {facts['node_class']} (confidence {facts['confidence']:.2f}, margin {facts['margin']}, "
            f"level {facts['level_db']:.1f} dB, {facts['reason']})"
        )
    if "anomaly_score" in facts:
        parts.append(
            f"against this machine's learnt healthy baseline the window scores {facts['anomaly_score']} "
            f"(threshold {facts['anomaly_threshold']}, {facts['anomaly_ratio']:.1f}x)"
            + (", an anomaly" if facts.get("reason") == "anomaly" else "")
        )
    if "baseline_rpm_low" in facts:
        where = "outside" if facts["speed_outside_baseline"] else "inside"
        parts.append(
            f"the machine runs at {facts['shaft_rpm']:.0f} rpm, {where} the {facts['baseline_rpm_low']:.0f}-"
            f"{facts['baseline_rpm_high']:.0f} rpm its baseline learnt"
        )
    if "order_fault" in facts:
        energies = ", ".join(
            f"{label} {facts[f'order_{name}_db']:+.1f} dB"
            for name, label in ORDER_LABELS.items()
            if f"order_{name}_db" in facts
        )
        parts.append(
            f"in shaft orders at {facts['shaft_rpm']:.0f} rpm ({energies} over the local floor) the pattern points"
            f" at {facts['order_fault'].replace('_', ' ')}"
        )
    if "alarm_event_s" in facts:
        parts.append(f"the node reported its alarm event {facts['alarm_event_s']:.0f} s before")
    if "teacher_class" in facts:
        verdict = "agrees" if facts["teacher_agrees"] else f"says {facts['teacher_class']}"
        parts.append(f"the teacher {verdict} ({facts['teacher_confidence']:.2f})")
    if "repeats_last_hour" in facts:
        parts.append(f"{facts['repeats_last_hour']} earlier in the last hour")
    if "interval_s" in facts:
        parts.append(f"about every {facts['interval_s']:.0f} s")
    if "sustained_s" in facts:
        parts.append(f"heard continuously for {facts['sustained_s']:.0f} s")
    if "level_trend_db" in facts:
        parts.append(f"{facts['level_trend_db']:+.1f} dB against its earlier reports this hour")
    if "level_rise_db" in facts:
        parts.append(f"{facts['level_rise_db']:+.1f} dB against the node's baseline")
    if "local_hour" in facts:
        parts.append(f"at {facts['local_hour']:02d}:00 local time")
    return "; ".join(parts)
