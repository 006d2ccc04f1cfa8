"""benchmarks/node_traffic.py: the messages it builds are what the protocol takes, and its totals add up."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import node_traffic
from gpu_backend.protocol import NodeMessage
from node_factory.reference import model_format


def t3_alarm(seconds: float = 14.0, rate: int = 16000) -> np.ndarray:
    """A 3.1 kHz smoke alarm sounding the T3 code (0.5 s on / 0.5 s off three times, 1.5 s off) over faint noise."""
    t = np.arange(int(seconds * rate)) / rate
    phase = t % 4.0
    on = (phase < 0.5) | ((phase >= 1.0) & (phase < 1.5)) | ((phase >= 2.0) & (phase < 2.5))
    noise = np.random.default_rng(0).normal(0, 100, len(t))
    return np.clip(8000 * np.sin(2 * np.pi * 3100 * t) * on + noise, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def model() -> object:
    return model_format.load(node_traffic.MODEL)[0]


def test_the_node_messages_are_valid_protocol_payloads(model: object) -> None:
    messages, dropped = node_traffic.node_messages(model, "Hall Way 1.16", t3_alarm())  # type: ignore[arg-type]
    assert dropped >= 0 and messages
    parsed = [NodeMessage.model_validate(m) for m in messages]  # the GPU tier's schema
    assert [m.seq for m in parsed] == list(range(len(parsed)))
    assert all(m.node_id == "hall-way-1-16" for m in parsed)  # a package name made a node id
    assert [m.uptime_ms for m in parsed] == sorted(m.uptime_ms for m in parsed)
    alarm = [m for m in messages if m.get("alarm_code") == "T3"]
    assert alarm and alarm[0]["class"] == "smoke_alarm" and alarm[0]["alarm_active"] is True
    assert alarm[0]["event_span_ms"] % 512 == 0 and alarm[0]["confidence"] == 1.0


def test_totals_are_per_hour_over_every_stream() -> None:
    stream = {"hours": 0.5, "detections": 3, "detections_by_class": {"knock": 3}, "escalations": 4,
              "escalations_dropped_by_the_node": 1, "alarm_events": 0, "hub": {"diagnose": 2, "local": 3}}  # fmt: skip
    total = node_traffic.total({"a": stream, "b": {**stream, "hub": {"diagnose": 1}}})
    assert total["hours"] == 1.0 and total["escalations_per_hour"] == 8.0
    assert total["hub_per_hour"] == {"diagnose": 3.0, "local": 3.0}
    assert total["detections_by_class_per_hour"] == {"knock": 6.0}


class CountingTeacher:
    """A test double of the GPU tier's teacher: calls the first window a CO alarm (confidence 0.5), every other a
    knock, and keeps the windows it was given."""

    def __init__(self) -> None:
        self.windows: list[np.ndarray] = []

    def classify_windows(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.windows += list(windows)
        classes = node_traffic.FAMILY.classes
        best = np.full(len(windows), classes.index("knock"))
        best[0] = classes.index("co_alarm")
        return best, np.where(np.arange(len(windows)) == 0, 0.5, 0.9)


def test_the_teacher_reads_each_escalations_own_window(model: object) -> None:
    rng = np.random.default_rng(4)
    audio = (rng.normal(0, 2000, 16000 * 20) * np.repeat(rng.uniform(0, 3, 40), 8000)).astype(np.int16)
    messages, _ = node_traffic.node_messages(model, "room", audio)  # type: ignore[arg-type]
    escalations = [m for m in messages if m["kind"] == "escalation"]
    assert escalations and len(escalations) < len(messages)  # detections too: the teacher must skip them
    teacher = CountingTeacher()
    said = node_traffic.teacher_classes(teacher, audio, messages)  # type: ignore[arg-type]
    # escalations only (detections carry no features); a CO alarm at 0.5 is one the diagnosis takes as a possible alarm
    assert said == {m["seq"]: "possible: co_alarm" if m is escalations[0] else "knock" for m in escalations}
    cfg, hop = node_traffic.FAMILY.features, node_traffic.PROTOCOL.hop_frames
    windows = node_traffic.window_features(node_traffic.stream_features(audio, cfg), cfg, hop)
    first = node_traffic.message_window(escalations[0])
    assert (teacher.windows[0] == windows[first]).all()
    assert first * 512 + 1024 == escalations[0]["uptime_ms"]  # the window that ended when the message was made


def test_totals_add_the_teachers_classes_when_every_stream_has_them() -> None:
    stream = {"hours": 0.5, "detections": 0, "detections_by_class": {}, "escalations": 4,
              "escalations_dropped_by_the_node": 0, "alarm_events": 0, "hub": {"diagnose": 4},
              "gpu_tier_teacher": {"knock": 2, "speech_tv": 2}}  # fmt: skip
    total = node_traffic.total({"a": stream, "b": {**stream, "gpu_tier_teacher": {"doorbell": 1}}})
    assert total["gpu_tier_teacher_per_hour"] == {"knock": 2.0, "speech_tv": 2.0, "doorbell": 1.0}
    assert "gpu_tier_teacher_per_hour" not in node_traffic.total(
        {"a": {**stream, "gpu_tier_teacher": {}}, "b": {k: v for k, v in stream.items() if k != "gpu_tier_teacher"}}
    )
