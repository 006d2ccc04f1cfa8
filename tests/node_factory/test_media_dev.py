"""benchmarks/media_dev.py: the shares of a model's windows on recorded media, per kind and in all."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import media_dev


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
