"""Build an ESPHome node for the `host:` platform without PlatformIO: `esphome compile --only-generate`, then
plain g++ through a generated Makefile (incremental, parallel). Used by the ESPHome tests and scripts/demo."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

ESPHOME = Path(sys.executable).with_name("esphome")
OPT = "-O1"  # -O1: the build is the slow part of the suite; the kernel marks its hot loops O2 itself


def generate(yaml: Path, substitutions: dict[str, str] | None = None) -> Path:
    """Generate the node's C++ tree; returns the build directory (.esphome/build/<name>)."""
    subs = [arg for key, value in (substitutions or {}).items() for arg in ("-s", key, value)]
    run = subprocess.run([str(ESPHOME), *subs, "compile", "--only-generate", str(yaml)],
                         capture_output=True, text=True, cwd=yaml.parent, check=False)  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"esphome compile --only-generate {yaml.name} failed:\n{run.stdout}\n{run.stderr}")
    builds = yaml.parent / ".esphome" / "build"
    ini_files = sorted(builds.glob("*/platformio.ini"), key=lambda p: p.stat().st_mtime)
    return ini_files[-1].parent


def build_flags(build_dir: Path) -> list[str]:
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.read(build_dir / "platformio.ini")
    env = next(s for s in ini.sections() if s.startswith("env:"))
    return ini[env].get("build_flags", "").split()


MAKEFILE = """\
CXX ?= g++
CXXFLAGS := {flags} {opt} -Isrc -MMD -MP
SRCS := $(shell find src -name '*.cpp')
OBJS := $(patsubst src/%.cpp,obj/%.o,$(SRCS))
{binary}: $(OBJS)
\t$(CXX) -o $@ $(OBJS) -lpthread
obj/%.o: src/%.cpp
\t@mkdir -p $(dir $@)
\t$(CXX) $(CXXFLAGS) -c $< -o $@
-include $(OBJS:.o=.d)
"""


def build(yaml: Path, jobs: int | None = None, substitutions: dict[str, str] | None = None) -> Path:
    """Generate and compile the node; returns the path of the executable."""
    build_dir = generate(yaml, substitutions)
    binary = build_dir / "program"
    (build_dir / "Makefile").write_text(
        MAKEFILE.format(flags=" ".join(build_flags(build_dir)), opt=OPT, binary="program")
    )
    jobs = jobs or os.cpu_count() or 2
    run = subprocess.run(["make", "-s", f"-j{jobs}"], cwd=build_dir, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"building {yaml.name} with g++ failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}")
    return binary


def clean(yaml: Path) -> None:
    shutil.rmtree(yaml.parent / ".esphome", ignore_errors=True)


if __name__ == "__main__":
    # usage: host_build.py NODE.yaml [KEY=VALUE ...]   (substitutions) -> prints the executable's path
    subs = dict(arg.split("=", 1) for arg in sys.argv[2:])
    print(build(Path(sys.argv[1]).resolve(), substitutions=subs))
