"""Write WAV clips for the host node tests (run with the backend environment: it needs the corpus builder).

usage: python make_clips.py OUT_DIR  ->  OUT_DIR/<label>.wav (3 s, 16 kHz mono int16) and OUT_DIR/labels.json,
plus the alarm-event clips listed in OUT_DIR/events.json (name -> what sounds in it).
Seeds differ from the training/validation/test corpus seeds; rooms are the test split's rooms."""

import json
import os
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.io import wavfile
from scipy.signal import fftconvolve

from node_factory.corpus import synth

LABELS = ["smoke_alarm", "co_alarm", "doorbell", "knock", "water_running", "appliance_beep", "background"]
SECONDS = 3
RATE = 16000
SEED = 7_000_000


def sounding(rng: np.random.Generator, gate: NDArray[np.float64], sources: synth.Sources) -> NDArray[np.int16]:
    """A piezo sounder switched by `gate`, in a test room with household noise at 20 dB SNR, through the MEMS
    microphone model: what synth.render does for one window, for a clip of any length."""
    n = len(gate)
    tone, _meta = synth.sounder(rng, n, synth.TRAIN, low_frequency=False)
    raw = tone * gate
    wet = fftconvolve(raw, sources.irs[0][0])[:n]
    power = np.mean(wet[gate > 0.5] ** 2)
    background, _kinds = synth.noise_mix(rng, n, synth.TRAIN, sources)
    x, _mic = synth.microphone(rng, wet + background * np.sqrt(power) / 10 ** (20 / 20))
    return synth.to_int16(rng, x, -12.0, None)


def event_clips(rng: np.random.Generator, sources: synth.Sources) -> dict[str, tuple[NDArray[np.int16], str]]:
    """A smoke alarm that sounds its T3 pattern for three cycles (about 12 s, from 0.5 s into the clip), and one
    short high beep (0.15 s at a smoke alarm's pitch) in 8 s of room noise."""
    lead = np.zeros(RATE // 2)
    t3 = np.concatenate([lead, synth.pattern_gate(rng, synth.T3, cycles=3), lead])
    beep = np.zeros(8 * RATE)
    beep[2 * RATE : 2 * RATE + int(0.15 * RATE)] = 1.0
    return {
        "t3_12s.wav": (sounding(rng, t3, sources), "smoke alarm, T3 pattern, 3 cycles from 0.5 s"),
        "single_beep.wav": (sounding(rng, beep, sources), "one 0.15 s beep at 2 s"),
    }


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe")) / "corpus"
    sources = synth.Sources(
        speech=synth.speech_for("test", synth.TRAIN, cache / "speech", np.random.default_rng(SEED), 4),
        irs=synth.room_impulse_responses(synth.ROOM_SEEDS["test"], 2, synth.TRAIN.rt60_s),
    )
    labels = {}
    for i, label in enumerate(LABELS):
        rng = np.random.default_rng(SEED + i)
        clip, _meta = synth.render(label, rng, SECONDS * RATE, synth.TRAIN, sources, cut_from_stream=False)
        wavfile.write(out / f"{label}.wav", RATE, clip)
        labels[f"{label}.wav"] = label
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    events = {}
    for name, (clip, what) in event_clips(np.random.default_rng(SEED + 100), sources).items():
        wavfile.write(out / name, RATE, clip)
        events[name] = what
    (out / "events.json").write_text(json.dumps(events, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
