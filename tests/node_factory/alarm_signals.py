"""Alarm codes on synthetic tones for the tone detector's tests (reference and node): numpy only, as the ESPHome
test environment has no scipy."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

SR = 16_000
T3 = [(0.5, 0.5), (0.5, 0.5), (0.5, 1.5)]
T4 = [(0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 5.0)]


def pulses(
    pattern: list[tuple[float, float]], seconds: float, start: float = 1.0
) -> Iterator[tuple[float, float, float]]:
    """(start, on, off) in seconds of each pulse of `pattern`, repeated from `start` until `seconds`."""
    at = start
    while at < seconds:
        for on, off in pattern:
            yield at, on, off
            at += on + off


def gated(
    tone_hz: float,
    pattern: list[tuple[float, float]],
    seconds: float,
    *,
    square: bool = False,
    noise: float = 300.0,
    amplitude: float = 8000.0,
    start: float = 1.0,
    seed: int = 5,
    glide_to_hz: float | None = None,
) -> NDArray[np.int16]:
    """`pattern` on a tone (a sine, or a square with `square`; gliding linearly to `glide_to_hz` over the stream if
    given) in white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    if glide_to_hz is None:
        tone = np.sin(2 * np.pi * tone_hz * t)
    else:
        tone = np.sin(2 * np.pi * np.cumsum(tone_hz + (glide_to_hz - tone_hz) * t / seconds) / SR)
    if square:
        tone = np.sign(tone) * 0.5
    gate = np.zeros_like(t)
    for at, on, _off in pulses(pattern, seconds, start):
        gate[int(at * SR) : int((at + on) * SR)] = 1.0
    x = amplitude * tone * gate + noise * rng.standard_normal(len(t))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def after_a_full_burst(second: int) -> list[tuple[float, float]]:
    """A steady tone opens the channel, then a T4 burst of four pulses and, 5.7 s later (last pulse to last), one
    of `second` pulses (a pattern for `gated`, 13 s from its start at 1 s)."""
    return [(1.0, 1.0), *[(0.1, 0.1)] * 3, (0.1, 5.0), *[(0.1, 0.1)] * (second - 1), (0.1, 4.0)]


def built_up_t4(seconds: float = 14.0) -> NDArray[np.int16]:
    """T4 on 3.1 kHz as heard far from the sounder in a reverberant room: the tone builds up over its first pulses
    (time constant RT60 / 13.8: 57 ms at 0.8 s) and the first off-time does not dip, so each burst rises by 26 dB
    over 0.2 s into its second pulse."""
    x = gated(3100.0, T4, seconds).astype(np.float64)
    t = np.arange(len(x)) / SR
    for i, (at, _on, _off) in enumerate(pulses(T4, seconds)):
        if i % len(T4) == 0:
            rise = (t >= at) & (t < at + 0.2)
            x[rise] += 8000.0 * np.sin(2 * np.pi * 3100.0 * t[rise]) * 10 ** (1.3 * ((t[rise] - at) / 0.2 - 1))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def converging_tones(seconds: float = 20.0, glide_s: float = 3.0) -> NDArray[np.float64]:
    """Six pairs of steady tones (700 Hz .. 6 kHz), each pair starting 7 % either side of its frequency and gliding
    there over `glide_s` from 1 s on: twelve tones, far enough apart for twelve channels, that become six. Float
    samples, to be mixed."""
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros_like(t)
    for f in (700.0, 1000.0, 1400.0, 2000.0, 4500.0, 6000.0):
        for start, phase in ((0.93 * f, 0.0), (1.07 * f, 1.0)):
            glide = np.clip((t - 1.0) / glide_s, 0.0, 1.0)
            x += 1500.0 * np.sin(2 * np.pi * np.cumsum(start + (f - start) * glide) / SR + phase)
    return x


def t4_among_converging_tones(seconds: float = 20.0) -> NDArray[np.int16]:
    """T4 on 3.1 kHz from 8 s, after `converging_tones` took every channel and merged into six tones."""
    x = converging_tones(seconds) + gated(3100.0, T4, seconds, start=8.0, noise=300.0)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def t4_of_chirps(steady_hz: float | None = None) -> NDArray[np.int16]:
    """T4's rhythm in chirps (each pulse a sweep from 2.7 to 3.7 kHz, as a bird's call: no bin holds a tone), 16 s
    over a faint floor; with `steady_hz`, a steady tone of that pitch under it all the time. The band detector hears
    it as T4; the tone detector follows no tone in it."""
    n = 16 * SR
    x = 100 * np.random.default_rng(7).standard_normal(n)
    for at, on, _off in pulses(T4, 16.0):
        a, b = int(at * SR), min(n, int((at + on) * SR))
        t = np.arange(b - a) / SR
        x[a:b] += 3000 * np.sin(2 * np.pi * (2700.0 * t + 1000.0 / (2 * on) * t**2))
    if steady_hz is not None:
        x += 600 * np.sin(2 * np.pi * steady_hz * np.arange(n) / SR)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
