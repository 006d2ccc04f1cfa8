"""The node's capture encoder (binmoe_adpcm.cpp, built on the host by g++ like the kernel tests) against the
Python reference (node_factory.reference.ima_adpcm): every byte of the blocks it keeps, on held-out machine
vibration and on full-scale steps, through a ring that wraps and a stream that restarts. The harness is
tests/esphome/adpcm_harness.cpp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node_factory.heldout import generate_machine_runs
from node_factory.reference import ima_adpcm as ia
from tests.node_factory import component_harness


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return component_harness.build(tmp_path_factory.mktemp("adpcm"), "adpcm_harness", "binmoe_adpcm.cpp")


run = component_harness.run


def writes(samples: np.ndarray, chunk: int) -> list[str]:
    return [" ".join(map(str, samples[i : i + chunk].tolist())) for i in range(0, len(samples), chunk)]


def machine_vibration(seconds: float) -> np.ndarray:
    run_ = generate_machine_runs(7, 1, 3200, seconds / 3600 + 0.01, chunk_seconds=1.0, fault_segment_s=10.0)[0]
    audio = np.concatenate([c.audio for c in run_.chunks()])
    return audio[: int(seconds * 3200)].astype(np.int16)


def test_the_blocks_are_the_references_byte_for_byte_as_the_ring_wraps(harness: Path) -> None:
    x = machine_vibration(6.0)  # 19,200 samples: 38 blocks through a ring of 8
    script = ["init 8"] + [f"write {w}" for w in writes(x, 200)] + ["copy"]
    out = run(harness, script)
    complete = [int(v) for v in out[1:-1]]
    assert complete[-1] == 8 and complete == sorted(complete)
    blocks = len(x) // ia.SAMPLES_PER_BLOCK
    expected = ia.encode(x)[(blocks - 8) * ia.BLOCK_BYTES :]
    assert bytes.fromhex(out[-1]) == expected


def test_full_scale_steps_and_a_restarted_stream_match_the_reference(harness: Path) -> None:
    steps = np.tile(np.array([32767, -32768, 0, 32767], np.int16), 400)  # 1,600 samples: 3 whole blocks
    other = machine_vibration(1.0)
    script = ["init 4", f"write {writes(other, 5000)[0]}", "reset", "copy"]
    script += [f"write {w}" for w in writes(steps, 333)] + ["copy"]
    out = run(harness, script)
    assert out[3] == ""  # nothing complete after a reset
    assert out[-2] == "3" and bytes.fromhex(out[-1]) == ia.encode(steps)  # the step index restarted at 0 too


def test_a_partial_block_is_not_sent(harness: Path) -> None:
    x = machine_vibration(1.0)[: ia.SAMPLES_PER_BLOCK - 1]
    out = run(harness, ["init 2", f"write {writes(x, 10_000)[0]}", "copy"])
    assert out[1:] == ["0", ""]
