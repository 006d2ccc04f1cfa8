"""The teacher file `<stem>_teacher.pt` that `python -m node_factory train` writes for the GPU tier.

It is a torch.export archive (the float teacher's graph and weights: it runs without the factory's code)
holding one extra file, METADATA_FILE: the JSON of `TeacherInfo`. This module only describes the file (no
torch here): the factory writes it, gpu_backend/teacher.py loads it.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .features import FeatureConfig

FORMAT = "binmoe-teacher-v2"  # v1: a torch.save checkpoint of the state dict (read by node_factory.training.teacher)
METADATA_FILE = "binmoe_teacher.json"


@dataclass(frozen=True)
class TeacherInfo:
    """What the teacher needs to be used alone: its family, model id, class names and feature configuration."""

    family: str
    model_id: str
    classes: tuple[str, ...]
    features: FeatureConfig
    # the network level-normalises its raw input itself (reference/level_norm.py, inside the exported graph):
    # escalations carry raw features and the GPU tier passes them as they are
    level_norm: bool = False

    @property
    def feature_shape(self) -> tuple[int, int]:
        """(frames, bands): the int8 feature matrix it classifies."""
        return self.features.frames, self.features.bands


def encode(info: TeacherInfo) -> str:
    return json.dumps(
        {"format": FORMAT, "family": info.family, "model_id": info.model_id, "classes": list(info.classes),
         "feature_config": asdict(info.features), "level_norm": info.level_norm},
        sort_keys=True,
    )  # fmt: skip


def decode(text: str) -> TeacherInfo:
    """The inverse of `encode`; raises ValueError for anything else."""
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        classes = tuple(str(c) for c in data["classes"])
        features = FeatureConfig(**data["feature_config"])
        level_norm = data.get("level_norm", False)  # teachers written before it: raw input
        if not isinstance(level_norm, bool):
            raise ValueError(f"level_norm {level_norm!r} is not a boolean")
        return TeacherInfo(str(data["family"]), str(data["model_id"]), classes, features, level_norm)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"teacher metadata is not readable ({type(err).__name__}: {err})") from err


def is_archive(path: Path) -> bool:
    """True for a torch.export archive with teacher metadata (False for older checkpoints and other files)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.endswith("/archive_format") for n in names) and any(n.endswith(f"/{METADATA_FILE}") for n in names)
