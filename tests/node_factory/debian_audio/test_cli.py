from __future__ import annotations

from pathlib import Path

import pytest

from node_factory.corpus.debian_audio.__main__ import main


def test_list_prints_every_package_with_its_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "eval  wesnoth-1.16-music" in out
    assert "train warzone2100-music" in out
    assert "positive sound-theme-freedesktop" in out


def test_screen_on_an_empty_cache_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "--purpose", "eval", "--cache", str(tmp_path)]) == 1
    assert "run fetch first" in capsys.readouterr().err
