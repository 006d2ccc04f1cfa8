"""The Python reference of what a host node must send for a replayed clip (node_factory.reference is the spec)."""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from node_factory.reference import model_format
from node_factory.reference.features import FeatureConfig, features
from node_factory.reference.network import IntegerModel, confidence, decide, forward

MODELS = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


@dataclass(frozen=True)
class Window:
    class_idx: int
    scores: list[int]
    margin: int
    escalate: bool
    confidence: float
    features: NDArray[np.int8]


def load_model(stem: str) -> tuple[IntegerModel, FeatureConfig, dict]:
    manifest = json.loads((MODELS / f"{stem}.json").read_text())
    model, _info = model_format.parse_payload(model_format.read_blob((MODELS / f"{stem}.bin").read_bytes()))
    fc = manifest["feature_config"]
    cfg = FeatureConfig(**{k: v for k, v in fc.items() if k in FeatureConfig.__dataclass_fields__})
    assert cfg.digest() == manifest["feature_digest"], "manifest and reference feature config differ"
    return model, cfg, manifest


def windows(model: IntegerModel, cfg: FeatureConfig, wav: Path, hop_frames: int) -> list[Window]:
    """The windows a freshly reset node classifies for this clip: every hop after the first full window."""
    with wave.open(str(wav), "rb") as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    n_frames = len(samples) // cfg.frame
    out = []
    for end in range(cfg.frames, n_frames + 1, hop_frames):
        window = samples[(end - cfg.frames) * cfg.frame : end * cfg.frame].astype(np.int16)
        feats = features(window, cfg)
        logits = forward(model, feats[None])
        pred, margin, escalate = decide(model, logits)
        conf = confidence(logits, model.logit_scale)
        out.append(Window(int(pred[0]), [int(v) for v in logits[0]], int(margin[0]), bool(escalate[0]),
                          float(conf[0]), feats))  # fmt: skip
    return out
