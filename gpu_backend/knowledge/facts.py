"""The named facts a knowledge-base condition may test, and how each is compared.

Adding evidence is one line here plus the code in `evidence.py` that fills it; knowledge-base files can
then use it.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class FactKind(Enum):
    NUMBER = "number"  # compared with `min` / `max` (inclusive), or `any_of` exact values
    FLAG = "flag"  # compared with `is`
    WORDS = "words"  # free text: `any_of` holds when one of its phrases occurs (case-insensitive)
    NAME = "name"  # an identifier: `any_of` holds when it is one of the names


FACTS: Final[dict[str, tuple[FactKind, str]]] = {
    # the node's message
    "escalated": (FactKind.FLAG, "the request carries a node's escalation (not only a question)"),
    "node_class": (FactKind.NAME, "the class the node reported"),
    "reason": (FactKind.NAME, "why the node escalated: low_margin, escalate_class, forced, anomaly"),
    "margin": (FactKind.NUMBER, "top-1 minus top-2 integer logit on the node"),
    "confidence": (FactKind.NUMBER, "the node's softmax confidence, 0..1"),
    "level_db": (FactKind.NUMBER, "RMS level: dBFS (sound) or dB re 1 g (vibration)"),
    "anomaly_score": (FactKind.NUMBER, "the window's score against the machine's learnt healthy baseline"),
    "anomaly_threshold": (FactKind.NUMBER, "the threshold the node learnt with its baseline"),
    "anomaly_ratio": (FactKind.NUMBER, "anomaly_score over the baseline's learnt threshold (> 1: above it)"),
    # the speeds the node's learnt baseline saw, and whether the shaft speed now is outside them
    "baseline_rpm_low": (FactKind.NUMBER, "the lowest shaft speed the node's baseline saw while learning, rpm"),
    "baseline_rpm_high": (FactKind.NUMBER, "the highest shaft speed the node's baseline saw while learning, rpm"),
    "speed_outside_baseline": (FactKind.FLAG, "the shaft speed is more than 2 % outside the baseline's speeds"),
    # the GPU tier's fault identification in shaft orders, when the escalation carried a capture
    # (gpu_backend/orders.py; strengths over the local spectral floor, dB)
    "shaft_rpm": (FactKind.NUMBER, "the shaft speed the node reported with its capture, rpm"),
    "order_fault": (FactKind.NAME, "the fault the shaft-order energies point at (the class names of vibration.toml)"),
    "order_1x_db": (FactKind.NUMBER, "energy at 1x the shaft speed, raw spectrum"),
    "order_2x_db": (FactKind.NUMBER, "energy at 2x the shaft speed, raw spectrum"),
    "order_3x_db": (FactKind.NUMBER, "energy at 3x the shaft speed, raw spectrum"),
    "order_bpfo_db": (FactKind.NUMBER, "envelope energy at the outer-race frequency BPFO, harmonics 1-3 summed"),
    "order_bpfi_db": (FactKind.NUMBER, "envelope energy at the inner-race frequency BPFI, harmonics 1-3 summed"),
    "order_bsf_db": (FactKind.NUMBER, "envelope energy at 2x the ball-spin frequency BSF, harmonics 1-3 summed"),
    "order_ftf_db": (FactKind.NUMBER, "envelope energy at the cage frequency FTF, harmonics 1-3 summed"),
    # the teacher's verdict on the features, when the escalation carried them
    "teacher_class": (FactKind.NAME, "the teacher's class"),
    "teacher_confidence": (FactKind.NUMBER, "the teacher's softmax confidence, 0..1"),
    "teacher_agrees": (FactKind.FLAG, "the teacher's class equals the node's"),
    "class_from_teacher": (FactKind.FLAG, "the class diagnosed is the teacher's, not the one the node reported"),
    # the node's recent history (context.history, or derived from context.recent)
    "repeats_last_hour": (FactKind.NUMBER, "earlier messages of this class from this node in the last hour"),
    "repeats_last_day": (FactKind.NUMBER, "earlier messages of this class from this node in the last 24 h"),
    "seconds_since_last": (FactKind.NUMBER, "seconds since the previous message of this class from this node"),
    "interval_s": (FactKind.NUMBER, "typical gap between repeats: median_interval_s, else seconds_since_last"),
    "sustained_s": (FactKind.NUMBER, "how long the class has been heard without a gap over 10 s"),
    "level_trend_db": (FactKind.NUMBER, "level_db minus the median level of this class's reports in the last hour"),
    "level_rise_db": (FactKind.NUMBER, "level_db minus the node's baseline_level_db"),
    # the node's own smoke/CO alarm event (a report with the event fields in context.recent, same node and boot)
    "alarm_event_s": (FactKind.NUMBER, "seconds since the node reported a smoke or CO alarm event before this"),
    # where and when
    "area": (FactKind.WORDS, "the node's area"),
    "local_hour": (FactKind.NUMBER, "the home's local hour, 0..23"),
    # the user's question, if any
    "question": (FactKind.WORDS, "the free-text question"),
}


def fact_kind(name: str) -> FactKind:
    return FACTS[name][0]
