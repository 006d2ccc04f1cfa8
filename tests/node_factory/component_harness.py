"""A piece of the ESPHome component (plain C++, no ESPHome) built on the host by g++ with its stdin harness from
tests/esphome/, and driven line by line: how both test suites hold the node's C++ to the Python reference."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPONENT = REPO / "esphome" / "components" / "binmoe"


def build(out_dir: Path, harness: str, source: str) -> Path:
    """tests/esphome/<harness>.cpp with the component's <source> -> an executable in out_dir."""
    exe = out_dir / harness
    sources = [REPO / "tests" / "esphome" / f"{harness}.cpp", COMPONENT / source]
    subprocess.run(
        ["g++", "-std=gnu++20", "-O1", "-Wall", "-Werror", "-I", str(COMPONENT), *map(str, sources), "-o", str(exe)],
        check=True,
    )
    return exe


def run(harness: Path, script: list[str]) -> list[str]:
    """Feed the harness its commands, one a line; its output lines."""
    out = subprocess.run([str(harness)], input="\n".join(script) + "\n", capture_output=True, text=True, check=True)
    return out.stdout.splitlines()
