"""The node's tone-following T3/T4 detector, integer reference (node_factory.reference.alarm_tone): it hears a
temporal-three code on a piezo tone, a square wave with harmonics and a 520 Hz low-frequency sounder within
10 s, also in noise, when a notch splits its pulses, when one loud frame falls in a silence and when the tone
drifts, and no code in noise, on pulses of neighbouring pitches, a steady tone, beeping at other rhythms, the
temporal-four code or notes on a beat. It hears the temporal-four code likewise (also in a reverberant room),
holding the channel through its silence, and not T3, beeping, a lone burst, bursts too close, bursts of unequal
loudness or a silence with the tone in it. Its integer steps agree with their definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.signal import fftconvolve

from node_factory.reference import alarm_tone
from node_factory.reference.features import FeatureConfig, fft_q15, log2_q3
from tests.node_factory.alarm_signals import (
    SR,
    T3,
    T4,
    after_a_full_burst,
    built_up_t4,
    converging_tones,
    gated,
    pulses,
    t4_among_converging_tones,
    t4_of_chirps,
)


def heard_at(x: NDArray[np.int16], code: int = alarm_tone.T3) -> list[float]:
    """Times (s) of the frames in which the detector completes `code`."""
    return [float(t + 1) * alarm_tone.FRAME / SR for t in np.nonzero(alarm_tone.detect_audio(x) == code)[0]]


@pytest.mark.parametrize(("tone_hz", "square"), [(3100.0, False), (3100.0, True), (520.0, True), (3450.0, False)])
def test_a_t3_code_is_heard_within_ten_seconds(tone_hz: float, square: bool) -> None:
    times = heard_at(gated(tone_hz, T3, 14.0, square=square))
    assert times and 1.0 < times[0] <= 11.0, times


def test_a_t3_code_is_heard_at_ten_db_snr_in_broadband_noise() -> None:
    # a sine at amplitude 2000 (power 2e6) in white noise of 2e5 per sample over 8 kHz: the tone's bins stand
    # far above the floor even though the whole band's SNR is 10 dB
    times = heard_at(gated(3100.0, T3, 14.0, amplitude=2000.0, noise=450.0))
    assert times and times[0] <= 11.0, times


def test_a_pulse_split_by_a_notch_is_one_pulse() -> None:
    # every pulse dips 20 dB for two frames after 0.25 s (a room's notch): without the merge rule its first part
    # is a pulse and its rest a sound in the silence after it, and no chain fits
    x = gated(3100.0, T3, 14.0).astype(np.float64)
    for at, _on, _off in pulses(T3, 14.0):
        a = int((at + 0.25) * SR)
        x[a : a + 1024] *= 0.1
    times = heard_at(np.round(x).astype(np.int16))
    assert times and times[0] <= 11.0, times
    merge = alarm_tone.MERGE
    try:
        alarm_tone.MERGE = -1
        assert heard_at(np.round(x).astype(np.int16)) == []
    finally:
        alarm_tone.MERGE = merge


@pytest.mark.xfail(
    strict=True,
    reason="known limitation: only a kept pulse is continued after a notch (docs/node-model.md, stop 32)",
)
def test_a_pulse_whose_first_part_is_too_short_to_keep_is_one_pulse() -> None:
    # every pulse dips 20 dB for 0.16 s after its first 0.15 s (training scene 162: a 515 Hz square in a
    # reverberant room): the first part ends about 6 frames after its onset, under the 8 a pulse needs, so the
    # merge with a kept pulse cannot apply, and the rest alone (about 6 frames) is too short as well. Continuing
    # such a fragment hears it, but also gave 4 false codes in the `train` recordings, so it was not adopted.
    x = gated(520.0, T3, 14.0, square=True).astype(np.float64)
    for at, _on, _off in pulses(T3, 14.0):
        a = int((at + 0.15) * SR)
        x[a : a + int(0.16 * SR)] *= 0.1
    times = heard_at(np.round(x).astype(np.int16))
    assert times and times[0] <= 11.0, times


@pytest.mark.parametrize(
    "pattern",
    [
        [(0.5, 0.5)],  # beeping once a second: no long silence
        [(14.0, 0.0)],  # a steady tone
        T4,  # temporal-four: CO, not smoke
        [(0.5, 1.5)],  # one beep every two seconds: no short intervals
        [(0.2, 0.3), (0.5, 1.0)],  # notes on a beat, one too short
    ],
)
def test_other_rhythms_are_not_a_t3_code(pattern: list[tuple[float, float]]) -> None:
    assert heard_at(gated(3100.0, pattern, 20.0)) == []


SLSL = [(0.5, 0.5), (0.5, 1.5)]  # a beat of one short and one long interval (music: hedgewars' and supertux' codes)


def test_the_intervals_must_come_in_t3_order() -> None:
    # pulses at T3's intervals, one or two of every four long and never two in a row, but not in T3's order
    assert heard_at(gated(3100.0, SLSL, 20.0)) == []
    orders = alarm_tone.T3_ORDERS
    try:  # the rule before: any one or two long intervals, not two in a row
        alarm_tone.T3_ORDERS = {
            longs
            for longs in itertools.product((False, True), repeat=alarm_tone.MATCH - 1)
            if 1 <= sum(longs) <= 2 and not any(a and b for a, b in itertools.pairwise(longs))
        }
        assert heard_at(gated(3100.0, SLSL, 20.0)) != []
    finally:
        alarm_tone.T3_ORDERS = orders


def test_the_pulses_must_be_about_as_long_as_each_other() -> None:
    # T3's onsets (1 s, 1 s, 2 s apart) but pulses of 0.3 and 0.7 s in turn: not one sounder's code
    uneven = [(0.3, 0.7), (0.7, 0.3), (0.3, 1.7), (0.7, 0.3), (0.3, 0.7), (0.7, 1.3)]
    assert heard_at(gated(3100.0, uneven, 20.0)) == []
    spread = alarm_tone.LENGTH_SPREAD
    try:
        alarm_tone.LENGTH_SPREAD = alarm_tone.PULSE[1]
        assert heard_at(gated(3100.0, uneven, 20.0)) != []
    finally:
        alarm_tone.LENGTH_SPREAD = spread


def test_the_five_pulses_are_on_one_pitch() -> None:
    # a T3 chain (intervals 1, 1, 2, 1 s; equal peaks, lengths and quiet silences) kept on one channel: a drift of
    # one bin across the five pulses is one tone; two bins (at 1 kHz, a semitone) are notes of a melody that
    # the channel followed
    def ring(bins: list[int]) -> list[alarm_tone.Pulse]:
        return [(onset, 100, 50, 16, b) for onset, b in zip((0, 31, 62, 124, 155), bins, strict=True)]

    assert alarm_tone.t3(ring([32, 32, 32, 32, 32]))
    assert alarm_tone.t3(ring([32, 32, 33, 33, 33]))
    assert not alarm_tone.t3(ring([32, 32, 33, 34, 34]))
    assert not alarm_tone.t3(ring([34, 33, 32, 33, 33]))


def test_a_t3_chain_stands_out_of_its_silences_and_its_pulses_match() -> None:
    # a repeated note at T3's intervals in music (Debian `dev` recordings, 2026-12-05): silences 7 dB under the
    # notes, or notes 0.3 to 0.55 s long, are not one sounder's code; 7.5 dB and 0.22 s are
    def ring(gap: int, lengths: list[int]) -> list[alarm_tone.Pulse]:
        return [(onset, 100, gap, n, 32) for onset, n in zip((0, 31, 62, 124, 155), lengths, strict=True)]

    even = [16] * 5
    assert alarm_tone.t3(ring(100 - alarm_tone.GAP, even))
    assert not alarm_tone.t3(ring(100 - alarm_tone.GAP + 1, even))
    assert alarm_tone.GAP == 20  # 7.5 dB: every training smoke chain stands 10 dB or more over its silences
    assert alarm_tone.t3(ring(50, [16, 16, 16, 16, 16 + alarm_tone.LENGTH_SPREAD]))
    assert not alarm_tone.t3(ring(50, [10, 16, 16, 16, 10 + alarm_tone.LENGTH_SPREAD + 1]))
    assert alarm_tone.LENGTH_SPREAD == 7  # 0.22 s


def test_noise_alone_is_not_a_t3_code() -> None:
    noise = np.random.default_rng(7).normal(0, 2000, 30 * SR)
    assert heard_at(np.round(noise).astype(np.int16)) == []


def test_the_silences_must_be_quiet() -> None:
    # T3 pulses with a second tone 3 dB under them filling the silences in the same bins: music, not an alarm
    x = gated(3100.0, T3, 14.0).astype(np.float64)
    t = np.arange(len(x)) / SR
    x += 5600 * np.sin(2 * np.pi * 3110.0 * t) * (x == x)  # the filler sounds all the time
    assert heard_at(np.round(x).astype(np.int16)) == []


def tone_in_the_silences(frames: int) -> NDArray[np.int16]:
    """T3 on 3.1 kHz with the tone itself sounding for `frames` whole frames (32 ms each) in every silence."""
    x = gated(3100.0, T3, 14.0).astype(np.float64)
    t = np.arange(len(x)) / SR
    for at, on, off in pulses(T3, 14.0):
        a = int((at + on + off / 2) * SR) // alarm_tone.FRAME * alarm_tone.FRAME  # mid-silence, a frame's start
        b = a + frames * alarm_tone.FRAME
        x[a:b] = 8000 * np.sin(2 * np.pi * 3100.0 * t[a:b])
    return np.round(x).astype(np.int16)


def test_one_loud_frame_does_not_fill_a_silence() -> None:
    # a click is one frame: a silence is as loud as its second-loudest frame, so one loud frame in every silence
    # leaves the code heard; two frames in a row are a sound in the silence, and no code is heard
    times = heard_at(tone_in_the_silences(1))
    assert times and times[0] <= 11.0, times
    assert heard_at(tone_in_the_silences(2)) == []


def test_a_channel_follows_its_tone_to_a_neighbouring_bin(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3.0 -> 3.1 kHz over 14 s (3 %, three bins): the tone's score moves off the channel's bin, and the channel
    # with it; a channel that stayed would be released and its pulses lost
    x = gated(3000.0, T3, 14.0, glide_to_hz=3100.0)  # a piezo's pitch drifting
    times = heard_at(x)
    assert times and times[0] <= 11.0, times
    monkeypatch.setattr(alarm_tone.AlarmToneDetector, "_follow", lambda self, ch: None)
    assert heard_at(x) == []


def test_channels_that_follow_one_tone_become_one_and_free_their_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    # twelve tones open all twelve channels, then glide in pairs onto six frequencies: each pair's channels stop
    # on either side of its tone's peak, one is released, and a T4 alarm starting later finds a free slot (without
    # the merge every slot stays held and the alarm is not heard)
    detector = alarm_tone.AlarmToneDetector()
    alarm_tone.detect_audio(np.round(converging_tones(7.0)).astype(np.int16), detector)
    held = sorted(ch.bin for ch in detector.channels if ch is not None)
    assert len(held) == 6, held
    assert all(b - a > alarm_tone.half_width(a) for a, b in itertools.pairwise(held)), held
    x = t4_among_converging_tones()
    times = heard_at(x, alarm_tone.T4)
    assert times and 8.0 < times[0] <= 18.0, times
    monkeypatch.setattr(alarm_tone.AlarmToneDetector, "_merge", lambda self: None)
    assert heard_at(x, alarm_tone.T4) == []


def test_of_two_channels_on_one_tone_the_one_on_its_peak_is_kept() -> None:
    detector = alarm_tone.AlarmToneDetector()

    def channel(bin_: int, *, pending: bool = False, kept: int = 0) -> alarm_tone.Channel:
        ch = alarm_tone.Channel(bin_, alarm_tone.half_width(bin_), [0] * alarm_tone.HISTORY)
        ch.pending, ch.ring = pending, [(0, 0, 0, 10, bin_)] * kept
        return ch

    def merged(*channels: alarm_tone.Channel, scores: dict[int, int]) -> list[alarm_tone.Channel]:
        detector.channels = [*channels, *[None] * (alarm_tone.MAX_CHANNELS - len(channels))]
        detector.score[:] = 0
        for bin_, score in scores.items():
            detector.score[bin_ - alarm_tone.LOW_BIN] = score
        detector._merge()
        return [ch for ch in detector.channels if ch is not None]

    # 100 and 102 read one tone's bins (half width 3): the one on the peak stays, whatever the other holds
    pending, peak, far = channel(100, pending=True), channel(102), channel(60, kept=1)
    assert merged(pending, peak, far, scores={100: 50, 102: 60, 60: 10}) == [peak, far]
    # on one score: a burst pending beats kept pulses, kept pulses beat none, then the earlier slot
    pending, kept, plain = channel(100, pending=True), channel(101, kept=5), channel(99)
    assert merged(plain, kept, pending, scores={99: 60, 100: 60, 101: 60}) == [pending]
    assert merged(plain, kept, scores={99: 60, 101: 60}) == [kept]
    twins = [channel(100), channel(100)]
    assert merged(*twins, scores={100: 60}) == [twins[0]]
    apart = [channel(100), channel(104)]  # 4 bins: more than a half width, two tones
    assert merged(*apart, scores={100: 60, 104: 60}) == apart


def test_the_integer_steps() -> None:
    values = np.array([0, 1, 2, 3, 7, 8, 9, 1000, 2**31 - 1, 2**32 - 1, 2**35 + 12345], dtype=np.int64)
    assert [alarm_tone.log2_q3(int(v)) for v in values] == list(log2_q3(values))
    assert [alarm_tone.half_width(f) for f in (13, 66, 67, 100, 224)] == [2, 2, 2, 3, 7]
    # the Hann window in the frequency domain of a frame equals the frequency domain of the windowed frame
    # (up to the integer FFT's rounding): the peak of a tone between two bins is the same, its leakage lower
    frame = np.round(8000 * np.sin(2 * np.pi * 100.5 * np.arange(512) / 512)).astype(np.int16)[None, :]
    power = alarm_tone.hann_power(*fft_q15(frame))[0]
    k = np.arange(alarm_tone.FIRST, alarm_tone.LAST + 1)
    spectrum = np.abs(np.fft.rfft(frame[0] * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(512) / 512)))) / 512
    expected = spectrum[k] ** 2
    assert np.allclose(power[np.abs(k - 100.5) < 3], expected[np.abs(k - 100.5) < 3], rtol=0.05)
    # a full-scale tone: the channel level saturates at 255
    assert alarm_tone.channel_level(np.full(len(k), 2**32 - 1, dtype=np.int64), 100, 107) == 255


def test_the_state_is_bounded() -> None:
    detector = alarm_tone.AlarmToneDetector()
    x = np.concatenate([gated(f, T3, 8.0, seed=i) for i, f in enumerate(np.linspace(600, 6000, 20))])
    alarm_tone.detect_audio(x, detector)
    assert len(detector.channels) == alarm_tone.MAX_CHANNELS
    assert all(ch is None or len(ch.ring) <= alarm_tone.RING for ch in detector.channels)
    assert detector.score.max() <= alarm_tone.SCORE_MAX


def test_the_tone_detector_feeds_the_code_windows_and_one_alarm_is_one_event() -> None:
    from benchmarks.alarm_code import node_events
    from node_factory.evaluation.node_stream import code_windows, stream_features

    cfg = FeatureConfig()
    noise = np.round(np.random.default_rng(3).normal(0, 300, 20 * SR)).astype(np.int16)
    frames = stream_features(noise, cfg)
    plain = code_windows(frames, cfg, 16, (1, 2))
    assert code_windows(frames, cfg, 16, (1, 2), np.zeros(len(frames), dtype=np.int8)) == plain
    tone = np.zeros(len(frames), dtype=np.int8)
    # frames 40, 41 are in the window ending at frame 48 (window 1), 60 in window 2, 70 and 71 in window 3: a
    # window takes the first code completed in it
    tone[[40, 41, 60, 70, 71]] = [alarm_tone.T3, alarm_tone.T3, alarm_tone.T4, alarm_tone.T4, alarm_tone.T3]
    got = code_windows(frames, cfg, 16, (1, 2), tone)
    assert got[1:4] == [1, 2, 2] and all(c == p for i, (c, p) in enumerate(zip(got, plain, strict=True)) if i > 3)
    # a T3 tone in loud noise: only the tone path hears it, and its matches make one smoke event
    x = gated(3100.0, T3, 14.0, amplitude=1500.0, noise=2000.0)
    assert node_events(x, tone_detector=False) == []
    assert len(node_events(x, tone_detector=True)) == 1


def test_the_bands_of_the_followed_tones() -> None:
    edges = FeatureConfig().band_edges
    band_of = alarm_tone.bands_of_bins(edges)
    assert len(band_of) == alarm_tone.FRAME // 2 + 1
    assert band_of[edges[0] - 1] == -1 and band_of[edges[-1]] == -1
    assert all(band_of[edges[b]] == b and band_of[edges[b + 1] - 1] == b for b in range(len(edges) - 1))
    # a steady 3.1 kHz tone (bin 99: band 10) and one at 5.5 kHz (bin 176: band 14) are followed there
    x = (gated(3100.0, ((1.0, 0.0),), 3.0) // 2 + gated(5500.0, ((1.0, 0.0),), 3.0, seed=1) // 2).astype(np.int16)
    _codes, masks = alarm_tone.detect_audio_bands(x, edges=edges)
    assert masks[0] == 0 and masks[-1] == (1 << 10) | (1 << 14), bin(int(masks[-1]))
    assert np.array_equal(alarm_tone.detect_audio(x), _codes)
    assert not alarm_tone.detect_audio_bands(x)[1].any()  # no edges: no bands


def test_the_band_detectors_t4_counts_where_a_tone_is_followed() -> None:
    """code_windows hands the code detector each frame's tone bands: a T4 of chirps (no tone) is heard by the band
    detector alone, and not once the tone detector's (empty) bands gate it; a steady tone in the chirps' band lets
    it through (tests/esphome/test_alarm_tone_host_node.py replays the same on a host node)."""
    from node_factory.evaluation.node_stream import code_windows, stream_features

    cfg = FeatureConfig()
    for samples, heard in ((t4_of_chirps(), False), (t4_of_chirps(3100.0), True)):
        frames = stream_features(samples, cfg)
        tone, bands = alarm_tone.detect_audio_bands(samples, edges=cfg.band_edges)
        assert not tone.any()
        assert 2 in code_windows(frames, cfg, 16, (1, 2))
        assert (2 in code_windows(frames, cfg, 16, (1, 2), tone, bands)) is heard


def test_without_the_t4_path_the_band_detectors_t4_needs_no_tone() -> None:
    """`co_tone: false` holds no tone through T4's silence, so the band detector's T4 is not gated (the node's
    events, as the benchmarks compute them): the chirps are CO there, and not with the T4 path on."""
    from node_factory.evaluation.generalization import Protocol, node_alarm_events
    from node_factory.evaluation.node_stream import stream_features

    cfg, classes = FeatureConfig(), ("background", "smoke_alarm", "co_alarm")
    samples = t4_of_chirps()
    frames = stream_features(samples, cfg)
    for co_tone, heard in ((True, False), (False, True)):
        events = node_alarm_events(samples, frames, classes, cfg, Protocol(hop_frames=16, co_tone=co_tone))
        assert any(c == 2 for c, _w in events) is heard, co_tone


def reverberant(x: NDArray[np.int16], rt60_s: float) -> NDArray[np.int16]:
    """x through an exponentially decaying noise tail (a room's late reverberation, 60 dB in rt60_s); also the T4
    prototype's tests'."""

    t = np.arange(int(rt60_s * SR)) / SR
    tail = np.random.default_rng(3).standard_normal(len(t)) * 10 ** (-3 * t / rt60_s)
    tail[0] = 8.0  # the direct sound
    wet = fftconvolve(x.astype(np.float64), tail)[: len(x)]
    return np.clip(np.round(wet / np.max(np.abs(wet)) * 12000), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize(("tone_hz", "square"), [(3100.0, False), (3100.0, True), (520.0, True), (3450.0, False)])
def test_a_t4_code_is_heard_within_ten_seconds(tone_hz: float, square: bool) -> None:
    x = gated(tone_hz, T4, 14.0, square=square)
    times = heard_at(x, alarm_tone.T4)
    assert times and 1.0 < times[0] <= 11.0, times
    assert heard_at(x, alarm_tone.T3) == []


def test_a_t4_code_is_heard_through_a_reverberant_room() -> None:
    # a 0.1 s off-time in a room with RT60 1 s falls 6-14 dB, not to the noise floor: the dip is 4 dB
    times = heard_at(reverberant(gated(3100.0, T4, 14.0), 1.0), alarm_tone.T4)
    assert times and 1.0 < times[0] <= 11.0, times


def test_a_t4_code_is_heard_when_the_room_builds_the_tone_up() -> None:
    # the rise is the burst, not the silence before it (it was taken for one until 2026-12-05)
    times = heard_at(built_up_t4(), alarm_tone.T4)
    assert times and 1.0 < times[0] <= 11.0, times


# (pattern, seconds) of rhythms that are not T4; also the T4 prototype's tests'
NOT_T4 = [
    (T3, 20.0),  # temporal-three: smoke, not CO
    ([(14.0, 0.0)], 14.0),  # a steady tone
    ([(0.1, 0.1)], 14.0),  # beeping at T4's pulse rate without its silences
    (T4, 5.5),  # one burst: the code needs two
    ([(0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 2.5)], 14.0),  # bursts too close together
    ([(0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 8.0)], 20.0),  # too far apart
]


@pytest.mark.parametrize(("pattern", "seconds"), NOT_T4)
def test_other_rhythms_are_not_a_t4_code(pattern: list[tuple[float, float]], seconds: float) -> None:
    assert heard_at(gated(3100.0, pattern, seconds), alarm_tone.T4) == []


def test_noise_alone_is_not_a_t4_code() -> None:
    noise = np.random.default_rng(7).normal(0, 2000, 20 * SR)
    assert heard_at(np.round(noise).astype(np.int16), alarm_tone.T4) == []


def test_the_t4_silence_must_be_quiet() -> None:
    # the same tone sounding 2-3 s into the silence, 2.5 dB under the bursts (GAP: 6 dB): not the code's silence
    x = gated(3100.0, T4, 14.0).astype(np.float64)
    t = np.arange(len(x)) / SR
    fill = (t > 3.0) & (t < 4.0)
    x[fill] += 6000 * np.sin(2 * np.pi * 3100 * t[fill])
    assert heard_at(np.clip(np.round(x), -32768, 32767).astype(np.int16), alarm_tone.T4) == []


@pytest.mark.parametrize(("quieter_db", "heard"), [(5.0, True), (12.0, False)])
def test_the_two_bursts_must_be_about_as_loud(quieter_db: float, heard: bool) -> None:
    # PAIR_SPREAD (6 dB): a second burst 5 dB quieter is one sounder whose pitch moved through the room's response
    # (refused under the 4.5 dB before 2026-12-07); 12 dB quieter is two sounds, not one alarm's code
    x = gated(3100.0, T4, 8.0).astype(np.float64)
    t = np.arange(len(x)) / SR
    x[t > 4.0] /= 10 ** (quieter_db / 20)
    assert bool(heard_at(np.round(x).astype(np.int16), alarm_tone.T4)) is heard


def test_a_later_burst_has_at_least_the_earlier_ones_pulses() -> None:
    # the channel heard all four pulses of the first burst: a second burst of three is not the same sounder's
    # (a melody's figures; Debian `dev` music, 2026-12-05), one of four is
    assert heard_at(gated(3100.0, after_a_full_burst(3), 13.0), alarm_tone.T4) == []
    times = heard_at(gated(3100.0, after_a_full_burst(4), 13.0), alarm_tone.T4)
    assert times and 8.0 < times[0] <= 11.0, times


def test_a_channel_with_a_burst_is_held_through_the_silence() -> None:
    # after one burst the tone is silent: its score falls under RELEASE after 2.6 s, but the channel waits for
    # a partner until PAIR[1] + DECIDE frames after the burst's last pulse, then goes
    detector = alarm_tone.AlarmToneDetector()
    x = gated(3100.0, T4, 12.0, start=1.0)[: int(6.0 * SR)]
    silence = np.round(np.random.default_rng(9).normal(0, 300, 8 * SR)).astype(np.int16)
    alarm_tone.detect_audio(x[: int(5.0 * SR)], detector)  # 3.3 s after the burst's end
    held = [ch for ch in detector.channels if ch is not None]
    assert held and all(ch.pending for ch in held)
    assert all(detector.score[ch.bin - alarm_tone.LOW_BIN] < alarm_tone.RELEASE for ch in held)
    alarm_tone.detect_audio(np.concatenate([x[int(5.0 * SR) :], silence]), detector)
    assert all(ch is None for ch in detector.channels)


def test_with_t4_off_a_t4_code_is_not_heard_and_no_channel_is_held() -> None:
    # the node's `co_tone: false`: T3 only; after one T4 burst nothing waits for a partner
    detector = alarm_tone.AlarmToneDetector(t4=False)
    assert not alarm_tone.detect_audio(gated(3100.0, T4, 14.0), detector).any()
    alarm_tone.detect_audio(gated(3100.0, T4, 5.0), detector)
    assert all(ch is None or not (ch.pending or ch.pulses) for ch in detector.channels)
    # and T3 as with it on, frame for frame
    x = gated(3100.0, T3, 14.0)
    with_t4 = alarm_tone.detect_audio(x)
    assert (with_t4 == alarm_tone.T3).any()
    assert np.array_equal(alarm_tone.detect_audio(x, alarm_tone.AlarmToneDetector(t4=False)), with_t4)


def test_a_tones_pitch_is_read_between_bins() -> None:
    """read_pitch on pure tones through the node's FFT, 450 Hz - 4 kHz at two levels: within 2.5 Hz (a bin is
    31.25 Hz), so the gate's 1 % margin at 468 Hz (4.7 Hz) holds the reading's error."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for hz in np.linspace(450.0, 4000.0, 90):
        for amplitude in (2000.0, 12000.0):
            t = np.arange(8 * alarm_tone.FRAME) / SR
            x = amplitude * np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 30, len(t))
            power = alarm_tone.hann_power(*fft_q15(np.round(x).astype(np.int16).reshape(-1, alarm_tone.FRAME)))
            level = log2_q3(power)
            for frame in level[2:]:
                loudest = int(np.argmax(frame)) + alarm_tone.FIRST
                pitch_hz = alarm_tone.read_pitch(frame, loudest) * 31.25 / alarm_tone.PITCH_STEPS
                worst = max(worst, abs(pitch_hz - hz))
    assert 0.0 < worst < 2.5, worst


@pytest.mark.parametrize(
    ("hz", "admitted"),
    [(520.0, True), (466.0, True), (576.0, True), (460.0, False), (580.0, False), (750.0, False), (1040.0, True),
     (1160.0, False), (1174.0, False), (1312.0, False), (1560.0, True), (1800.0, False), (2080.0, True),
     (2320.0, True), (3100.0, True), (6000.0, True)],
)  # fmt: skip
def test_the_admitted_pitches_are_a_sounders(hz: float, admitted: bool) -> None:
    """520 Hz +-10 % and its harmonics (1 % margin), everything from the 5th harmonic's range up (piezo sounders)."""
    assert alarm_tone.admitted(round(hz * alarm_tone.PITCH_STEPS / 31.25)) is admitted


@pytest.mark.parametrize(("tone_hz", "pattern", "code"), [(1250.0, T3, alarm_tone.T3), (1250.0, T4, alarm_tone.T4)])
def test_codes_count_only_on_a_sounders_pitch(tone_hz: float, pattern: list[tuple[float, float]], code: int) -> None:
    """A code on a 1,250 Hz tone (between 2 x 572 and 3 x 468 Hz: no smoke or CO sounder's) is not one; with the
    gate off (`alarm_pitch: false`) it is, and on the low-frequency sounder's 2nd harmonic (1,040 Hz) it is."""
    x = gated(tone_hz, pattern, 14.0 if code == alarm_tone.T3 else 13.0)
    assert not (alarm_tone.detect_audio(x) == code).any()
    assert (alarm_tone.detect_audio(x, alarm_tone.AlarmToneDetector(pitch_gate=False)) == code).any()
    harmonic = gated(1040.0, pattern, 14.0 if code == alarm_tone.T3 else 13.0)
    assert (alarm_tone.detect_audio(harmonic) == code).any()


def test_the_bands_of_tones_off_a_sounders_pitch_are_not_handed_on() -> None:
    """The band detector's T4 needs a followed tone at a sounder's pitch: a steady 1,250 Hz tone is no band's."""
    edges = FeatureConfig().band_edges
    x = gated(1250.0, ((1.0, 0.0),), 3.0)
    assert not alarm_tone.detect_audio_bands(x, edges=edges)[1].any()
    assert alarm_tone.detect_audio_bands(x, alarm_tone.AlarmToneDetector(pitch_gate=False), edges=edges)[1][-1]
