"""GPU-only checks: run on a CUDA host (e.g. `scripts/test backend` on the GPU box); skipped elsewhere."""

from __future__ import annotations

import pytest

from gpu_backend.gpus import detect_gpus
from gpu_backend.profiles import load_profiles, select_profile, vllm_command

GPUS = detect_gpus()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not GPUS, reason="no CUDA GPU (nvidia-smi found none)")]


def test_detected_gpus_are_plausible() -> None:
    for gpu in GPUS:
        assert gpu.vram_gb > 1
        assert gpu.compute_capability >= 3.0


def test_a_profile_is_selected_for_this_machine() -> None:
    profile = select_profile(GPUS, load_profiles())
    assert profile.device == "cuda"
    assert profile.fits(min(GPUS, key=lambda g: g.vram_gb))
    cmd = vllm_command(profile, "python", profile.weights, "127.0.0.1", 8001)
    assert "--gpu-memory-utilization" in cmd
