"""The teacher file `<stem>_teacher.pt` (node_factory.reference.teacher_format): written after training for the
GPU tier, read back by `calibrate`. Files from before that format (a torch.save checkpoint of the state dict
with its metadata, or a bare state dict: the sound family's teacher) are read here too.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from ..corpus.synth import SOUND_CLASSES
from ..reference import teacher_format
from ..reference.features import FeatureConfig
from ..reference.teacher_format import TeacherInfo
from .train import Teacher

CHECKPOINT_FORMAT = "binmoe-teacher-v1"  # the earlier file: a torch.save dict with the state dict


def teacher_file(teacher: Teacher, info: TeacherInfo) -> bytes:
    """The bytes of `<stem>_teacher.pt`: the teacher exported (any batch size) with its metadata."""
    example = torch.zeros(2, *info.feature_shape)
    program = torch.export.export(teacher.eval(), (example,), dynamic_shapes={"feats": {0: torch.export.Dim("batch")}})
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={teacher_format.METADATA_FILE: teacher_format.encode(info)})
    return buffer.getvalue()


def load_teacher_network(path: Path) -> tuple[torch.nn.Module, TeacherInfo]:
    """The teacher network of a teacher file (either format) and what it classifies; ValueError if unreadable."""
    if teacher_format.is_archive(path):
        extra = {teacher_format.METADATA_FILE: ""}
        program = torch.export.load(path, extra_files=extra)
        return program.module(), teacher_format.decode(extra[teacher_format.METADATA_FILE])
    return _load_checkpoint(path)


def _load_checkpoint(path: Path) -> tuple[torch.nn.Module, TeacherInfo]:
    try:
        data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise ValueError(f"{path}: not a readable teacher checkpoint ({type(err).__name__}: {err})") from err
    if isinstance(data, dict) and data.get("format") == CHECKPOINT_FORMAT:
        classes = tuple(str(c) for c in data["classes"])
        info = TeacherInfo(str(data["family"]), str(data["model_id"]), classes, FeatureConfig(**data["feature_config"]))
        state = data["state_dict"]
    else:  # a bare state dict: the sound family
        info, state = TeacherInfo("sound", "sound-v1", SOUND_CLASSES, FeatureConfig()), data
    model = Teacher(len(info.classes))
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: weights do not fit a teacher for {len(info.classes)} classes ({err})") from err
    return model.eval(), info
