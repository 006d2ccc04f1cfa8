"""The reduced (CI) training run, once per session: its exported model is what the kernel tests check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpu_backend.edge.pipeline import run


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, object]]]:
    out = tmp_path_factory.mktemp("edge")
    metrics = run(out, "ci", seed=0)
    yield out, metrics
