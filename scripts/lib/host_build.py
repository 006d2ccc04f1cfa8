"""Build an ESPHome node for the `host:` platform, with the pinned ESPHome or the newest one. Used by the ESPHome
tests, scripts/test and scripts/demo.

- The pinned release (requirements/esphome.txt, this venv) builds host nodes through PlatformIO, which cannot
  download here: `esphome compile --only-generate`, then plain g++ through a generated Makefile (incremental,
  parallel) with the flags of the generated platformio.ini.
- The newest release (requirements/esphome-next.txt, run through scripts/esphome-next-env) builds host nodes
  itself, with the machine's g++ and ninja: `esphome compile`. Without a Python for it on the host, its
  environment and the node it builds live in a Debian sid root; `Release.env` runs commands there with the
  host's paths."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ESPHOME = Path(sys.executable).with_name("esphome")
OPT = "-O1"  # -O1: the build is the slow part of the suite; the kernel marks its hot loops O2 itself


def locked_version(lock: str) -> str:
    """The esphome version a lock file pins."""
    for line in (REPO / "requirements" / "lock" / lock).read_text().splitlines():
        if line.startswith("esphome=="):
            return line.removeprefix("esphome==").strip()
    raise ValueError(f"requirements/lock/{lock} pins no esphome")


@dataclass(frozen=True)
class Release:
    """One installed ESPHome release and how to run it and what it builds."""

    version: str
    env: tuple[str, ...]  # prefix that runs a command in the release's environment (() = this process's)
    bin_dir: str  # where its executables are, as that environment sees it ("" = on its PATH)
    builds_host_nodes: bool  # `esphome compile` builds a host node itself (no PlatformIO)
    data_subdir: str = ""  # its data dir within `.esphome` ("": `.esphome` itself, ESPHome's default)
    # global options to code-generate an ESP32 node offline: ESPHome 2026.10 builds ESP32 nodes with its own
    # ESP-IDF toolchain by default, whose code generation converts PlatformIO libraries (Improv serial's) to
    # ESP-IDF components through the PlatformIO registry, which is unreachable here; its PlatformIO toolchain
    # generates the same C++ and leaves the libraries to the build
    esp32_offline_args: tuple[str, ...] = ()

    def command(self, tool: str, *args: str) -> list[str]:
        return [*self.env, f"{self.bin_dir}/{tool}" if self.bin_dir else tool, *args]

    def data_dir(self, config_dir: Path) -> Path:
        """ESPHome's data dir (storage, build trees) for configs in `config_dir`: the default `.esphome` for the
        pinned release, a subfolder for the other, so both can build the same YAML."""
        return config_dir / ".esphome" / self.data_subdir

    def esphome(self, *args: str, cwd: Path, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run `esphome ARGS` on configs in `cwd` (data dir: `data_dir`, else `self.data_dir(cwd)`)."""
        env = {**os.environ, "ESPHOME_DATA_DIR": str(data_dir or self.data_dir(cwd))}
        return subprocess.run(self.command("esphome", *args), capture_output=True, text=True, cwd=cwd, env=env,
                              check=False)  # fmt: skip

    def site_packages(self) -> Path:
        """The directory holding the `esphome` package (ESPHome's component headers), as `env` sees it."""
        code = "import esphome, pathlib; print(pathlib.Path(esphome.__file__).resolve().parents[1])"
        out = subprocess.run(self.command("python", "-c", code), capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())


PINNED = Release(locked_version("esphome.txt"), (), str(ESPHOME.parent), builds_host_nodes=False)
NEXT = Release(locked_version("esphome-next.txt"), (str(REPO / "scripts" / "esphome-next-env"),), "",
               builds_host_nodes=True, data_subdir=f"esphome-{locked_version('esphome-next.txt')}",
               esp32_offline_args=("--toolchain", "platformio"))  # fmt: skip
RELEASES = (PINNED, NEXT)


def build_dir_of(yaml: Path, data_dir: Path) -> Path:
    """The build tree ESPHome recorded for `yaml` (its storage file names it)."""
    storage = json.loads((data_dir / "storage" / f"{yaml.name}.json").read_text())
    return Path(storage["build_path"])


def generate(yaml: Path, substitutions: dict[str, str] | None = None, release: Release = PINNED) -> Path:
    """Generate the node's C++ tree; returns the build directory (<data dir>/build/<name>)."""
    subs = [arg for key, value in (substitutions or {}).items() for arg in ("-s", key, value)]
    run = release.esphome(*subs, "compile", "--only-generate", yaml.name, cwd=yaml.parent)
    if run.returncode != 0:
        raise RuntimeError(f"esphome compile --only-generate {yaml.name} failed:\n{run.stdout}\n{run.stderr}")
    return build_dir_of(yaml, release.data_dir(yaml.parent))


def build_flags(build_dir: Path) -> list[str]:
    """The C++ compile flags of a generated tree (without include paths): the pinned release's platformio.ini,
    or the newest release's own ninja build (written by a full `esphome compile`)."""
    if (build_dir / "platformio.ini").is_file():
        ini = configparser.ConfigParser(interpolation=None, strict=False)
        ini.read(build_dir / "platformio.ini")
        env = next(s for s in ini.sections() if s.startswith("env:"))
        return ini[env].get("build_flags", "").split()
    (ninja,) = build_dir.glob(".pioenvs/*/build.ninja")
    (line,) = [line for line in ninja.read_text().splitlines() if line.startswith("cxxflags = ")]
    flags = shlex.split(line.removeprefix("cxxflags = "))
    return [f for f in flags if not f.startswith(("-I", "-fmacro-prefix-map="))]


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


def build(
    yaml: Path, jobs: int | None = None, substitutions: dict[str, str] | None = None, release: Release = PINNED
) -> Path:
    """Generate and compile the node; returns the path of the executable (run it through `release.env`)."""
    if release.builds_host_nodes:
        subs = [arg for key, value in (substitutions or {}).items() for arg in ("-s", key, value)]
        run = release.esphome(*subs, "compile", yaml.name, cwd=yaml.parent)
        if run.returncode != 0:
            raise RuntimeError(f"esphome compile {yaml.name} failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}")
        build_dir = build_dir_of(yaml, release.data_dir(yaml.parent))
        (binary,) = build_dir.glob(".pioenvs/*/program")
        return binary
    build_dir = generate(yaml, substitutions, release)
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
