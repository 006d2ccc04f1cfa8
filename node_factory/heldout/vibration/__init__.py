"""Held-out machine-vibration generators (ADXL345 at 3200 Hz, piezo disc + ADC at 16 kHz)."""

from .bearings import BEARINGS, Bearing
from .generate import MachineRun, RunChunk, generate_machine_runs, generate_vibration_clips
from .machine import FAULT_CLASSES, VIBRATION_CLASSES

__all__ = [
    "BEARINGS",
    "FAULT_CLASSES",
    "VIBRATION_CLASSES",
    "Bearing",
    "MachineRun",
    "RunChunk",
    "generate_machine_runs",
    "generate_vibration_clips",
]
