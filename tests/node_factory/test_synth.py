"""The sound corpus renders the same split whatever the number of worker processes."""

from __future__ import annotations

import numpy as np
import pytest

from node_factory.corpus import synth
from node_factory.corpus.families import cache_dir


def test_split_does_not_depend_on_workers() -> None:
    one = synth.build_split("val", 3, 16384, cache_dir(), workers=1)
    two = synth.build_split("val", 3, 16384, cache_dir(), workers=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert one[2] == two[2]
    assert list(one[1]) == [c for c in range(len(synth.SOUND_CLASSES)) for _ in range(3)]


def test_render_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINMOE_RENDER_WORKERS", raising=False)
    assert synth.render_workers(100) == 1  # small splits are not worth a process
    monkeypatch.setenv("BINMOE_RENDER_WORKERS", "3")
    assert synth.render_workers(100) == 3
