"""benchmarks/media_dev.py: the shares of a model's windows on recorded media, per kind and in all."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import media_dev
from gpu_backend.teacher import TeacherClassifier, load_teacher
from node_factory.corpus.synth import SOUND_CLASSES
from node_factory.reference import model_format
from node_factory.training.train import Teacher


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> TeacherClassifier:
    """An untrained teacher (random weights): what matters here is how its answers are combined, not their worth."""
    path = tmp_path_factory.mktemp("teacher") / "bare.pt"
    torch.manual_seed(0)
    torch.save(Teacher(len(SOUND_CLASSES)).state_dict(), path)
    return load_teacher(path)


def test_shares_count_every_window_once() -> None:
    rng = np.random.default_rng(0)
    speech = [(rng.normal(0, 3000, 16000 * 3)).astype(np.int16), np.zeros(8000, dtype=np.int16)]  # 3 s; 0.5 s
    music = [(8000 * np.sin(np.arange(16000 * 2) * 0.2)).astype(np.int16)]
    result = media_dev.shares(media_dev.SHIPPED, {"speech": speech, "music": music})
    assert len(result["model"]) == 8  # the model hash's first digits
    # windows of 32 frames at a hop of 16 (512 samples a frame): 3 s -> 4, 0.5 s -> none, 2 s -> 2
    assert result["speech"] == {"files": 2, "windows": 4, "shares": result["speech"]["shares"]}
    assert result["music"]["windows"] == 2
    for kind in ("speech", "music"):
        assert abs(sum(result[kind]["shares"].values()) - 1) < 0.01
    assert 0 <= result["doorbell_or_knock"] <= 1 and 0 <= result["speech_tv"] <= 1


def test_tv_scenes_report_each_class_share_and_refuse_no_media() -> None:
    rng = np.random.default_rng(1)
    speech = [(rng.normal(0, 3000, 16000 * 2)).astype(np.int16) for _ in range(3)]
    result = media_dev.tv_scenes(media_dev.SHIPPED, {"speech": speech}, 4)
    assert result["scenes"] == 4 and set(result) == {"doorbell", "knock", "scenes"}
    assert all(result[label] in (0.0, 0.5, 1.0) for label in ("doorbell", "knock"))  # 2 scenes each
    with pytest.raises(ValueError, match="no speech or music"):
        media_dev.tv_scenes(media_dev.SHIPPED, {"speech": [], "music": []}, 2)


def test_the_cascade_takes_the_teachers_class_where_the_node_escalates(teacher: TeacherClassifier) -> None:
    rng = np.random.default_rng(2)
    audio = rng.normal(0, 2000, 16000 * 8).astype(np.int16) * np.repeat(rng.uniform(0, 3, 16), 8000).astype(np.int16)
    model, _ = model_format.load(media_dev.SHIPPED)
    run, readings = media_dev.read(model, audio, teacher)
    assert set(readings) == {"teacher", "cascade"} and len(readings["teacher"]) == len(run.top) > 0
    cascade = readings["cascade"]
    assert run.escalate.any() and not run.escalate.all()  # both kinds of window are checked below
    assert (cascade[run.escalate] == readings["teacher"][run.escalate]).all()
    assert (cascade[~run.escalate] == run.top[~run.escalate]).all()
    assert media_dev.read(model, audio)[1] == {}  # without a teacher: the node alone


def test_shares_and_tv_scenes_with_a_teacher(teacher: TeacherClassifier) -> None:
    rng = np.random.default_rng(3)
    speech = [(rng.normal(0, 3000, 16000 * 3)).astype(np.int16) for _ in range(3)]
    result = media_dev.shares(media_dev.SHIPPED, {"speech": speech}, teacher)
    assert 0 <= result["escalated"] <= 1
    for name in ("teacher", "cascade"):
        assert set(result[name]) == {"doorbell_or_knock", "speech_tv"}
        assert all(0 <= v <= 1 for v in result[name].values())
    scenes = media_dev.tv_scenes(media_dev.SHIPPED, {"speech": speech}, 4, teacher)
    for name in ("teacher", "cascade"):
        assert set(scenes[name]) == {"doorbell", "knock"} and all(v in (0.0, 0.5, 1.0) for v in scenes[name].values())
    assert "teacher" not in media_dev.shares(media_dev.SHIPPED, {"speech": speech})
