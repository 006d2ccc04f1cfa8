"""The tone-following T4 prototype (benchmarks/alarm_t4_dev.py): it must hear a temporal-four code on a piezo
tone, a square wave and a 520 Hz sounder, also through a reverberant room's tail, within 10 s; and nothing in
noise, a steady tone, a T3 code, beeping at T4's pulse rate without its silences, a single burst, or bursts too
close or too far apart."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.alarm_t4_dev import SR, bursts, co_events_s, integer_co_s, lifetime, maxima
from tests.node_factory.alarm_signals import T3, T4, gated
from tests.node_factory.test_alarm_tone import NOT_T4, reverberant


@pytest.mark.parametrize(("tone_hz", "square"), [(3100.0, False), (3100.0, True), (520.0, True)])
def test_a_t4_code_is_heard_within_ten_seconds(tone_hz: float, square: bool) -> None:
    times = co_events_s(gated(tone_hz, T4, 14.0, square=square))
    assert times and 1.0 < times[0] <= 11.0


def test_a_t4_code_is_heard_through_a_reverberant_room() -> None:
    # a 0.1 s off-time in a room with RT60 1 s falls 6-14 dB, not to the noise floor
    times = co_events_s(reverberant(gated(3100.0, T4, 14.0), 1.0))
    assert times and 1.0 < times[0] <= 11.0


def test_a_channel_lives_as_the_nodes_do() -> None:
    # the node's channel opens on the sixth tonal frame (6 x 8 - 6 = 42 >= 40). Once the tone stops, its score
    # (128) falls under 48 81 frames later: the node releases it, and reopens it fresh in the same frame while the
    # score is still 40-47; from 39 on it is gone
    tonal = np.zeros((200, 212), dtype=np.bool_)
    tonal[10:60, 50] = True
    node, held = lifetime(tonal, 50 + 13, "node"), lifetime(tonal, 50 + 13, "held")
    assert node.openings == (15, *range(140, 148)) and held.openings == (15,)
    assert not node.open[14] and node.open[15:148].all() and not node.open[148:].any()
    assert held.open[15:].all()
    assert lifetime(np.zeros_like(tonal), 63, "node").openings == ()
    assert lifetime(tonal, 63, "whole").open.all()


@pytest.mark.parametrize("mode", ["held", "node"])
def test_seen_as_the_node_sees_it_a_clean_code_is_still_heard_in_time(mode: str) -> None:
    # the channel opens inside the first burst, whose last three pulses are still ahead: the code completes with
    # the second burst, as it does seen from the stream's start
    x = gated(3100.0, T4, 14.0)
    assert co_events_s(x, mode) == co_events_s(x)
    assert 1.0 < co_events_s(x, mode)[0] <= 11.0


@pytest.mark.parametrize(("pattern", "seconds"), NOT_T4)
def test_other_rhythms_are_not_a_t4_code(pattern: list[tuple[float, float]], seconds: float) -> None:
    assert co_events_s(gated(3100.0, pattern, seconds)) == []


def test_noise_alone_is_not_a_t4_code() -> None:
    noise = np.random.default_rng(7).normal(0, 2000, 20 * SR)
    assert co_events_s(np.round(noise).astype(np.int16)) == []


def test_a_burst_is_four_pulses_out_of_silence() -> None:
    # levels (dB) of one channel: silence, a burst of four 0.1 s pulses (3 frames on, 3 off), silence
    on, off = [100.0, 102.0, 100.0], [80.0, 78.0, 80.0]
    level = np.array([60.0] * 12 + (on + off) * 4 + [60.0] * 20)
    near = level > 90
    assert len(maxima(level, near)) == 4
    assert [(first, peak) for first, _end, peak in bursts(level, near)] == [(13, 102.0)]
    # the same pulses with the last one held on (a note of music) are not a burst: a burst ends in a silence
    held = np.array([60.0] * 12 + (on + off) * 3 + on + [100.0] * 20)
    assert bursts(held, held > 90) == []


def test_the_integer_path_measures_the_nodes_t4() -> None:
    # `--integer`: the node's integer detector (reference/alarm_tone.py) hears the code in time, and not T3
    assert 1.0 < integer_co_s(gated(3100.0, T4, 14.0))[0] <= 11.0
    assert integer_co_s(gated(3100.0, T3, 20.0)) == []
