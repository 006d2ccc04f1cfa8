"""Detect NVIDIA GPUs (count, VRAM, compute capability) without importing CUDA libraries."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class GPU:
    index: int
    name: str
    vram_gb: float
    compute_capability: float


def parse_nvidia_smi(csv_text: str) -> list[GPU]:
    """Parse `nvidia-smi --query-gpu=index,name,memory.total,compute_cap --format=csv,noheader,nounits`."""
    gpus = []
    for line in csv_text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            continue
        index, name, mem_mib, cap = parts
        gpus.append(GPU(int(index), name, float(mem_mib) / 1024, float(cap)))
    return gpus


def detect_gpus() -> list[GPU]:
    """The machine's NVIDIA GPUs; empty when there is no driver or no GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,name,memory.total,compute_cap", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)
