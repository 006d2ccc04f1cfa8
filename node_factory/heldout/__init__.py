"""Independent held-out generators for BinMoE's node models (evaluation only: never train on these)."""

from .common import Clip
from .sound import SOUND_CLASSES, generate_alarm_events, generate_negative_scenes, generate_sound_clips
from .vibration import VIBRATION_CLASSES, MachineRun, RunChunk, generate_machine_runs, generate_vibration_clips

__all__ = [
    "SOUND_CLASSES",
    "VIBRATION_CLASSES",
    "Clip",
    "MachineRun",
    "RunChunk",
    "generate_alarm_events",
    "generate_machine_runs",
    "generate_negative_scenes",
    "generate_sound_clips",
    "generate_vibration_clips",
]
