"""The Python reference of what a host node must send for a replayed clip (node_factory.reference is the spec):
the windows it classifies; the routing of them into messages (alarm events included) is
node_factory.reference.router's, re-exported here."""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from node_factory.evaluation.node_stream import ToneOptions, code_windows, stream_features, tone_feed
from node_factory.reference import model_format
from node_factory.reference.features import FeatureConfig, features
from node_factory.reference.network import IntegerModel, confidence, decide, forward
from node_factory.reference.router import Report, route, route_codes

MODELS = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


@dataclass(frozen=True)
class Window:
    class_idx: int
    scores: list[int]
    margin: int
    escalate: bool
    confidence: float
    features: NDArray[np.int8]
    code: int = 0  # the temporal code (1 = T3, 2 = T4) that completed in the frames this window added


def load_model(stem: str) -> tuple[IntegerModel, FeatureConfig, dict]:
    manifest = json.loads((MODELS / f"{stem}.json").read_text())
    model, _info = model_format.load(MODELS / f"{stem}.bin")
    fc = manifest["feature_config"]
    cfg = FeatureConfig(**{k: v for k, v in fc.items() if k in FeatureConfig.__dataclass_fields__})
    assert cfg.digest() == manifest["feature_digest"], "manifest and reference feature config differ"
    return model, cfg, manifest


def windows(
    model: IntegerModel, cfg: FeatureConfig, wav: Path, hop_frames: int, alarm_tone: bool = True, co_tone: bool = True
) -> list[Window]:
    """The windows a freshly reset node classifies for this clip: every hop after the first full window.
    `alarm_tone`: the node's option (on by default): the tone detector's codes count too, and with `co_tone` (its
    T4 path, on by default) the band detector's T4 needs a tone it follows."""
    with wave.open(str(wav), "rb") as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    samples = samples.astype(np.int16)
    n_frames = len(samples) // cfg.frame
    # the code each window's new frames complete (1 T3, 2 T4, -1 none), as the component feeds its detectors
    tone, tone_bands = tone_feed(samples, cfg, ToneOptions(alarm_tone, co_tone))
    codes = code_windows(stream_features(samples, cfg), cfg, hop_frames, (1, 2), tone, tone_bands)
    out = []
    for index, end in enumerate(range(cfg.frames, n_frames + 1, hop_frames)):
        window = samples[(end - cfg.frames) * cfg.frame : end * cfg.frame]
        feats = features(window, cfg)
        logits = forward(model, feats[None])
        pred, margin, escalate = decide(model, logits)
        conf = confidence(logits, model.logit_scale)
        out.append(Window(int(pred[0]), [int(v) for v in logits[0]], int(margin[0]), bool(escalate[0]),
                          float(conf[0]), feats, max(codes[index], 0)))  # fmt: skip
    return out


__all__ = ["MODELS", "Report", "Window", "load_model", "route", "route_codes", "windows"]
