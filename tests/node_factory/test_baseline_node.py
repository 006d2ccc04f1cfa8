"""The node's per-machine baseline (binmoe_baseline.cpp, built on the host by g++ like the kernel tests) against
the Python reference (node_factory.reference.baseline): every progress value, score, anomaly decision and stored
byte, on signatures of held-out machine vibration (node_factory.heldout) and on scripted shifts. Lives in the
backend suite because the held-out generator needs scipy; the harness is tests/esphome/baseline_harness.cpp."""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np
import pytest

from node_factory.corpus.families import FAMILIES
from node_factory.heldout import generate_machine_runs
from node_factory.reference.baseline import (
    ENTER_WINDOWS,
    EXIT_WINDOWS,
    AnomalyDetector,
    Baseline,
    BaselineLearner,
    digest8,
    null_floor,
    persistence_windows,
    signature,
)
from node_factory.reference.features import frame_features
from tests.node_factory import component_harness

CFG = FAMILIES["vibration"].features
DIGEST = digest8(CFG.digest())


@pytest.fixture(scope="module")
def baseline_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return component_harness.build(tmp_path_factory.mktemp("baseline"), "baseline_harness", "binmoe_baseline.cpp")


run = component_harness.run


def machine_signatures(windows: int, seed: int) -> list[np.ndarray]:
    """Signatures of consecutive windows of a held-out machine: healthy, then (in the end) a fault."""
    run_ = generate_machine_runs(seed, 1, CFG.sample_rate, 0.02, chunk_seconds=CFG.window_samples / CFG.sample_rate,
                                 fault_segment_s=40.0, onset_fraction=(0.0, 0.1))[0]  # fmt: skip
    sigs = []
    for chunk in run_.chunks():
        if len(chunk.audio) == CFG.window_samples:
            sigs.append(signature(frame_features(chunk.audio.reshape(CFG.frames, CFG.frame), CFG)))
        if len(sigs) == windows:
            break
    return sigs


def _line(sig: np.ndarray) -> str:
    return " ".join(str(int(v)) for v in sig)


@pytest.mark.parametrize("seed", [1, 2])
def test_learning_scoring_and_blob_match_the_reference(baseline_harness: Path, seed: int) -> None:
    sigs = machine_signatures(60, seed)
    learn, score = sigs[:20], sigs[20:]
    learner = BaselineLearner(CFG.bands, len(learn), DIGEST)
    expected = ["1"]
    for s in learn:
        learner.push(s)
        expected.append(str(learner.progress_percent))
    baseline = learner.result()
    expected.append(baseline.to_bytes().hex())
    detector = AnomalyDetector(baseline)
    for s in score:
        value, started = detector.push(s)
        expected.append(f"{value} {int(started)} {int(detector.active)}")
    script = [f"start {CFG.bands} {len(learn)} {DIGEST.hex()}", *[f"learn {_line(s)}" for s in learn], "result"]
    script += [f"push {_line(s)}" for s in score]
    got = run(baseline_harness, script)
    assert got == expected
    # the stream shows what is compared: healthy windows stay below the threshold, the fault goes above it
    scores = [int(line.split()[0]) for line in got[len(learn) + 2 :]]
    assert min(scores) < baseline.threshold < max(scores)


def test_scripted_shift_raises_one_anomaly_with_hysteresis(baseline_harness: Path) -> None:
    rng = np.random.default_rng(5)
    quiet = [rng.integers(-600, 600, 16).astype(np.int32) for _ in range(40)]
    loud = [q + 4000 for q in quiet[:10]]
    script = [f"start 16 20 {DIGEST.hex()}", *[f"learn {_line(s)}" for s in quiet[:20]], "result"]
    script += [f"push {_line(s)}" for s in quiet[20:] + loud + quiet[20:30]]
    got = run(baseline_harness, script)[22:]
    started = [i for i, line in enumerate(got) if line.split()[1] == "1"]
    assert started == [22]  # the third loud window in a row
    assert got[-1].endswith(" 0") and got[29].endswith(" 1")  # ends after six quiet windows


def test_stored_baselines_load_and_foreign_old_or_corrupt_ones_are_refused(baseline_harness: Path) -> None:
    sigs = machine_signatures(12, 3)
    learner = BaselineLearner(CFG.bands, 12, DIGEST)
    for s in sigs:
        learner.push(s)
    blob = learner.result().to_bytes()
    other = digest8(FAMILIES["vibration_adc"].features.digest())
    corrupt = bytearray(blob)
    corrupt[40] ^= 4
    v1 = bytearray(blob[:24] + bytes(16 * 6))  # format version 1: the same header, per-band mean and weight
    v1[4] = 1
    v1 += zlib.crc32(v1).to_bytes(4, "little")
    script = [f"load {blob.hex()} {DIGEST.hex()}", f"load {blob.hex()} {other.hex()}",
              f"load {bytes(corrupt).hex()} {DIGEST.hex()}", f"load {blob[:20].hex()} {DIGEST.hex()}",
              f"load {bytes(v1).hex()} {DIGEST.hex()}",
              "start 16 3 " + DIGEST.hex(), "start 17 100 " + DIGEST.hex()]  # fmt: skip
    assert run(baseline_harness, script) == ["ok", "foreign", "corrupt", "corrupt", "old", "0", "0"]
    assert Baseline.from_bytes(blob, DIGEST).threshold == learner.result().threshold


def test_format_version_is_read_from_a_blob_with_the_magic_only(baseline_harness: Path) -> None:
    """baseline_format_version, which the loader and the component's format-1 check share."""
    learner = BaselineLearner(CFG.bands, 12, DIGEST)
    for s in machine_signatures(12, 4):
        learner.push(s)
    blob = learner.result().to_bytes()
    v1 = b"BMBL\x01" + blob[5:24]
    foreign_magic = b"BMBX" + blob[4:]
    script = [f"version {b.hex()}" for b in (blob, v1, foreign_magic, blob[:4], blob[:5])]
    assert run(baseline_harness, script) == [str(blob[4]), "1", "0", "0", str(blob[4])]
    assert blob[4] == 2


def test_correlated_and_extreme_signatures_match_the_reference(baseline_harness: Path) -> None:
    # nearly collinear bands, quiet bands at the variance floor, and departures that saturate the whitened
    # deviations and the score
    rng = np.random.default_rng(11)
    common = rng.normal(0, 900, 40)
    learn = [np.clip(c * np.linspace(0.2, 4, 16) + rng.normal(0, 3, 16) * (np.arange(16) % 3), -4096, 4095)
             .astype(np.int32) for c in common]  # fmt: skip
    score = [rng.integers(-4096, 4096, 16).astype(np.int32) for _ in range(30)]
    score += [np.full(16, v, np.int32) for v in (-4096, 4095, 0)] + [2_000_000_000 * np.eye(16, dtype=np.int32)[3]]
    learner = BaselineLearner(16, len(learn), DIGEST)
    for s in learn:
        learner.push(s)
    baseline = learner.result()
    detector = AnomalyDetector(baseline)
    expected = [baseline.to_bytes().hex()] + [
        "{} {} {}".format(*(lambda r: (r[0], int(r[1]), int(detector.active)))(detector.push(s))) for s in score
    ]
    script = [f"start 16 {len(learn)} {DIGEST.hex()}", *[f"learn {_line(s)}" for s in learn], "result"]
    got = run(baseline_harness, script + [f"push {_line(s)}" for s in score])
    assert got[len(learn) + 1 :] == expected
    # strongly coupled bands: the factor is far from the identity, within its bound (1 + 1/16) * 4 in Q12
    assert 2048 < max(abs(v) for v in baseline.model.lower) <= 17408
    assert int(got[-1].split()[0]) > 10**8  # the clamped deviation still scores far above any threshold


@pytest.mark.parametrize("bands", [1, 2, 8, 16])
def test_the_threshold_floor_matches_the_reference(baseline_harness: Path, bands: int) -> None:
    # identical windows: the calibration half scores 0, so the threshold is the null floor for `bands` bands
    learner = BaselineLearner(bands, 6, DIGEST)
    for _ in range(6):
        learner.push(np.full(bands, 100, np.int32))
    baseline = learner.result()
    assert baseline.threshold == null_floor(bands)
    script = [f"start {bands} 6 {DIGEST.hex()}", *[f"learn {_line(np.full(bands, 100))}"] * 6, "result"]
    assert run(baseline_harness, script)[-1] == baseline.to_bytes().hex()


@pytest.mark.parametrize(
    ("window", "hop", "counts"),
    [(8192, 8192, (3, 6)), (8192, 4096, (5, 11)), (8192, 2048, (9, 21)), (8192, 3000, (7, 15)), (8192, 256, (65, 161)),
     (16384, 32, (255, 255)), (512, 512, (3, 6))],
)  # fmt: skip
def test_persistence_is_the_same_signal_at_any_hop(window: int, hop: int, counts: tuple[int, int]) -> None:
    """3 and 6 whole windows' worth of signal as windows in a row at the hop (the node's codegen computes the same:
    tests/esphome/test_configs.py)."""
    assert persistence_windows(window, hop) == counts
    enter, exit_ = counts
    if enter < 255:  # the windows in a row span at least the signal of ENTER_WINDOWS whole windows, not one more hop
        assert window + (enter - 1) * hop >= ENTER_WINDOWS * window > window + (enter - 2) * hop
        assert window + (exit_ - 1) * hop >= EXIT_WINDOWS * window > window + (exit_ - 2) * hop


def test_a_baseline_learnt_at_half_a_window_keeps_its_hysteresis(baseline_harness: Path) -> None:
    """The learner stores the counts it was started with (node and reference, byte for byte); the detector waits
    for five windows above the threshold and eleven below 3/4 of it."""
    rng = np.random.default_rng(6)
    quiet = [rng.integers(-600, 600, 16).astype(np.int32) for _ in range(40)]
    loud = [q + 4000 for q in quiet[:12]]
    learner = BaselineLearner(16, 20, DIGEST, *persistence_windows(8192, 4096))
    for s in quiet[:20]:
        learner.push(s)
    baseline = learner.result()
    assert (baseline.enter_windows, baseline.exit_windows) == (5, 11)
    assert Baseline.from_bytes(baseline.to_bytes(), DIGEST) == baseline
    script = [f"start 16 20 {DIGEST.hex()} 5 11", *[f"learn {_line(s)}" for s in quiet[:20]], "result"]
    script += [f"push {_line(s)}" for s in quiet[20:] + loud + quiet[20:35]]
    got = run(baseline_harness, script)
    assert got[21] == baseline.to_bytes().hex()
    pushed = got[22:]
    assert [i for i, line in enumerate(pushed) if line.split()[1] == "1"] == [24]  # the fifth loud window in a row
    assert pushed[20 + 12 + 9].endswith(" 1") and pushed[20 + 12 + 10].endswith(" 0")  # ends on the eleventh quiet
    assert run(baseline_harness, [f"start 16 20 {DIGEST.hex()} 0 11"]) == ["0"]
    with pytest.raises(ValueError, match="hysteresis"):
        BaselineLearner(16, 20, DIGEST, 0, 11)


def test_a_stored_baseline_is_scored_with_the_nodes_own_hysteresis(baseline_harness: Path) -> None:
    """A baseline stored (or set) with 3 / 6 is scored with the counts the node is configured for (its YAML's
    anomaly_start_after / anomaly_end_after at its hop), as the reference does with those counts; a zero keeps the
    stored one."""
    rng = np.random.default_rng(7)
    quiet = [rng.integers(-600, 600, 16).astype(np.int32) for _ in range(40)]
    learner = BaselineLearner(16, 20, DIGEST)
    for s in quiet[:20]:
        learner.push(s)
    stored = learner.result()
    assert (stored.enter_windows, stored.exit_windows) == (3, 6)
    stream = quiet[20:] + [q + 4000 for q in quiet[:12]] + quiet[20:35]
    for counts, expected in (((5, 11), (5, 11)), ((0, 9), (3, 9))):
        reference = AnomalyDetector(dataclasses.replace(stored, enter_windows=expected[0], exit_windows=expected[1]))
        want = ["ok", "ok"]
        for s in stream:
            score, started = reference.push(s)
            want.append(f"{score} {int(started)} {int(reference.active)}")
        script = [f"load {stored.to_bytes().hex()} {DIGEST.hex()}", f"persistence {counts[0]} {counts[1]}"]
        got = run(baseline_harness, script + [f"push {_line(s)}" for s in stream])
        assert got == want
        starts = [i for i, line in enumerate(got[2:]) if line.split()[1] == "1"]
        assert starts == [20 + expected[0] - 1]
