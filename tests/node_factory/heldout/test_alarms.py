"""Alarm timing and sounder spectra, measured on rendered int16 clips (not read back from the metadata)."""

from __future__ import annotations

import numpy as np
import pytest

from node_factory.heldout import generate_sound_clips
from node_factory.heldout.measure import dominant_frequency, envelope, peak_level_db, pulses
from node_factory.heldout.sound.alarms import (
    LF_NOMINAL_HZ,
    T3_LONG_OFF_S,
    T3_OFF_S,
    T3_ON_S,
    T4_LONG_OFF_S,
    T4_OFF_S,
    T4_ON_S,
)

SR = 16000
TOL = 0.10  # ISO 8201 / ANSI S3.41 / NFPA 72 (T3) and UL 2034 / NFPA 720 (T4): every phase ±10 %
CLEAN = {"clean": True, "voice": False, "interconnected": False, "through_wall": False}


def _measured_pulses(clip, smooth_s: float = 0.001, threshold: float = 0.5, min_gap_s: float = 0.02) -> np.ndarray:
    f0 = clip.meta["target"]["devices"][0]["sounder"]["f0"]
    env = envelope(clip.audio.astype(float), SR, (0.8 * f0, 1.2 * f0), smooth_s=smooth_s)
    return pulses(env, SR, threshold_ratio=threshold, min_gap_s=min_gap_s)


def _phases(p: np.ndarray, pulses_per_group: int, seconds: float) -> tuple[list[float], list[float], list[float]]:
    """on, short-off and long-off durations of the pulses lying wholly inside the clip."""
    inside = [(a, b) for a, b in p if a > 0.005 and b < seconds - 0.005]
    on = [b - a for a, b in inside]
    gaps = [inside[i + 1][0] - inside[i][1] for i in range(len(inside) - 1)]
    short_gaps = [g for g in gaps if g < 1.0]
    long_gaps = [g for g in gaps if g >= 1.0]
    return on, short_gaps, long_gaps


@pytest.mark.parametrize("sounder", ["piezo", "lf520"])
def test_t3_timing_within_tolerance(sounder: str) -> None:
    clips = generate_sound_clips(11, 6, seconds=10.0, classes=["smoke_alarm"], overrides={**CLEAN, "sounder": sounder})
    n_long = 0
    for clip in clips:
        on, off, long_off = _phases(_measured_pulses(clip), 3, 10.0)
        assert len(on) >= 6, clip.meta["id"]
        assert all(abs(x / T3_ON_S - 1) <= TOL for x in on), (clip.meta["id"], on)
        assert all(abs(x / T3_OFF_S - 1) <= TOL for x in off), (clip.meta["id"], off)
        assert all(abs(x / T3_LONG_OFF_S - 1) <= TOL for x in long_off), (clip.meta["id"], long_off)
        n_long += len(long_off)
    assert n_long >= 6  # the 1.5 s phase really was measured


def test_t4_timing_within_tolerance() -> None:
    clips = generate_sound_clips(12, 8, seconds=12.0, classes=["co_alarm"], overrides=CLEAN)
    n_long = 0
    for clip in clips:
        on, off, long_off = _phases(_measured_pulses(clip), 4, 12.0)
        assert len(on) >= 4, clip.meta["id"]
        assert all(abs(x / T4_ON_S - 1) <= TOL for x in on), (clip.meta["id"], on)
        assert all(abs(x / T4_OFF_S - 1) <= TOL for x in off), (clip.meta["id"], off)
        assert all(abs(x / T4_LONG_OFF_S - 1) <= TOL for x in long_off), (clip.meta["id"], long_off)
        n_long += len(long_off)
    assert n_long >= 5


def test_t3_pulse_period_survives_room_and_noise() -> None:
    """Reverberation smears pulse ends and room modes make the drifting tone flutter, but pulse starts keep
    the 1.0 s on+off period within tolerance."""
    ov = {
        "voice": False,
        "interconnected": False,
        "sounder": "piezo",
        "snr_db": 25.0,
        "distance_m": 0.7,
        "rt60_s": 0.4,
        "noise_kinds": ["pink"],
    }
    for clip in generate_sound_clips(13, 4, seconds=10.0, classes=["smoke_alarm"], overrides=ov):
        starts = [a for a, _ in _measured_pulses(clip, 0.01, 0.3, 0.15) if a > 0.005]
        periods = np.diff(starts)
        short = periods[periods < 1.5]
        assert len(short) >= 3, (clip.meta["id"], starts)
        assert np.all(np.abs(short / (T3_ON_S + T3_OFF_S) - 1) <= TOL), (clip.meta["id"], short)


def test_piezo_sounder_has_harmonics() -> None:
    clips = generate_sound_clips(14, 8, classes=["smoke_alarm", "co_alarm"], overrides={**CLEAN, "sounder": "piezo"})
    for clip in clips:
        x = clip.audio.astype(float)
        f0_meta = clip.meta["target"]["devices"][0]["sounder"]["f0"]
        f0 = dominant_frequency(x, SR, 2500, 4000)
        assert 2900 * 0.98 <= f0 <= 3600 * 1.02
        assert abs(f0 / f0_meta - 1) < 0.02  # the drift and warble stay small
        fund = peak_level_db(x, SR, f0)
        second = peak_level_db(x, SR, 2 * f0)
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
        floor = 10 * np.log10(np.median(spec) + 1e-30)
        assert second > floor + 20, (clip.meta["id"], second - floor)
        assert -40 < second - fund < -5, (clip.meta["id"], second - fund)


def test_low_frequency_sounder_520hz() -> None:
    clips = generate_sound_clips(15, 8, classes=["smoke_alarm"], overrides={**CLEAN, "sounder": "lf520"})
    for clip in clips:
        x = clip.audio.astype(float)
        f0 = dominant_frequency(x, SR, 300, 800)
        assert abs(f0 / LF_NOMINAL_HZ - 1) <= 0.10, f0
        levels = {k: peak_level_db(x, SR, k * f0, rel_bw=0.01) for k in (1, 2, 3, 4, 5)}
        # a square wave: odd harmonics strong, even ones weak
        assert levels[3] > levels[2] + 10 and levels[5] > levels[4] + 10, levels
        assert levels[1] - 15 < levels[3] < levels[1], levels
