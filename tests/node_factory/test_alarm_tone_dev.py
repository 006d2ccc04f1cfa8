"""The tone-following T3 prototype (benchmarks/alarm_tone_dev.py): it must hear a clean temporal-three code
on a piezo tone with harmonics and on a 520 Hz square wave, and nothing in noise, a steady tone or a tone
beeping at a rhythm that is not T3."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from benchmarks.alarm_tone_dev import SR, distinct, in_pieces_s, smoke_events_s
from tests.node_factory.alarm_signals import T3, gated


@pytest.mark.parametrize("floor", ["median", "mean"])
@pytest.mark.parametrize(("tone_hz", "square"), [(3100.0, False), (3100.0, True), (520.0, True)])
def test_a_t3_code_is_heard_within_ten_seconds(tone_hz: float, square: bool, floor: str) -> None:
    times = smoke_events_s(gated(tone_hz, T3, 14.0, square=square), floor, 10.0)
    assert times and 1.0 < times[0] <= 11.0


@pytest.mark.parametrize(
    "pattern",
    [
        [(0.5, 0.5)],  # beeping once a second: no long silence
        [(14.0, 0.0)],  # a steady tone
        [(0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 5.0)],  # temporal-four: CO, not smoke
    ],
)
def test_other_rhythms_are_not_a_t3_code(pattern: list[tuple[float, float]]) -> None:
    assert smoke_events_s(gated(3100.0, pattern, 14.0), "median", 10.0) == []


def test_noise_alone_is_not_a_t3_code() -> None:
    noise = np.random.default_rng(7).normal(0, 2000, 20 * SR)
    assert smoke_events_s(np.round(noise).astype(np.int16), "median", 10.0) == []


def test_events_closer_than_ten_seconds_count_once() -> None:
    assert distinct([1.0, 5.0, 10.9, 11.5, 30.0]) == 3


def test_a_long_recording_is_heard_in_five_minute_pieces_at_their_offsets() -> None:
    pieces: list[int] = []

    def hear(x: NDArray[np.int16]) -> list[float]:
        pieces.append(len(x))
        return [1.0]

    assert in_pieces_s(np.zeros(SR * 700, dtype=np.int16), hear) == [1.0, 301.0, 601.0]
    assert pieces == [SR * 300, SR * 300, SR * 100]
