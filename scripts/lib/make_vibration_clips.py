"""Write WAV clips of one machine for the vibration node's baseline test (run with the backend environment: it
needs the held-out machine generator).

usage: python make_vibration_clips.py OUT_DIR  ->  OUT_DIR/healthy_learn.wav (the baseline's signal),
OUT_DIR/healthy_check.wav (the same machine later, still healthy) and OUT_DIR/faulty.wav (an outer-race fault
from the first seconds), 16-bit mono at the ADXL345 node's 3.2 kHz. The seed is the test's own (not the
held-out protocol's, which is used for nothing else)."""

import sys
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from node_factory.heldout import generate_machine_runs

RATE = 3200
SEED = 15_015
LEARN_S, CHECK_S = 90.0, 30.0


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    hours = (LEARN_S + CHECK_S) / 3600
    (run,) = generate_machine_runs(
        SEED,
        1,
        RATE,
        hours,
        chunk_seconds=10.0,
        faults=("bearing_outer",),
        fault_segment_s=40.0,
        onset_fraction=(0.0, 0.05),
    )
    healthy, faulty = [], []
    for chunk in run.chunks():
        (healthy if chunk.start_s < run.healthy_s else faulty).append(chunk.audio.astype(np.int16))
    signal = np.concatenate(healthy)
    cut = round(LEARN_S * RATE)
    wavfile.write(out / "healthy_learn.wav", RATE, signal[:cut])
    wavfile.write(out / "healthy_check.wav", RATE, signal[cut:])
    wavfile.write(out / "faulty.wav", RATE, np.concatenate(faulty))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
