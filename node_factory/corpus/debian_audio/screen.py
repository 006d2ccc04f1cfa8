"""A screen for alarm-like sound in a negative set: steady narrowband tones in the 1.5–5 kHz band.

It flags files for a person to check (spectrogram, ear); it decides nothing. Music with high sustained notes is
flagged too; what matters is that a real alarm, beep or bell is not missed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FRAME = 1024  # 64 ms at 16 kHz: enough resolution (15.6 Hz) to see a piezo tone as one line
HOP = 512
BAND_HZ = (1500.0, 5000.0)
ALARM_BAND_HZ = (2000.0, 4500.0)  # smoke/CO piezo tones sit at 2.8–3.5 kHz; beeps and bells around them


@dataclass(frozen=True)
class ToneRun:
    start_s: float
    seconds: float
    hz: float


def tone_runs(
    x: NDArray[np.generic], sr: int = 16000, min_ratio_db: float = 25.0, min_seconds: float = 0.09
) -> list[ToneRun]:
    """Stretches where one frequency in BAND_HZ stands min_ratio_db above the spectrum's median, steadily."""
    signal = np.asarray(x, dtype=np.float64)
    if signal.size < FRAME:
        return []
    frames = np.lib.stride_tricks.sliding_window_view(signal, FRAME)[::HOP] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(FRAME, 1 / sr)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    wide = (freqs >= 300) & (freqs <= 7000)
    peak_bin = np.argmax(power[:, band], axis=1)
    peak = power[:, band][np.arange(len(power)), peak_bin]
    ratio_db = 10 * np.log10(peak / np.median(power[:, wide], axis=1))
    loud = peak > peak.max() * 1e-4  # within 40 dB of the file's strongest tone: not a faint leftover
    tonal = (ratio_db >= min_ratio_db) & loud
    runs: list[ToneRun] = []
    start = None
    for i in range(len(tonal) + 1):
        steady = i < len(tonal) and tonal[i] and (start is None or abs(int(peak_bin[i]) - int(peak_bin[start])) <= 2)
        if steady and start is None:
            start = i
        elif not steady and start is not None:
            seconds = (i - start) * HOP / sr
            if seconds >= min_seconds:
                hz = float(freqs[band][int(np.median(peak_bin[start:i]))])
                runs.append(ToneRun(start * HOP / sr, seconds, hz))
            start = i if i < len(tonal) and tonal[i] else None
    return runs


def alarm_score(x: NDArray[np.generic], sr: int = 16000) -> float:
    """Seconds of steady tone inside ALARM_BAND_HZ: 0 for most speech and noise, over 1 for a sounding alarm."""
    return sum(r.seconds for r in tone_runs(x, sr) if ALARM_BAND_HZ[0] <= r.hz <= ALARM_BAND_HZ[1])
