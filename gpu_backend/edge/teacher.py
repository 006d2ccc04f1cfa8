"""The node model's float teacher as the GPU tier's classifier for escalations that carry features.

`python -m gpu_backend.edge train` saves `<stem>_teacher.pt`: the state dict plus what it needs to be used
alone (family, model id, class names, feature configuration). A bare state dict (older files, test
fixtures) is read as the sound family's teacher.
"""

from __future__ import annotations

import base64
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from .features import FeatureConfig
from .synth import SOUND_CLASSES
from .train import Teacher

CHECKPOINT_FORMAT = "binmoe-teacher-v1"


class TeacherClassifier:
    """Classifies the int8 feature matrix of an escalation (docs/protocol.md: `features`, `feature_shape`)."""

    def __init__(
        self, model: Teacher, classes: tuple[str, ...], config: FeatureConfig, model_id: str = "sound-v1"
    ) -> None:
        self.model = model.eval()
        self.classes = classes
        self.config = config
        self.model_id = model_id
        self.shape = (config.frames, config.bands)

    def classify_array(self, features: NDArray[np.int8]) -> tuple[str, float]:
        """(class, softmax confidence) for one int8 feature matrix (frames x bins)."""
        if features.shape != self.shape:
            got = "x".join(str(d) for d in features.shape)
            raise ValueError(f"feature_shape {got} does not match the teacher's {self.shape[0]}x{self.shape[1]}")
        x = torch.tensor(features.astype(np.float32)[None])
        with torch.no_grad():
            probs = torch.softmax(self.model(x), dim=1)[0]
        best = int(probs.argmax())
        return self.classes[best], round(float(probs[best]), 4)

    def classify(self, features_b64: str, feature_shape: str) -> tuple[str, float]:
        """The protocol's form: base64 of int8 frames x bins, row-major, and "<frames>x<bins>"."""
        try:
            frames, bins = (int(v) for v in feature_shape.split("x"))
        except ValueError as err:
            raise ValueError(f"feature_shape {feature_shape!r} is not <frames>x<bins>") from err
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
        return self.classify_array(np.frombuffer(raw, dtype=np.int8).reshape(frames, bins))


def checkpoint(teacher: Teacher, family: str, model_id: str, classes: tuple[str, ...], config: FeatureConfig) -> bytes:
    """The bytes of `<stem>_teacher.pt`."""
    buffer = io.BytesIO()
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "family": family,
            "model_id": model_id,
            "classes": list(classes),
            "feature_config": asdict(config),
            "state_dict": teacher.state_dict(),
        },
        buffer,
    )
    return buffer.getvalue()


def load_teacher(path: Path) -> TeacherClassifier:
    """Load a teacher saved by `python -m gpu_backend.edge train` (any family)."""
    try:
        data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise ValueError(f"{path}: not a readable teacher checkpoint ({type(err).__name__}: {err})") from err
    if isinstance(data, dict) and data.get("format") == CHECKPOINT_FORMAT:
        classes = tuple(str(c) for c in data["classes"])
        config = FeatureConfig(**data["feature_config"])
        state, model_id = data["state_dict"], str(data["model_id"])
    else:  # a bare state dict: the sound family
        classes, config, state, model_id = SOUND_CLASSES, FeatureConfig(), data, "sound-v1"
    model = Teacher(len(classes))
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: weights do not fit a teacher for {len(classes)} classes ({err})") from err
    return TeacherClassifier(model, classes, config, model_id)
