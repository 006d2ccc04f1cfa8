"""Held-out home-sound generators (16 kHz mono int16)."""

from .generate import SAMPLE_RATE, generate_alarm_events, generate_negative_scenes, generate_sound_clips
from .targets import SOUND_CLASSES

__all__ = ["SAMPLE_RATE", "SOUND_CLASSES", "generate_alarm_events", "generate_negative_scenes", "generate_sound_clips"]
