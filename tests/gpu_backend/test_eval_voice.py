"""`python -m gpu_backend eval-voice`'s options for Home Assistant's `assist` set, checked before a gateway
starts: the folder, `--assist-only`, and the dataset commit recorded with the result."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from gpu_backend.eval_voice import add_arguments, assist_settings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_without_a_dataset_only_the_fixture_home_runs() -> None:
    assert assist_settings(parse()) == ({}, "benchmarks/voice_eval.py")
    with pytest.raises(SystemExit, match="--assist-only needs --assist-dataset"):
        assist_settings(parse("--assist-only"))


def test_dev_runs_only_the_development_paraphrases(tmp_path: Path) -> None:
    assert assist_settings(parse("--dev")) == ({"BINMOE_EVAL_DEV": "1"}, "benchmarks/voice_eval.py::test_voice_dev")
    with pytest.raises(SystemExit, match="not the assist set"):
        assist_settings(parse("--dev", "--assist-dataset", str(tmp_path)))


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="is not a folder"):
        assist_settings(parse("--assist-dataset", str(tmp_path / "nowhere")))


def test_the_checkout_commit_is_recorded(tmp_path: Path) -> None:
    checkout = tmp_path / "home-assistant-datasets"
    folder = checkout / "datasets" / "assist"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("a stand-in\n", encoding="utf-8")
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stand-in"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    env, tests = assist_settings(parse("--assist-dataset", str(folder), "--assist-only"))
    assert tests == "benchmarks/voice_eval.py::test_assist_dataset"
    assert env == {
        "BINMOE_EVAL_ASSIST_DATASET": str(folder.resolve()),
        "BINMOE_HA_MOUNT": str(folder.resolve()),
        "BINMOE_EVAL_ASSIST_COMMIT": head,
    }
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    assert assist_settings(parse("--assist-dataset", str(unpacked)))[0]["BINMOE_EVAL_ASSIST_COMMIT"] == "unknown"
    given = assist_settings(parse("--assist-dataset", str(unpacked), "--assist-commit", "abc123"))[0]
    assert given["BINMOE_EVAL_ASSIST_COMMIT"] == "abc123"
