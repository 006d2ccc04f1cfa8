from __future__ import annotations

import numpy as np

from node_factory.corpus.debian_audio.screen import alarm_score, tone_runs

SR = 16000


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def test_a_temporal_three_alarm_is_flagged_at_its_pitch() -> None:
    t = _t(4.0)
    gate = ((t % 1.0) < 0.5) & (t < 3.0)
    x = np.sin(2 * np.pi * 3150 * t) * gate + 0.05 * np.random.default_rng(1).normal(size=t.size)
    runs = tone_runs(x)
    assert len(runs) == 3
    assert all(abs(r.hz - 3150) < 40 and 0.4 < r.seconds < 0.6 for r in runs)
    assert alarm_score(x) > 1.2


def test_noise_and_a_low_hum_are_not() -> None:
    t = _t(3.0)
    noise = np.random.default_rng(2).normal(size=t.size)
    assert alarm_score(noise) == 0
    hum = np.sin(2 * np.pi * 220 * t) + 0.01 * noise
    assert alarm_score(hum) == 0


def test_a_tone_below_the_alarm_band_is_seen_but_not_scored() -> None:
    t = _t(2.0)
    x = np.sin(2 * np.pi * 1700 * t) + 0.01 * np.random.default_rng(3).normal(size=t.size)
    assert tone_runs(x) and alarm_score(x) == 0
