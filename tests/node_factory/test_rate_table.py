"""The manifest's escalation-rate table (`margin_thresholds_by_rate`): thresholds for the rates the ESPHome
component's `target_escalation_rate` can pick at compile time, calibrated like the model's own thresholds."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from node_factory.__main__ import main
from node_factory.corpus.families import FAMILIES, dataset
from node_factory.reference import model_format
from node_factory.reference.network import decide, forward
from node_factory.training.calibration import TABLE_RATES
from node_factory.training.configs import CONFIGS
from node_factory.training.pipeline import recalibrate
from node_factory.training.saved_model import load_model

REPO = Path(__file__).parents[2]
FAMILY_NAMES = ["sound", "vibration", "vibration_adc"]
KEYS = ["0.05", "0.10", "0.15", "0.20", "0.25", "0.30", "0.40", "0.50"]


def val_rate(model_path: Path, family_name: str, thresholds: list[int]) -> float:
    family = FAMILIES[family_name]
    x_va = dataset("val", CONFIGS["ci"].per_class(family.name, "val"), family)[0]
    model = load_model(model_path)
    pred, margin, _ = decide(model, forward(model, x_va))
    return float(np.mean(margin < np.asarray(thresholds)[pred]))


@pytest.mark.parametrize("family_name", FAMILY_NAMES)
def test_manifest_has_the_rate_table(trained_dir: Path, family_name: str) -> None:
    family = FAMILIES[family_name]
    manifest = json.loads((trained_dir / f"{family.stem}.json").read_text())
    metrics = json.loads((trained_dir / f"{family.stem}_metrics.json").read_text())
    table = manifest["margin_thresholds_by_rate"]
    assert list(table) == KEYS == [f"{r:.2f}" for r in TABLE_RATES]
    for thresholds in table.values():
        assert len(thresholds) == len(family.classes)
        assert all(isinstance(t, int) and t >= 0 for t in thresholds)
    # the default target (0.20) is the model's own thresholds, the ones in the blob and header
    assert metrics["target_escalation_rate"] == 0.2
    assert table["0.20"] == manifest["margin_thresholds"] == metrics["margin_thresholds"]
    assert metrics["margin_thresholds_by_rate"] == table
    assert list(metrics["operating_points"]) == KEYS
    # What `calibrate` guarantees for every entry: on the validation data it escalates at most
    # rate - headroom. (Its per-class coordinate ascent does not guarantee that a higher rate has higher
    # thresholds or escalates more, so that is not asserted.)
    headroom = metrics["calibration_headroom"]
    for key, thresholds in table.items():
        assert val_rate(trained_dir / f"{family.stem}_model.npz", family_name, thresholds) <= float(key) - headroom


def test_rate_table_is_not_part_of_the_model_bytes(trained_dir: Path) -> None:
    family = FAMILIES["sound"]
    model = load_model(trained_dir / f"{family.stem}_model.npz")
    assert list(model.margin_thresholds_by_rate) == KEYS
    bare = replace(model, margin_thresholds_by_rate={})
    args = (family.features, family.model_id)
    assert model_format.payload(model, *args) == model_format.payload(bare, *args)
    assert model_format.header(model, *args) == model_format.header(bare, *args)
    with_table = model_format.manifest(model, *args, family.name)
    without = model_format.manifest(bare, *args, family.name)
    assert with_table["model_hash"] == without["model_hash"] and with_table["crc32"] == without["crc32"]
    assert "margin_thresholds_by_rate" not in without  # e.g. a model parsed back from a blob has no table


def test_export_regenerates_the_table_from_the_saved_run(trained_dir: Path, tmp_path: Path) -> None:
    assert main(["export", "--out", str(trained_dir), "--dest", str(tmp_path)]) == 0
    for family in FAMILIES.values():
        for suffix in (".json", ".h", ".bin"):
            name = family.stem + suffix
            assert (tmp_path / name).read_bytes() == (trained_dir / name).read_bytes(), name


def test_recalibrate_keeps_the_table_and_its_entry_for_the_new_target(trained_dir: Path, tmp_path: Path) -> None:
    family = FAMILIES["vibration"]
    for path in trained_dir.glob(f"{family.stem}*"):
        shutil.copy(path, tmp_path / path.name)
    before = json.loads((trained_dir / f"{family.stem}.json").read_text())
    metrics = recalibrate(tmp_path, "vibration", 0.3)
    manifest = json.loads((tmp_path / f"{family.stem}.json").read_text())
    assert manifest["margin_thresholds_by_rate"] == before["margin_thresholds_by_rate"]  # same data, headroom
    assert manifest["margin_thresholds"] == metrics["margin_thresholds"] == before["margin_thresholds_by_rate"]["0.30"]


@pytest.mark.parametrize("stem", ["sound_v1", "vibration_v1", "vibration_adc_v1"])
def test_committed_manifests_have_the_rate_table(stem: str) -> None:
    manifest = json.loads((REPO / "esphome" / "components" / "binmoe" / "models" / f"{stem}.json").read_text())
    table = manifest["margin_thresholds_by_rate"]
    assert list(table) == KEYS and table["0.20"] == manifest["margin_thresholds"]
    assert all(len(t) == len(manifest["classes"]) for t in table.values())
