"""The node's alarm-code detector (binmoe_alarm_code.cpp, compiled on the host) against its Python reference
(node_factory.reference.alarm_code), frame for frame: streams with T3 and T4 alarms, beeps, notes and noise
at random levels, long enough for the 16-bit frame clock to wrap."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from node_factory.reference import alarm_code
from tests.node_factory import component_harness

COMPONENT = component_harness.COMPONENT


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return component_harness.build(tmp_path_factory.mktemp("alarm_code"), "alarm_code_harness", "binmoe_alarm_code.cpp")


def node_codes(exe: Path, frames: np.ndarray, bands: int = 16, tone_bands: np.ndarray | None = None) -> list[int]:
    script = [f"bands {bands}"]
    for i, row in enumerate(frames):
        if tone_bands is not None:
            script.append(f"tones {int(tone_bands[i])}")
        script.append(f"push {' '.join(map(str, row))}")
    out = subprocess.run([str(exe)], input="\n".join(script) + "\n", capture_output=True, text=True, check=True)
    lines = out.stdout.split()
    assert lines[0] == "1"
    return [int(v) for v in lines[1:]]


def pulses(rng: np.random.Generator, frames: np.ndarray, band: int, start: int, pattern: list[tuple[float, float]],
           cycles: int, level: float, missing: int = -1) -> None:  # fmt: skip
    """The pattern's pulses in `band` from frame `start` (timings ±10 %), all but the `missing`-th."""
    t, k = float(start), 0
    for _ in range(cycles):
        for on, off in pattern:
            on_f, off_f = (
                on / alarm_code.FRAME_S * rng.uniform(0.9, 1.1),
                off / alarm_code.FRAME_S * rng.uniform(0.9, 1.1),
            )
            a, b = int(t), int(t + on_f)
            if a >= len(frames):
                return
            if k != missing:
                frames[a:b, band] = level + rng.normal(0, 2, max(0, min(b, len(frames)) - a))
            t += on_f + off_f
            k += 1


def random_stream(seed: int, n: int) -> np.ndarray:
    """Noise with drifting levels, alarms of both codes in random bands (T4 also with a pulse missing), and
    T4 bursts showing two pulses each; lookalikes: single beeps, fast beep trains, notes on a beat."""
    rng = np.random.default_rng(seed)
    floor = np.cumsum(rng.normal(0, 0.3, n))[:, None] % 30 - 60
    frames = floor + rng.normal(0, 2, (n, 16))
    t3 = [(0.5, 0.5), (0.5, 0.5), (0.5, 1.5)]
    t4 = [(0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 5.0)]
    for _ in range(n // 800):
        kind = rng.integers(7)
        start, band, level = int(rng.integers(0, n)), int(rng.integers(0, 16)), float(rng.uniform(-30, 40))
        if kind == 0:
            pulses(rng, frames, band, start, t3, int(rng.integers(1, 6)), level)
        elif kind == 1:
            pulses(rng, frames, band, start, t4, int(rng.integers(1, 5)), level)
        elif kind == 2:  # a fast beep train
            pulses(rng, frames, band, start, [(rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3))], 8, level)
        elif kind == 3:  # notes on a one-second beat, with something in between
            pulses(rng, frames, band, start, [(0.5, 0.2), (0.2, 0.1)], 6, level)
        elif kind == 5:  # T4 with one pulse of its first bursts missing
            pulses(rng, frames, band, start, t4, int(rng.integers(2, 5)), level, int(rng.integers(0, 8)))
        elif kind == 6:  # T4 bursts blurred by a room: two pulses of each show
            pulses(rng, frames, band, start, [(0.1, 0.3), (0.1, 5.2)], int(rng.integers(1, 4)), level)
        else:  # a broadband burst
            frames[start : start + int(rng.integers(2, 20)), :] += rng.uniform(10, 40)
    return np.clip(np.round(frames), -128, 127).astype(np.int8)


def test_the_constants_are_the_references(detector: Path) -> None:
    source = (COMPONENT / "binmoe_alarm_code.cpp").read_text()
    periods = {name: [(int(a), int(b)) for a, b in re.findall(r"\{(\d+), (\d+)\}", body)]
               for name, body in re.findall(r"constexpr Interval (T\d_PERIOD)\[\] = \{(.*?)\};", source)}  # fmt: skip
    assert periods["T3_PERIOD"] == [(i.low, i.high) for i in alarm_code.T3_PERIOD]
    assert periods["T4_PERIOD"] == [(i.low, i.high) for i in alarm_code.T4_PERIOD]
    shapes = re.findall(r"\{\{(\d+), (\d+)\}, (\d+), (\d+), (\d+), T\d_PERIOD, (\d+), (\d+), (\d+)\}", source)
    ref = [(alarm_code.T3_PULSE, *alarm_code.CODES[0][1:], 3, *alarm_code.PERIODS[0][1:]),
           (alarm_code.T4_PULSE, *alarm_code.CODES[1][1:], 4, *alarm_code.PERIODS[1][1:])]  # fmt: skip
    assert [tuple(map(int, s)) for s in shapes] == [(p.low, p.high, d, f, t, n, m, k) for p, d, f, t, n, m, k in ref]
    for name, interval in {"BURST": alarm_code.BURST, "BURST_PERIOD": alarm_code.BURST_PERIOD}.items():
        assert f"constexpr Interval {name} = {{{interval.low}, {interval.high}}};" in source, name
    cfg = alarm_code.CodeConfig()
    for name, value in {"RISE": cfg.rise, "SELECTIVITY": cfg.selectivity, "FIRST_BAND": cfg.first_band,
                        "LAST_BAND": cfg.last_band, "LEVEL_SPREAD": alarm_code.LEVEL_SPREAD,
                        "GAP_DROP": alarm_code.GAP_DROP, "QUIET_MIN": alarm_code.QUIET_MIN,
                        "SKIP_SPREAD": alarm_code.SKIP_SPREAD, "BURST_PULSES": alarm_code.BURST_PULSES,
                        "MAX_INTERVAL": alarm_code.MAX_INTERVAL, "RING": alarm_code.RING}.items():  # fmt: skip
        assert re.search(rf"\b{name} = {value}\b", source + (COMPONENT / "binmoe_alarm_code.h").read_text()), name


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_the_node_matches_the_reference_frame_for_frame(detector: Path, seed: int) -> None:
    frames = random_stream(seed, 70_000)  # 37 minutes: the 16-bit frame clock wraps once
    got = node_codes(detector, frames)
    ref = alarm_code.detect(frames)
    mismatch = np.nonzero(np.array(got) != ref)[0]
    assert len(mismatch) == 0, (
        f"first mismatch at frame {mismatch[0]}: node {got[mismatch[0]]}, reference {ref[mismatch[0]]}"
    )
    # the streams exercise what is compared: both codes match, many times
    assert np.sum(ref == 1) >= 5 and np.sum(ref == 2) >= 5, np.bincount(ref, minlength=3)
    # ... and so do T4 chains that skip a missing pulse and the burst rule (without either some matches differ)
    codes, bursts = alarm_code.PERIODS, alarm_code.bursts
    try:
        alarm_code.PERIODS = (codes[0], (*codes[1][:2], 0))
        assert (alarm_code.detect(frames) != ref).any()
        alarm_code.PERIODS, alarm_code.bursts = codes, lambda ring: False
        assert (alarm_code.detect(frames) != ref).any()
    finally:
        alarm_code.PERIODS, alarm_code.bursts = codes, bursts


def random_tone_bands(seed: int, n: int) -> np.ndarray:
    """Per frame, the bands a tone detector follows a tone in: a few bands at a time, changing every 0.3-3 s."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, dtype=np.uint16)
    at = 0
    while at < n:
        span = int(rng.integers(10, 100))
        out[at : at + span] = sum(1 << int(b) for b in rng.choice(16, int(rng.integers(0, 6)), replace=False))
        at += span
    return out


@pytest.mark.parametrize("seed", [1, 3])
def test_the_node_gates_t4_on_the_tone_bands_as_the_reference_does(detector: Path, seed: int) -> None:
    frames = random_stream(seed, 40_000)
    tone_bands = random_tone_bands(seed, len(frames))
    got = node_codes(detector, frames, tone_bands=tone_bands)
    ref = alarm_code.detect(frames, tone_bands=tone_bands)
    mismatch = np.nonzero(np.array(got) != ref)[0]
    assert len(mismatch) == 0, f"first mismatch at frame {mismatch[0]}: node {got[mismatch[0]]}, ref {ref[mismatch[0]]}"
    # the gate takes some T4 matches and leaves others; T3 never needs a tone
    ungated = alarm_code.detect(frames)
    assert np.sum(ref == 2) >= 2 and np.sum(ref == 2) < np.sum(ungated == 2), (np.sum(ref == 2), np.sum(ungated == 2))
    assert np.sum(ref == 1) == np.sum(ungated == 1)


def test_a_t4_match_needs_a_tone_in_its_band_pair(detector: Path) -> None:
    # pulses in band 10 are heard by pairs 9 (bands 9 and 10) and 10 (10 and 11): a tone followed in band 9, 10 or
    # 11 lets their T4 through, one in band 8 or 12 does not
    frames = scripted([(s, 3, 20) for s in (100, 106, 112, 118, 278, 284, 290, 296)])
    n = len(frames)
    cases = {0: False, 1 << 8: False, 1 << 12: False, 1 << 9: True, 1 << 10: True, 1 << 11: True}
    for mask, found in cases.items():
        tone_bands = np.full(n, mask, dtype=np.uint16)
        ref = alarm_code.detect(frames, tone_bands=tone_bands)
        assert bool((ref == 2).any()) is found, bin(mask)
        assert node_codes(detector, frames, tone_bands=tone_bands) == list(ref), bin(mask)
    # only the frame the match completes in counts
    ungated = alarm_code.detect(frames)
    (at,) = np.nonzero(ungated == 2)[0][:1]
    tone_bands = np.zeros(n, dtype=np.uint16)
    tone_bands[at] = 1 << 10
    assert alarm_code.detect(frames, tone_bands=tone_bands)[at] == 2
    tone_bands[at], tone_bands[at - 1] = 0, 1 << 10
    assert not (alarm_code.detect(frames, tone_bands=tone_bands) == 2).any()


def test_configure_refuses_more_bands_than_it_has_room_for(detector: Path) -> None:
    out = subprocess.run([str(detector)], input="bands 17\nbands 0\nbands 16\n", capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.split() == ["0", "0", "1"]


def test_fewer_bands_listen_to_the_bands_there_are(detector: Path) -> None:
    frames = random_stream(4, 20_000)[:, :8]
    assert node_codes(detector, frames, bands=8) == list(alarm_code.detect(frames))


def scripted(pulses_at: list[tuple[int, int, int]], band: int = 10, n: int = 500) -> np.ndarray:
    """A noise floor with (start frame, frames, level) sounds in `band`."""
    frames = np.random.default_rng(0).normal(-40, 1.5, (n, 16))
    for start, length, level in pulses_at:
        frames[start : start + length, band] = level
    return np.clip(np.round(frames), -128, 127).astype(np.int8)


def test_the_node_matches_the_reference_on_the_long_silence_and_burst_loudness_rules(detector: Path) -> None:
    # what the random streams do not reach: a faint pulse in T4's long silence after a loud sound (no match; the
    # faint pulse alone: a match), and blurred bursts growing louder (no match; equally loud: a match)
    t4 = [(s, 3, 20) for s in (100, 106, 112, 118, 278, 284, 290, 296)]
    blurred = [100, 112, 278, 290]
    cases = {
        "faint pulse only": (scripted([*t4, (240, 3, -10)]), True),
        "loud sound, then a faint pulse": (scripted([*t4, (160, 40, 16), (240, 3, -10)]), False),
        "equal bursts": (scripted([(s, 3, 20) for s in blurred]), True),
        "bursts growing louder": (scripted([(s, 3, v) for s, v in zip(blurred, (20, 14, 26, 29), strict=True)]), False),
    }
    for name, (frames, found) in cases.items():
        ref = alarm_code.detect(frames)
        assert bool((ref == 2).any()) is found, name
        assert node_codes(detector, frames) == list(ref), name
