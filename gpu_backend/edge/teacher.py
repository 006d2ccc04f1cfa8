"""The node model's float teacher as the GPU tier's classifier for escalations that carry features."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import torch

from .features import FeatureConfig
from .synth import SOUND_CLASSES
from .train import Teacher


class TeacherClassifier:
    """Classifies the int8 feature matrix of an escalation (docs/protocol.md: `features`, `feature_shape`)."""

    def __init__(self, model: Teacher, classes: tuple[str, ...], config: FeatureConfig) -> None:
        self.model = model.eval()
        self.classes = classes
        self.shape = (config.frames, config.bands)

    def classify(self, features_b64: str, feature_shape: str) -> tuple[str, float]:
        frames, bins = (int(v) for v in feature_shape.split("x"))
        if (frames, bins) != self.shape:
            raise ValueError(
                f"feature_shape {feature_shape} does not match the teacher's {self.shape[0]}x{self.shape[1]}"
            )
        try:
            raw = base64.b64decode(features_b64, validate=True)
        except ValueError as err:
            raise ValueError("features are not valid base64") from err
        if len(raw) != frames * bins:
            raise ValueError(f"features hold {len(raw)} bytes, feature_shape needs {frames * bins}")
        x = torch.tensor(np.frombuffer(raw, dtype=np.int8).reshape(1, frames, bins).astype(np.float32))
        with torch.no_grad():
            probs = torch.softmax(self.model(x), dim=1)[0]
        best = int(probs.argmax())
        return self.classes[best], round(float(probs[best]), 4)


def load_teacher(path: Path) -> TeacherClassifier:
    """Load the teacher saved by `python -m gpu_backend.edge train` (sound model)."""
    model = Teacher(len(SOUND_CLASSES))
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return TeacherClassifier(model, SOUND_CLASSES, FeatureConfig())
