"""Write WAV clips for the host node tests (run with the backend environment: it needs the corpus builder).

usage: python make_clips.py OUT_DIR  ->  OUT_DIR/<label>.wav (3 s, 16 kHz mono int16) and OUT_DIR/labels.json.
Seeds differ from the training/validation/test corpus seeds; rooms are the test split's rooms."""

import json
import os
import sys
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from node_factory.corpus import synth

LABELS = ["smoke_alarm", "co_alarm", "doorbell", "knock", "water_running", "appliance_beep", "background"]
SECONDS = 3
RATE = 16000
SEED = 7_000_000

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
cache = Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe")) / "corpus"
sources = synth.Sources(
    speech=synth.speech_for("test", synth.TRAIN, cache / "speech", np.random.default_rng(SEED), 4),
    irs=synth.room_impulse_responses(synth.ROOM_SEEDS["test"], 2, synth.TRAIN.rt60_s),
)
labels = {}
for i, label in enumerate(LABELS):
    rng = np.random.default_rng(SEED + i)
    clip, _meta = synth.render(label, rng, SECONDS * RATE, synth.TRAIN, sources)
    wavfile.write(out / f"{label}.wav", RATE, clip)
    labels[f"{label}.wav"] = label
(out / "labels.json").write_text(json.dumps(labels, indent=1))
