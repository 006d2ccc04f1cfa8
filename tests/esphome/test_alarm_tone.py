"""The node's tone-following T3/T4 detector (binmoe_alarm_tone.cpp, compiled on the host, fed by the kernel's own
FFT) against its Python reference (node_factory.reference.alarm_tone), frame for frame and code for code:
streams with T3 and T4 alarms on tones of every pitch and shape (also drifting, split by notches), other
rhythms, notes, chirps, clicks and noise at random levels, one long enough for the 16-bit frame clock to wrap."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from node_factory.reference import alarm_tone
from node_factory.reference.features import FeatureConfig, twiddles_q15
from tests.node_factory import component_harness
from tests.node_factory.alarm_signals import T3, after_a_full_burst, built_up_t4, gated, t4_among_converging_tones

COMPONENT = component_harness.COMPONENT
SR = 16_000


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("alarm_tone")
    exe = component_harness.build(out, "alarm_tone_harness", "binmoe_alarm_tone.cpp")
    _cos, sin = twiddles_q15(alarm_tone.FRAME)
    tables = out / "tables.txt"
    quarter = " ".join(str(int(v)) for v in sin[: alarm_tone.FRAME // 4 + 1])
    tables.write_text(quarter + "\n" + " ".join(map(str, FeatureConfig().band_edges)) + "\n")
    return exe, tables


def node_frames(
    harness: tuple[Path, Path], samples: NDArray[np.int16], t4: bool = True, pitch_gate: bool = True
) -> NDArray[np.int8]:
    """The code the node's detector completes in each frame (0 none, 1 T3, 2 T4); `t4` False: as `co_tone: false`;
    `pitch_gate` False: as `alarm_pitch: false`."""
    exe, tables = harness
    args = [*([] if t4 else ["t3-only"]), *([] if pitch_gate else ["any-pitch"])]
    out = subprocess.run([str(exe), str(tables), *args], input=samples.astype("<i2").tobytes(), capture_output=True,
                         check=True)  # fmt: skip
    return (np.frombuffer(out.stdout.strip(), dtype=np.uint8) - ord("0")).astype(np.int8)


def as_the_reference(
    harness: tuple[Path, Path], samples: NDArray[np.int16], t4: bool = True, pitch_gate: bool = True
) -> NDArray[np.int8]:
    """The reference's codes per frame, after checking that the node completes the same in every frame."""
    ref = alarm_tone.detect_audio(samples, alarm_tone.AlarmToneDetector(t4=t4, pitch_gate=pitch_gate))
    assert np.array_equal(node_frames(harness, samples, t4=t4, pitch_gate=pitch_gate), ref)
    return ref


def random_stream(seed: int, seconds: float) -> NDArray[np.int16]:
    """Noise with a drifting level; T3 alarms (sine or square, 500 Hz - 4 kHz, some drifting, some with notched
    pulses), T4, beeps once a second, notes on a beat, chirps, steady tones and clicks at random levels."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    floor = 10 ** (np.repeat(np.cumsum(rng.normal(0, 0.05, n // SR + 1)), SR)[:n] % 2.5 + 0.5)
    x = floor * rng.standard_normal(n)
    t3 = [(0.5, 0.5), (0.5, 0.5), (0.5, 1.5)]
    t4 = [(0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 5.0)]
    at = 0.0
    while at < seconds - 1:
        kind = int(rng.integers(8))
        length = float(rng.uniform(3, 16))
        a, b = int(at * SR), min(n, int((at + length) * SR))
        t = np.arange(b - a) / SR
        f = float(rng.uniform(500, 4000)) * (1 + rng.uniform(-0.03, 0.03) * t / max(length, 1) * (kind == 1))
        tone = np.sin(2 * np.pi * f * t)
        if rng.random() < 0.4:
            tone = np.sign(tone) * 0.5
        pattern = {0: t3, 1: t3, 2: t4, 3: [(0.5, 0.5)], 4: [(0.5, 0.2), (0.2, 0.1)], 5: [(length, 0.0)]}.get(kind)
        gate = np.zeros_like(t)
        if pattern is not None:
            g = float(rng.uniform(0, 0.3))
            while g < length:
                for on, off in pattern:
                    on_s, off_s = on * rng.uniform(0.9, 1.1), off * rng.uniform(0.9, 1.1)
                    gate[int(g * SR) : int((g + on_s) * SR)] = 1.0
                    if kind == 0 and rng.random() < 0.3:  # a notch splits the pulse
                        cut = int((g + on_s * 0.6) * SR)
                        gate[cut : cut + 1024] = 0.1
                    g += on_s + off_s
            x[a:b] += 10 ** rng.uniform(1.5, 4.3) * tone * gate
        elif kind == 6:  # a chirp
            x[a:b] += 10 ** rng.uniform(2, 4) * np.sin(2 * np.pi * (500 + 300 * t) * t)
        else:  # clicks
            for c in rng.integers(a, b, 20):
                x[c : c + 40] += 10 ** rng.uniform(3, 4.5) * rng.standard_normal(len(x[c : c + 40]))
        at += length + float(rng.uniform(0, 3))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def test_the_constants_are_the_references() -> None:
    source = (COMPONENT / "binmoe_alarm_tone.cpp").read_text() + (COMPONENT / "binmoe_alarm_tone.h").read_text()
    for name, value in {"PEAK": alarm_tone.PEAK, "GAIN": alarm_tone.GAIN, "CREATE": alarm_tone.CREATE,
                        "RELEASE": alarm_tone.RELEASE, "SCORE_MAX": alarm_tone.SCORE_MAX, "MERGE": alarm_tone.MERGE,
                        "RISE": alarm_tone.RISE, "END": alarm_tone.END, "END_FRAMES": alarm_tone.END_FRAMES,
                        "GAP": alarm_tone.GAP, "SPREAD": alarm_tone.SPREAD, "TAIL": alarm_tone.TAIL,
                        "PULSE_MIN": alarm_tone.PULSE[0], "PULSE_MAX": alarm_tone.PULSE[1],
                        "SHORT_MIN": alarm_tone.SHORT[0], "SHORT_MAX": alarm_tone.SHORT[1],
                        "LONG_MIN": alarm_tone.LONG[0], "LONG_MAX": alarm_tone.LONG[1],
                        "LONG_FROM": alarm_tone.LONG_FROM, "MATCH": alarm_tone.MATCH,
                        "LENGTH_SPREAD": alarm_tone.LENGTH_SPREAD, "BIN_SPREAD": alarm_tone.BIN_SPREAD,
                        "MAX_CHANNELS": alarm_tone.MAX_CHANNELS, "RING": alarm_tone.RING,
                        "LOW_BIN": alarm_tone.LOW_BIN, "HIGH_BIN": alarm_tone.HIGH_BIN,
                        "FLOOR_HALF": alarm_tone.FLOOR_HALF, "FRAME": alarm_tone.FRAME,
                        "SPACING_MIN": alarm_tone.SPACING[0], "SPACING_MAX": alarm_tone.SPACING[1],
                        "DIP": alarm_tone.DIP, "SPREAD_T4": alarm_tone.SPREAD_T4, "END_WITHIN": alarm_tone.END_WITHIN,
                        "BURST_PULSES": alarm_tone.BURST_PULSES, "FRESH_PULSES": alarm_tone.FRESH_PULSES,
                        "BURST_MAX": alarm_tone.BURST_MAX, "PAIR_MIN": alarm_tone.PAIR[0],
                        "PAIR_MAX": alarm_tone.PAIR[1], "DECAY": alarm_tone.DECAY,
                        "GAP_T4": alarm_tone.GAP_T4, "PAIR_SPREAD": alarm_tone.PAIR_SPREAD,
                        "FRESH_UNTIL": alarm_tone.FRESH_UNTIL, "NONE": alarm_tone.NONE,
                        "T3": alarm_tone.T3, "T4": alarm_tone.T4, "LF_LOW": alarm_tone.LF_HZ[0],
                        "LF_HIGH": alarm_tone.LF_HZ[1], "PITCH_MARGIN": alarm_tone.PITCH_MARGIN,
                        "LF_HARMONICS": alarm_tone.LF_HARMONICS, "PITCH_STEPS": alarm_tone.PITCH_STEPS,
                        "PITCH_TOP": alarm_tone.PITCH_TOP}.items():  # fmt: skip
        assert re.search(rf"\b{name} = {value}\b", source), name


def test_the_node_admits_the_references_pitches(harness: tuple[Path, Path]) -> None:
    """Every pitch of 0-4095 sixteenths of a bin (0-8 kHz): a sounder's on the node exactly where in the reference."""
    exe, _tables = harness
    out = subprocess.run([str(exe), "admitted"], capture_output=True, text=True, check=True).stdout.strip()
    ref = "".join("1" if alarm_tone.admitted(p) else "0" for p in range(4096))
    assert out == ref
    assert 0 < ref.count("1") < 4096 and "01" in ref and "10" in ref  # gaps and ranges both exercised


@pytest.mark.parametrize("seed", [1, 2])
def test_the_node_matches_the_reference_frame_for_frame(harness: tuple[Path, Path], seed: int) -> None:
    samples = random_stream(seed, 600.0)
    got = node_frames(harness, samples)
    ref = alarm_tone.detect_audio(samples)
    assert len(got) == len(ref)
    mismatch = np.nonzero(got != ref)[0]
    assert len(mismatch) == 0, f"first mismatch at frame {mismatch[0]}: node {got[mismatch[0]]}, reference"
    # the streams exercise what is compared: both codes are heard, many times
    assert (ref == alarm_tone.T3).sum() >= 5 and (ref == alarm_tone.T4).sum() >= 3, np.bincount(ref)


def test_the_nodes_tone_bands_are_the_references_frame_for_frame(harness: tuple[Path, Path]) -> None:
    """The bands holding a followed tone each frame (what the alarm-code detector's T4 needs), on both sides."""
    samples = random_stream(4, 300.0)
    exe, tables = harness
    out = subprocess.run([str(exe), str(tables), "bands"], input=samples.astype("<i2").tobytes(), capture_output=True,
                         check=True, text=False)  # fmt: skip
    got = np.array([[int(v) for v in line.split()] for line in out.stdout.decode().splitlines()])
    codes, masks = alarm_tone.detect_audio_bands(samples, edges=FeatureConfig().band_edges)
    assert np.array_equal(got[:, 0], codes)
    mismatch = np.nonzero(got[:, 1] != masks)[0]
    assert len(mismatch) == 0, f"first mismatch at frame {mismatch[0]}: node {got[mismatch[0], 1]}, ref"
    # the stream exercises the masks: tones in many bands, several at once, and frames with none
    bits = np.array([[(int(m) >> b) & 1 for b in range(16)] for m in masks])
    assert (bits.sum(axis=0) > 0).sum() >= 8 and (bits.sum(axis=1) >= 2).any() and (masks == 0).any()


def test_the_node_matches_the_reference_across_the_frame_clock_wrap(harness: tuple[Path, Path]) -> None:
    samples = random_stream(3, 2200.0)  # 68,750 frames: the 16-bit frame clock wraps once
    got = node_frames(harness, samples)
    ref = alarm_tone.detect_audio(samples)
    assert len(ref) > 65_536
    mismatch = np.nonzero(got != ref)[0]
    assert len(mismatch) == 0, f"first mismatch at frame {mismatch[0]}"
    assert (ref[65_536:] > 0).sum() >= 1 and (ref > 0).sum() >= 20, ((ref[65_536:] > 0).sum(), (ref > 0).sum())


def test_a_t3_tone_is_heard_and_silence_is_not(harness: tuple[Path, Path]) -> None:
    t = np.arange(14 * SR) / SR
    gate = np.zeros_like(t)
    for k in range(20):  # T3 from 1 s: onsets at 1, 2, 3, 5, 6, 7, 9, ...
        on = 1.0 + (k // 3) * 4.0 + (k % 3)
        gate[int(on * SR) : int((on + 0.5) * SR)] = 1.0
    tone = np.round(8000 * np.sin(2 * np.pi * 3100 * t) * gate).astype(np.int16)
    heard = node_frames(harness, tone) == alarm_tone.T3
    assert heard.any() and np.argmax(heard) * alarm_tone.FRAME / SR <= 11.0
    assert not node_frames(harness, np.zeros(14 * SR, dtype=np.int16)).any()


def test_pulses_out_of_t3_order_are_not_a_code_on_the_node(harness: tuple[Path, Path]) -> None:
    """A beat of alternating 1 s and 2 s intervals (short, long, short, long: T3's intervals, not its order,
    which the detector heard as T3 before the order rule), then a T3 alarm: the node hears only the alarm, frame
    for frame as the reference."""
    t = np.arange(34 * SR) / SR
    gate = np.zeros_like(t)
    on = 1.0
    while on < 20.0:  # onsets 1, 2, 4, 5, 7, 8, ... at 1500 Hz
        gate[int(on * SR) : int((on + 0.5) * SR)] = 1.0
        on += 1.0 if round(on) % 3 == 1 else 2.0
    beat = np.sin(2 * np.pi * 1500 * t) * gate
    alarm = np.zeros_like(t)
    for k in range(9):  # T3 from 21 s: onsets 21, 22, 23, 25, 26, 27, 29, 30, 31
        on = 21.0 + (k // 3) * 4.0 + (k % 3)
        alarm[int(on * SR) : int((on + 0.5) * SR)] = np.sin(2 * np.pi * 3100 * t[int(on * SR) : int((on + 0.5) * SR)])
    samples = np.round(8000 * (beat + alarm) + np.random.default_rng(4).normal(0, 300, len(t))).astype(np.int16)
    ref = as_the_reference(harness, samples)
    heard_s = np.nonzero(ref)[0] * alarm_tone.FRAME / SR
    assert len(heard_s) and heard_s.min() > 21.0 and heard_s.min() <= 31.0, heard_s


def test_a_t4_code_the_room_builds_up_is_heard_as_the_reference(harness: tuple[Path, Path]) -> None:
    # each burst rises for 0.2 s into its second pulse: the silence before it is taken before that rise
    samples = built_up_t4()
    ref = as_the_reference(harness, samples)
    assert (ref == alarm_tone.T4).any()


def test_channels_on_one_tone_become_one_on_the_node_as_in_the_reference(harness: tuple[Path, Path]) -> None:
    # twelve tones take every channel and glide in pairs onto six: the node releases one channel of each pair
    # as the reference does, and a T4 alarm starting later finds a slot
    samples = t4_among_converging_tones()
    ref = as_the_reference(harness, samples)
    assert (ref == alarm_tone.T4).any()


@pytest.mark.parametrize(("second", "heard"), [(3, False), (4, True)])
def test_a_later_burst_needs_the_earlier_ones_pulses_on_the_node_as_in_the_reference(
    harness: tuple[Path, Path], second: int, heard: bool
) -> None:
    # four pulses heard, then a burst of three is not the code's partner; one of four is
    samples = gated(3100.0, after_a_full_burst(second), 13.0)
    ref = as_the_reference(harness, samples)
    assert (ref == alarm_tone.T4).any() == heard


def test_with_t4_off_the_node_hears_t3_only_as_the_reference(harness: tuple[Path, Path]) -> None:
    # `co_tone: false`: the same stream, T4 codes gone and T3 codes as before, frame for frame as the reference
    samples = random_stream(1, 300.0)
    ref = as_the_reference(harness, samples, t4=False)
    assert (ref == alarm_tone.T3).sum() >= 3 and not (ref == alarm_tone.T4).any()
    assert (alarm_tone.detect_audio(samples) == alarm_tone.T4).any()


def test_with_the_pitch_gate_off_the_node_hears_codes_on_any_tone_as_the_reference(harness: tuple[Path, Path]) -> None:
    # `alarm_pitch: false`: the random stream's alarms on every pitch count, frame for frame as the reference, and
    # some of them are codes the gate (on by default) does not let through
    samples = random_stream(2, 600.0)
    ref = as_the_reference(harness, samples, pitch_gate=False)
    gated_ref = alarm_tone.detect_audio(samples)
    assert ((ref > 0) & (gated_ref == 0)).sum() >= 2, ((ref > 0).sum(), (gated_ref > 0).sum())


@pytest.mark.parametrize(("hz", "heard"), [(1250.0, False), (1040.0, True)])
def test_a_t3_code_counts_on_a_sounders_pitch_only_on_the_node_as_in_the_reference(
    harness: tuple[Path, Path], hz: float, heard: bool
) -> None:
    # 1,250 Hz is no smoke or CO sounder's pitch; 1,040 Hz is the 520 Hz sounder's 2nd harmonic
    samples = gated(hz, T3, 14.0)
    assert bool((as_the_reference(harness, samples) == alarm_tone.T3).any()) is heard
    assert (as_the_reference(harness, samples, pitch_gate=False) == alarm_tone.T3).any()
