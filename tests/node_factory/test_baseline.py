"""The per-machine baseline and anomaly score reference (node_factory.reference.baseline)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from node_factory.corpus.families import FAMILIES
from node_factory.reference.baseline import (
    MAX_BANDS,
    AnomalyDetector,
    Baseline,
    BaselineLearner,
    ForeignBaseline,
    digest8,
    null_floor,
    signature,
    stored_bytes,
)
from tests.node_factory.source_constants import source_constants

ROOT = Path(__file__).resolve().parents[2]

DIGEST = digest8(FAMILIES["vibration"].features.digest())
OTHER = digest8(FAMILIES["sound"].features.digest())


def _signatures(rng: np.random.Generator, n: int, shift: int = 0) -> list[np.ndarray]:
    feats = rng.integers(-20, 20, size=(n, 32, 16)).astype(np.int8) + np.int8(shift)
    return [signature(f) for f in feats]


def _learn(rng: np.random.Generator, n: int = 40) -> Baseline:
    learner = BaselineLearner(16, n, DIGEST)
    for s in _signatures(rng, n):
        assert not learner.done
        learner.push(s)
    assert learner.done and learner.progress_percent == 100
    return learner.result()


def test_signature_is_the_per_band_sum_over_frames() -> None:
    f = np.zeros((32, 16), np.int8)
    f[:, 3] = -128
    f[0, 5] = 7
    sig = signature(f)
    assert sig.dtype == np.int32 and sig[3] == -128 * 32 and sig[5] == 7 and sig[0] == 0


def test_healthy_windows_stay_below_the_threshold_and_a_shift_raises_one_anomaly() -> None:
    rng = np.random.default_rng(1)
    baseline = _learn(rng)
    assert baseline.threshold >= null_floor(16) and baseline.windows == 40
    det = AnomalyDetector(baseline)
    healthy = [det.push(s) for s in _signatures(rng, 200)]
    assert not any(started for _, started in healthy)
    shifted = [det.push(s) for s in _signatures(rng, 20, shift=30)]
    assert [started for _, started in shifted].count(True) == 1
    assert shifted[0][0] > baseline.threshold and not shifted[0][1] and shifted[2][1]  # three in a row
    assert det.active
    for s in _signatures(rng, 6):
        det.push(s)
    assert not det.active  # six quiet windows end it


def test_blob_round_trips_and_refuses_foreign_old_or_corrupt_baselines() -> None:
    baseline = _learn(np.random.default_rng(2))
    blob = baseline.to_bytes()
    # header, mean/scale/weight per band, L (int16), CRC
    assert len(blob) == 24 + 16 * 8 + 120 * 2 + 4 == stored_bytes(16) == 396
    assert Baseline.from_bytes(blob, DIGEST) == baseline
    with pytest.raises(ForeignBaseline, match="learnt with features"):
        Baseline.from_bytes(blob, OTHER)
    corrupt = bytearray(blob)
    corrupt[30] ^= 1
    with pytest.raises(ValueError, match="corrupt"):
        Baseline.from_bytes(bytes(corrupt), DIGEST)
    with pytest.raises(ValueError, match="too short"):
        Baseline.from_bytes(blob[:10], DIGEST)
    # a version-1 blob (per-band variances only) is refused as foreign: learn again
    v1 = b"BMBL" + bytes([1, 16]) + DIGEST + (40).to_bytes(4, "little") + (799).to_bytes(4, "little") + b"\x03\x06"
    v1 += bytes(16 * 6)
    with pytest.raises(ForeignBaseline, match="format version 1"):
        Baseline.from_bytes(v1 + zlib.crc32(v1).to_bytes(4, "little"), DIGEST)


def test_correlated_healthy_variation_is_learnt_and_a_single_band_departure_is_not_hidden() -> None:
    # healthy windows whose bands move together (a speed or load change lifts the whole spectrum) plus a
    # little independent noise: the diagonal score would count the common movement once per band
    rng = np.random.default_rng(7)
    common = rng.normal(0, 300, 200)
    sigs = [(c + rng.normal(0, 30, 16)).astype(np.int32) for c in common]
    learner = BaselineLearner(16, 200, DIGEST)
    for s in sigs:
        learner.push(s)
    baseline = learner.result()
    together = np.full(16, 600, np.int32)  # 2 sd of the common movement, in every band
    one_band = np.zeros(16, np.int32)
    one_band[5] = 800  # 2.6 sd of that band's total variance, far beyond its independent part (and the ridge)
    assert baseline.score(together) < baseline.threshold < baseline.score(one_band)
    diagonal = sum(
        ((v - m) ** 2) / np.var([s[b] for s in sigs])
        for b, (v, m) in enumerate(zip(one_band, baseline.model.mean, strict=True))
    )
    assert 16 * diagonal < baseline.threshold  # what the diagonal score made of the same departure


def test_learner_refuses_too_short_a_baseline_and_an_unfinished_result() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        BaselineLearner(16, 3, DIGEST)
    with pytest.raises(ValueError, match="1 to 16 bands"):
        BaselineLearner(17, 10, DIGEST)
    learner = BaselineLearner(16, 10, DIGEST)
    learner.push(np.zeros(16, np.int32))
    with pytest.raises(ValueError, match="not finished"):
        learner.result()


def test_the_threshold_never_drops_below_the_null_scores_tail() -> None:
    # 16 * (k + 6 sqrt(2k)) in Q4: k = 16 bands -> 256 + floor(sqrt(294,912)) = 256 + 543
    assert null_floor(16) == 799
    for k in (1, 8, 16):
        assert abs(null_floor(k) - 16 * (k + 6 * np.sqrt(2 * k))) < 1
    # a baseline whose calibration half looks exactly like its first half gets the floor, not 1.5 x 0
    learner = BaselineLearner(16, 20, DIGEST)
    for _ in range(20):
        learner.push(np.full(16, -300, np.int32))
    assert learner.result().threshold == null_floor(16)


def test_the_esphome_component_and_home_assistant_check_a_baseline_text_by_the_stored_sizes() -> None:
    """The stored size lives in three places that ship apart (the node's C++, the ESPHome component's YAML check,
    Home Assistant's action); the C++ is held to the reference by the host tests, these two here."""
    smallest, largest = stored_bytes(1), stored_bytes(MAX_BANDS)
    assert (smallest, largest) == (36, 396)
    esphome = source_constants(
        ROOT / "esphome/components/binmoe/__init__.py", {"MIN_BASELINE_BLOB", "MAX_BASELINE_BLOB"}
    )
    assert esphome == {"MIN_BASELINE_BLOB": smallest, "MAX_BASELINE_BLOB": largest}
    hass = source_constants(ROOT / "custom_components/binmoe/services.py", {"BASELINE_MIN_BYTES", "BASELINE_MAX_BYTES"})
    assert hass == {"BASELINE_MIN_BYTES": smallest, "BASELINE_MAX_BYTES": largest}
