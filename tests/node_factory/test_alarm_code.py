"""The alarm-code detector's reference (node_factory.reference.alarm_code) on scripted frame streams: T3 and
T4 pulses in one band over a noise floor, with the standards' timing tolerances; lookalikes that must not
match. numpy only, no audio."""

from __future__ import annotations

import numpy as np
import pytest

from node_factory.reference import alarm_code
from node_factory.reference.alarm_code import T3_PERIOD, T4_PERIOD, AlarmCodeDetector, Interval, detect

FRAME_S = alarm_code.FRAME_S
T3 = ((0.5, 0.5), (0.5, 0.5), (0.5, 1.5))
T4 = ((0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 5.0))


def stream(
    pattern: tuple[tuple[float, float], ...], cycles: int, band: int = 11, seed: int = 0, lead_s: float = 3.0,
    jitter: float = 0.1, level: int = 20,
) -> tuple[np.ndarray, float]:  # fmt: skip
    """Frames (n x 16 int8) of a noise floor with the pattern's pulses in `band` (timings drawn within
    ±`jitter`), and the time the first pulse starts."""
    rng = np.random.default_rng(seed)
    times, t = [], lead_s
    for _ in range(cycles):
        for on, off in pattern:
            on_s, off_s = on * rng.uniform(1 - jitter, 1 + jitter), off * rng.uniform(1 - jitter, 1 + jitter)
            times.append((t, t + on_s))
            t += on_s + off_s
    n = int((t + 2.0) / FRAME_S)
    frames = rng.normal(-40, 1.5, (n, 16))
    centres = (np.arange(n) + 0.5) * FRAME_S
    for start, stop in times:
        frames[(centres >= start) & (centres < stop), band] = level + rng.normal(0, 1.5)
    return np.clip(np.round(frames), -128, 127).astype(np.int8), lead_s


def first_match(frames: np.ndarray, code: int) -> float | None:
    hits = np.nonzero(detect(frames) == code)[0]
    return float(hits[0] * FRAME_S) if len(hits) else None


def test_the_intervals_come_from_the_standards() -> None:
    # T3: 0.5 s + 0.5 s (31.25 frames) and 0.5 s + 1.5 s (62.5 frames), each ±10 %, two frames of slack
    assert (Interval(26, 37), Interval(26, 37), Interval(54, 71)) == T3_PERIOD
    # T4: 0.1 s + 0.1 s (6.25 frames) three times, then 0.1 s + 5 s (159.4 frames)
    assert T4_PERIOD[:3] == (Interval(3, 9),) * 3
    assert T4_PERIOD[3] == Interval(141, 178)
    # a T4 burst repeats 0.7 s + 5 s later (±10 %): the longest interval kept in a ring
    assert Interval(158, 198) == alarm_code.BURST_PERIOD
    assert alarm_code.MAX_INTERVAL == 198


@pytest.mark.parametrize("seed", range(5))
def test_t3_is_found_at_the_end_of_its_fifth_pulse(seed: int) -> None:
    frames, start = stream(T3, cycles=3, seed=seed)
    found = first_match(frames, 1)
    assert found is not None
    # pulses start at 0, 1, 2, 4 and 5 s (±10 %); the fifth ends about 5.5 s after the first started
    assert start + 4.8 < found < start + 6.3
    assert first_match(frames, 2) is None


@pytest.mark.parametrize("seed", range(5))
def test_t4_is_found_in_the_second_burst(seed: int) -> None:
    frames, start = stream(T4, cycles=3, band=10, seed=seed)
    found = first_match(frames, 2)
    assert found is not None
    assert start + 5.2 < found < start + 6.5  # the next burst's second pulse
    assert first_match(frames, 1) is None


def pulse_starts(frames: np.ndarray, band: int) -> list[int]:
    loud = np.nonzero(frames[:, band] > 0)[0]
    return [int(i) for i in loud if i - 1 not in loud]


def without_pulse(frames: np.ndarray, band: int, k: int) -> np.ndarray:
    """The stream with its k-th pulse in `band` gone (its frames at the noise floor)."""
    out, first = frames.copy(), pulse_starts(frames, band)[k]
    stop = first + int(np.argmax(out[first:, band] <= 0))
    out[first:stop, band] = -40
    return out


@pytest.mark.parametrize("seed", range(5))
def test_t4_missing_a_pulse_in_a_burst_is_found_in_the_second_burst(seed: int) -> None:
    frames, start = stream(T4, cycles=3, band=10, seed=seed, jitter=0.05)
    frames = without_pulse(frames, 10, 5)  # the second burst's second pulse: no six pulses in a row before 11 s
    found = first_match(frames, 2)
    assert found is not None
    assert start + 5.2 < found < start + 7.0  # the second burst's third pulse
    skip_off = (alarm_code.T4_PERIOD, alarm_code.T4_MATCH, 0)
    codes, bursts = alarm_code.PERIODS, alarm_code.bursts
    try:
        alarm_code.PERIODS, alarm_code.bursts = (codes[0], skip_off), lambda ring: False
        late = first_match(frames, 2)
    finally:
        alarm_code.PERIODS, alarm_code.bursts = codes, bursts
    assert late is not None and late > start + 10.5  # without the skip (and the burst rule): the third burst


def test_a_chain_with_a_skipped_pulse_needs_pulses_of_one_loudness() -> None:
    frames, start = stream(T4, cycles=3, band=10, jitter=0.05)
    frames = without_pulse(frames, 10, 5)
    for k, first in enumerate(pulse_starts(frames, 10)):  # every other pulse 4.5 dB louder: fine for a
        if k % 2:  # full chain (6 dB), not for one that skips (3 dB)
            frames[first : first + 4][frames[first : first + 4, 10] > 0, 10] += 6
    bursts = alarm_code.bursts
    try:  # (the burst rule, whose pulses may differ by 6 dB, would take the second burst as a burst)
        alarm_code.bursts = lambda ring: False
        found = first_match(frames, 2)
    finally:
        alarm_code.bursts = bursts
    assert found is None or found > start + 10.5


# A T4 burst blurred by a live room: two of its four pulses show, 0.4 s apart (0.7 s burst, 5.7 s period)
BLURRED_T4 = ((0.1, 0.3), (0.1, 5.2))


@pytest.mark.parametrize("seed", range(5))
def test_t4_bursts_showing_two_pulses_each_are_found_in_the_second_burst(seed: int) -> None:
    frames, start = stream(BLURRED_T4, cycles=3, band=10, seed=seed, jitter=0.05)
    found = first_match(frames, 2)
    assert found is not None
    assert start + 5.5 < found < start + 6.8  # the second burst's second pulse
    assert first_match(frames, 1) is None
    bursts = alarm_code.bursts
    try:  # no chain of the code's intervals sees them: the burst rule does
        alarm_code.bursts = lambda ring: False
        assert not detect(frames).any()
    finally:
        alarm_code.bursts = bursts


def test_one_blurred_burst_alone_is_not_enough() -> None:
    frames, _start = stream(BLURRED_T4, cycles=1, band=10)
    assert not detect(frames).any()


def test_bursts_with_a_sound_between_them_are_not_a_code() -> None:
    # the same bursts, with a pulse as loud in the middle of each silence
    frames, _start = stream(((0.1, 0.3), (0.1, 2.5), (0.1, 2.6)), cycles=3, band=10, jitter=0.05)
    assert not detect(frames).any()


def test_bursts_of_unequal_loudness_are_not_one_alarm() -> None:
    frames, start = stream(BLURRED_T4, cycles=3, band=10, jitter=0.05)
    second = int((start + 5.0) / FRAME_S)
    frames[second:, 10][frames[second:, 10] > 0] += 16  # 12 dB louder from the second burst on
    found = first_match(frames, 2)
    assert found is None or found > start + 10.5


def test_blurred_bursts_are_as_loud_as_the_newest_pulse() -> None:
    # two blurred bursts whose pulses are each within 6 dB of their burst's first, and the firsts within 6 dB
    # of each other, but the first burst 6.75 dB under the newest pulse (a crescendo, not one alarm)
    frames, _start = stream(BLURRED_T4, cycles=2, band=10, jitter=0.05)
    for first, level in zip(pulse_starts(frames, 10), (20, 14, 26, 29), strict=True):
        stop = first + int(np.argmax(frames[first:, 10] <= 0))
        frames[first:stop, 10] = level
    assert not detect(frames).any()
    for first in pulse_starts(frames, 10)[2:]:  # the second burst as loud as the first: one alarm
        stop = first + int(np.argmax(frames[first:, 10] <= 0))
        frames[first:stop, 10] = 20
    assert (detect(frames) == 2).any()


@pytest.mark.parametrize("seed", range(3))
def test_a_faint_pulse_does_not_hide_a_loud_sound_in_the_long_silence(seed: int) -> None:
    # music: a loud sound in T4's long silence (too long for a pulse of the code), then a faint short note; the
    # silence is checked as a whole, not only from the faint note (the last pulse in it) on
    frames, start = stream(T4, cycles=2, band=10, seed=seed, jitter=0.05)
    second = pulse_starts(frames, 10)[4]
    faint = frames.copy()
    faint[second - 40 : second - 37, 10] = -10  # a 0.1 s note 22 dB under the pulses, 1.3 s before the burst
    found = first_match(faint, 2)  # noise in an alarm's silence: still found in the second burst
    assert found is not None and found < start + 6.5
    faint[second - 100 : second - 60, 10] = 16  # a 1.3 s sound 3 dB under the pulses, before the note
    assert not detect(faint).any()


def test_a_tone_gliding_over_a_band_edge_stays_one_alarm() -> None:
    # T3 whose pitch drifts: its pulses alternate between two neighbouring bands
    frames, _start = stream(T3, cycles=3, band=10)
    for first in pulse_starts(frames, 10)[1::2]:
        stop = first + int(np.argmax(frames[first:, 10] <= 0))
        frames[first:stop, 11] = frames[first:stop, 10]
        frames[first:stop, 10] = -40
    assert first_match(frames, 1) is not None


@pytest.mark.parametrize("seed", [0, 1])  # (without the tail rule, these two are found in the third burst)
def test_a_quieter_burst_after_a_decaying_one_is_found(seed: int) -> None:
    # a live room: every pulse decays over 3 frames, and the next burst is 4.5 dB quieter (a drifting pitch on the
    # room's response); the decay belongs to the pulse, the silence after it is quiet
    frames, start = stream(T4, cycles=3, band=10, seed=seed, jitter=0.05)
    starts = pulse_starts(frames, 10)
    for k, first in enumerate(starts):
        stop = first + int(np.argmax(frames[first:, 10] <= 0))
        if k >= 4:
            frames[first:stop, 10] -= 6
        peak = int(frames[first:stop, 10].max())
        for i, drop in enumerate((10, 14, 18)):  # the decay after the pulse's end
            if stop + i < len(frames) and stop + i not in starts:
                frames[stop + i, 10] = max(int(frames[stop + i, 10]), peak - drop)
    found = first_match(frames, 2)
    assert found is not None and found < start + 6.5


@pytest.mark.parametrize("band", [2, 6, 15])
def test_any_pitch_within_the_bands(band: int) -> None:
    frames, _start = stream(T3, cycles=3, band=band)
    assert first_match(frames, 1) is not None


def test_the_lowest_bands_are_not_listened_to() -> None:
    frames, _start = stream(T3, cycles=3, band=1)  # below ~400 Hz: hum and HVAC, never an alarm's tone
    assert not detect(frames).any()


def test_timing_outside_the_tolerance_is_not_a_code() -> None:
    slow = tuple((on * 1.3, off * 1.3) for on, off in T3)  # 30 % slow: no T3 sounder
    frames, _start = stream(slow, cycles=4, jitter=0.0)
    assert not detect(frames).any()


def test_one_cycle_of_t4_alone_is_not_enough() -> None:
    frames, _start = stream(T4, cycles=1)  # four short beeps: a microwave, a timer
    assert not detect(frames).any()


def test_pulses_of_unequal_loudness_are_not_one_alarm() -> None:
    frames, _start = stream(T3, cycles=3)
    hits = np.nonzero(frames[:, 11] > 0)[0]
    starts = [i for i in hits if i - 1 not in hits]
    for k, first in enumerate(starts):  # every other pulse 12 dB louder
        if k % 2:
            frames[first : first + 20][frames[first : first + 20, 11] > 0, 11] += 16
    assert not (detect(frames) == 1).any()


def test_a_steady_tone_is_not_a_code() -> None:
    frames, _start = stream(((6.0, 1.0),), cycles=3)
    assert not detect(frames).any()


def test_broadband_onsets_are_not_pulses() -> None:
    # T3 timing, but every band rises at once (a knock or a word, not a tone)
    frames, _start = stream(T3, cycles=3)
    loud = frames[:, 11] > 0
    frames[loud, :] = frames[loud, 11][:, None]
    assert not detect(frames).any()


def test_the_16_bit_clock_wraps_without_false_or_lost_matches() -> None:
    frames, _start = stream(T3, cycles=3)
    detector = AlarmCodeDetector(16)
    detector.frame = 0xFFFF - 100  # the pattern crosses the wrap
    out = [detector.push(row) for row in frames]
    assert 1 in out and 2 not in out
    assert np.nonzero(np.array(out) == 1)[0][0] == np.nonzero(detect(frames) == 1)[0][0]


def test_reset_forgets_the_stream() -> None:
    frames, _start = stream(T3, cycles=3)
    half = len(frames) // 2
    detector = AlarmCodeDetector(16)
    for row in frames[:half]:
        detector.push(row)
    detector.reset()
    assert [detector.push(row) for row in frames[half:]] == list(detect(frames[half:]))
