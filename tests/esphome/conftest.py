"""Fixtures for the ESPHome node tests: host builds, clips from the corpus builder, running nodes."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from scripts.lib import host_build

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NODES = HERE / "nodes"
CACHE = Path(os.environ.get("BINMOE_CACHE", Path.home() / ".cache" / "binmoe"))


def backend_python() -> Path:
    """The corpus builder needs the backend environment (scripts/test builds it for this suite)."""
    path = Path(os.environ.get("BINMOE_BACKEND_PYTHON", CACHE / "venv-backend" / "bin" / "python"))
    if not path.exists():
        pytest.fail(f"{path} does not exist: run scripts/bootstrap backend (scripts/test esphome does)")
    return path


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/esphome/router_harness.cpp with the component's plain C++ (routing, events, messages), built by g++."""
    component = REPO / "esphome" / "components" / "binmoe"
    exe = tmp_path_factory.mktemp("router") / "router_harness"
    sources = [component / f"binmoe_{name}.cpp" for name in ("router", "events", "message")]
    subprocess.run(["g++", "-std=gnu++20", "-O1", "-Wall", "-Werror", "-I", str(component),
                    str(HERE / "router_harness.cpp"), *map(str, sources), "-o", str(exe)], check=True)  # fmt: skip
    return exe


def run(harness: Path, script: list[str]) -> list[str]:
    """The harness's output lines for these commands."""
    out = subprocess.run([str(harness)], input="\n".join(script) + "\n", capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def outcomes(lines: list[str]) -> list[tuple[int, ...]]:
    """`win` lines as integers: (outcome, reason), plus (event_windows, event_span) for an event's report."""
    return [tuple(int(v) for v in line.split()) for line in lines]


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clips")
    make_clips = REPO / "scripts" / "lib" / "make_clips.py"
    subprocess.run([str(backend_python()), str(make_clips), str(out)], check=True, cwd=REPO)
    return out


@pytest.fixture(scope="session", params=host_build.RELEASES, ids=lambda r: f"esphome-{r.version}")
def release(request: pytest.FixtureRequest) -> host_build.Release:
    """Each ESPHome release the component is tested with: the pinned one and the newest (requirements/)."""
    return request.param


@pytest.fixture(scope="session")
def sound_node_binary(release: host_build.Release) -> Path:
    """tests/esphome/nodes/host-sound.yaml built for the host by `release` (run it through `release.env`)."""
    return host_build.build(NODES / "host-sound.yaml", release=release)


@pytest.fixture(scope="session")
def vibration_node_binary(release: host_build.Release) -> Path:
    """tests/esphome/nodes/host-vibration.yaml (per-machine baseline) built for the host by `release`."""
    return host_build.build(NODES / "host-vibration.yaml", release=release)


@pytest.fixture(scope="session")
def vibration_adpcm_node_binary(release: host_build.Release) -> Path:
    """tests/esphome/nodes/host-vibration-adpcm.yaml (the same node, its capture as IMA ADPCM) built for the host."""
    return host_build.build(NODES / "host-vibration-adpcm.yaml", release=release)


@pytest.fixture(scope="session")
def vibration_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One machine's healthy and faulty vibration (scripts/lib/make_vibration_clips.py)."""
    out = tmp_path_factory.mktemp("vibration_clips")
    make_clips = REPO / "scripts" / "lib" / "make_vibration_clips.py"
    subprocess.run([str(backend_python()), str(make_clips), str(out)], check=True, cwd=REPO)
    return out


@contextmanager
def running_node(release: host_build.Release, binary: Path, port: int, home: Path, log: Path) -> Iterator[None]:
    """A host node with HOME=`home` (where ESPHome's host platform keeps its preferences: a restart in the same
    home finds them again), its output in `log`, until the block ends (SIGTERM, as a supervisor stops it)."""
    with log.open("ab") as out:
        proc = subprocess.Popen([*release.env, "env", f"HOME={home}", str(binary)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=home)  # fmt: skip
    try:
        wait_for_port(port, proc)
        yield
    finally:
        stop(proc)


@pytest.fixture
def vibration_node(
    release: host_build.Release, vibration_node_binary: Path
) -> Callable[[Path, Path], AbstractContextManager[None]]:
    """`with vibration_node(home, log):` runs the host vibration node (native API on port 16054) in `home`."""
    return functools.partial(running_node, release, vibration_node_binary, 16054)


@pytest.fixture
def vibration_adpcm_node(
    release: host_build.Release, vibration_adpcm_node_binary: Path
) -> Callable[[Path, Path], AbstractContextManager[None]]:
    """`with vibration_adpcm_node(home, log):` runs the IMA ADPCM capture node (native API on port 16055)."""
    return functools.partial(running_node, release, vibration_adpcm_node_binary, 16055)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the node has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the node exited with {proc.returncode} before opening port {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"the node did not open port {port} in {timeout} s")


@pytest.fixture
def sound_node(release: host_build.Release, sound_node_binary: Path, tmp_path: Path) -> Iterator[Path]:
    """A running host sound node (native API on port 16053); yields its log file."""
    log = tmp_path / "node.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*release.env, str(sound_node_binary)], stdout=out, stderr=subprocess.STDOUT,
                                cwd=tmp_path)  # fmt: skip
    try:
        wait_for_port(16053, proc)
        yield log
    finally:
        stop(proc)


@contextmanager
def node_under_dhat(release: host_build.Release, binary: Path, port: int, home: Path) -> Iterator[Callable[[], Path]]:
    """A host node under valgrind's DHAT heap profiler; call the value to stop the node and get the path of the
    profile (JSON). The valgrind of the node's environment runs it (the sid root has its own, scripts/bootstrap
    esphome-next installs it)."""
    valgrind = "valgrind" if release.env else shutil.which("valgrind")
    if valgrind is None:
        pytest.fail("valgrind is missing: scripts/bootstrap backend installs it")
    out = home / "dhat.json"
    proc = subprocess.Popen([*release.env, valgrind, "--tool=dhat", f"--dhat-out-file={out}", str(binary)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=home)  # fmt: skip

    def stop() -> Path:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        return out

    try:
        wait_for_port(port, proc, timeout=60)
        yield stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def sound_node_under_dhat(
    release: host_build.Release, sound_node_binary: Path, tmp_path: Path
) -> Iterator[Callable[[], Path]]:
    """The host sound node (port 16053) under DHAT (node_under_dhat)."""
    with node_under_dhat(release, sound_node_binary, 16053, tmp_path) as stop:
        yield stop


def heap_in_loop(profile: Path) -> tuple[list[list[str]], int]:
    """From a DHAT profile: the call stacks of heap allocations made below BinMoEComponent::loop() that are not
    ESPHome's API layer, and the number of blocks the API layer allocated there."""
    data = json.loads(profile.read_text())
    frames = data["ftbl"]
    in_loop = [(pp["tbk"], [frames[i] for i in pp["fs"]]) for pp in data["pps"]
               if any("BinMoEComponent::loop" in frames[i] for i in pp["fs"])]  # fmt: skip
    not_api = [stack for _blocks, stack in in_loop if not any("esphome::api::" in f for f in stack)]
    return not_api, sum(blocks for blocks, _stack in in_loop)
