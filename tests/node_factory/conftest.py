"""The reduced (CI) training runs, once per session: their exported models are what the kernel tests check."""

from __future__ import annotations

from pathlib import Path

import pytest

from node_factory.training.pipeline import run


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edge")
    for family in ("sound", "vibration", "vibration_adc"):
        run(out, "ci", seed=0, family_name=family)
    return out
