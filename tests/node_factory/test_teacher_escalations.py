"""benchmarks.teacher_escalations: the teacher's reading of the node's escalations, counted per scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from benchmarks import teacher_escalations as te
from benchmarks.node_traffic import MODEL, ROOT
from gpu_backend.serve import SHIPPED_TEACHER
from gpu_backend.teacher import load_teacher
from node_factory.corpus import families, scenes
from node_factory.reference import model_format

pytestmark = pytest.mark.skipif(
    not (MODEL.exists() and SHIPPED_TEACHER.exists()), reason="the shipped sound model or its teacher is missing"
)


class SmokeEverywhereTeacher:
    """A test double of the teacher: every window is a smoke alarm at 0.9 (its class index in the family)."""

    def classify_windows(self, windows: NDArray[np.int8]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        index = te.FAMILY.classes.index("smoke_alarm")
        return np.full(len(windows), index, dtype=np.int64), np.full(len(windows), 0.9)


def test_the_diagnosis_takes_a_critical_class_from_its_threshold() -> None:
    assert te.names_alarm("co_alarm", te.TEACHER_CRITICAL_MIN)
    assert not te.names_alarm("co_alarm", te.TEACHER_CRITICAL_MIN - 1e-4)
    assert not te.names_alarm("doorbell", 1.0)
    assert te.shown(SHIPPED_TEACHER) == str(SHIPPED_TEACHER.relative_to(ROOT))
    assert te.shown(Path("/elsewhere/t.pt")) == "/elsewhere/t.pt"


def test_scenes_are_counted_by_what_the_teacher_names() -> None:
    """With a teacher that hears smoke everywhere, a smoke scene counts when the node escalated anything within 10 s
    of the onset, and every such escalation of a CO scene names the other alarm; the shipped teacher reads the same
    escalations (the same count) and cannot name more scenes than that."""
    model, _ = model_format.load(MODEL)
    alarm_scenes = list(scenes.alarm_scenes(4, families.cache_dir()))  # smoke, CO, smoke, CO
    double = te.alarm_scenes(model, SmokeEverywhereTeacher(), alarm_scenes)  # type: ignore[arg-type]
    real = te.alarm_scenes(model, load_teacher(SHIPPED_TEACHER), alarm_scenes)
    assert double["scenes"] == real["scenes"] == 4
    assert double["escalations_within_10_s"] == real["escalations_within_10_s"] > 0
    per_scene = []
    for scene in alarm_scenes:
        one = te.alarm_scenes(model, SmokeEverywhereTeacher(), [scene])  # type: ignore[arg-type]
        per_scene.append((scene.meta["label"], one["escalations_within_10_s"]))
    smoke_with_escalations = sum(label == "smoke_alarm" and n > 0 for label, n in per_scene)
    assert double["scenes_alarm_named_in_an_escalation"] == smoke_with_escalations
    assert double["escalations_named_the_other_alarm"] == sum(n for label, n in per_scene if label == "co_alarm")
    assert real["scenes_alarm_named_in_an_escalation"] <= sum(n > 0 for _label, n in per_scene)
