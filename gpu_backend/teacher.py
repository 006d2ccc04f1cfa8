"""The node model's float teacher as the GPU tier's classifier for escalations that carry features.

`python -m node_factory train` writes `<stem>_teacher.pt` (node_factory/reference/teacher_format.py): the
network as a torch.export archive plus its class names and feature shape, so loading it needs torch and
numpy, not the factory. Older teacher files (checkpoints of the state dict) are read through the factory
when it is installed (`pip install binmoe[factory]`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from node_factory.reference import teacher_format
from node_factory.reference.teacher_format import TeacherInfo


class TeacherClassifier:
    """Classifies the int8 feature matrix of an escalation (docs/protocol.md: `features`, `feature_shape`)."""

    def __init__(self, network: Callable[[torch.Tensor], torch.Tensor], info: TeacherInfo) -> None:
        self.network = network
        self.classes = info.classes
        self.config = info.features
        self.model_id = info.model_id
        self.shape = info.feature_shape

    def classify_array(self, features: NDArray[np.int8]) -> tuple[str, float]:
        """(class, softmax confidence) for one int8 feature matrix (frames x bins)."""
        if features.shape != self.shape:
            got = "x".join(str(d) for d in features.shape)
            raise ValueError(f"feature_shape {got} does not match the teacher's {self.shape[0]}x{self.shape[1]}")
        best, confidence = self.classify_windows(features[None])
        return self.classes[int(best[0])], round(float(confidence[0]), 4)

    def classify_windows(self, windows: NDArray[np.int8]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The class index and softmax confidence of each of a stack of int8 feature matrices (windows x frames x
        bins): one pass of the network for many windows (development scripts), or for one (`classify_array`)."""
        if windows.ndim != 3 or windows.shape[1:] != self.shape:
            raise ValueError(f"windows of shape {windows.shape} are not N x {self.shape[0]} x {self.shape[1]}")
        if not len(windows):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        with torch.no_grad():
            probs = torch.softmax(self.network(torch.tensor(windows.astype(np.float32))), dim=1)
        confidence, best = probs.max(dim=1)
        return best.numpy().astype(np.int64), confidence.numpy().astype(np.float64)

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


def load_teacher(path: Path) -> TeacherClassifier:
    """Load a teacher written by `python -m node_factory train` (any family); ValueError if it cannot."""
    if teacher_format.is_archive(path):
        extra = {teacher_format.METADATA_FILE: ""}
        with path.open("rb") as archive:  # a file object: torch warns about any path not ending in .pt2
            program = torch.export.load(archive, extra_files=extra)
        return TeacherClassifier(program.module(), teacher_format.decode(extra[teacher_format.METADATA_FILE]))
    try:  # an older checkpoint: only the factory knows the network to load its weights into
        from node_factory.training.teacher import load_teacher_network
    except ImportError as err:
        raise ValueError(
            f"{path}: not a teacher archive; older teacher checkpoints need the node factory (binmoe[factory])"
        ) from err
    return TeacherClassifier(*load_teacher_network(path))
