"""The whole pipeline on a .deb built here: unpack, select, decode, skip, stamp, rebuild, fail cleanly."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from node_factory.corpus.debian_audio import decode
from node_factory.corpus.debian_audio.debian import Candidate, FetchError, candidate, extract
from node_factory.corpus.debian_audio.fetch import fetch, fetch_packages, load_clips
from node_factory.corpus.debian_audio.manifest import PackageSpec, Rule

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("dpkg-deb", "sox")), reason="needs dpkg-deb and sox (apt-get install sox)"
)
DATA = "usr/share/games/fake"


def _wav(path: Path, seconds: float, rate: int = 44100, channels: int = 2, silent: bool = False) -> None:
    t = np.arange(int(seconds * rate)) / rate
    tone = np.zeros_like(t) if silent else 0.3 * np.sin(2 * np.pi * 440 * t)
    data = (np.repeat(tone[:, None], channels, axis=1) * 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, data)


def _build_deb(tmp: Path, name: str = "fake-sounds") -> Path:
    root = tmp / "pkgroot"
    _wav(root / DATA / "music/song.wav", 2.0)
    _wav(root / DATA / "sfx/door.wav", 1.0, rate=22050, channels=1)
    _wav(root / DATA / "sfx/click.wav", 0.2)
    _wav(root / DATA / "sfx/quiet.wav", 1.0, silent=True)
    _wav(root / DATA / "sfx/Alarm.wav", 1.0)
    subprocess.run(["sox", str(root / DATA / "sfx/door.wav"), str(root / DATA / "sfx/door_ogg.ogg")], check=True)
    (root / DATA / "sfx/broken.ogg").write_bytes(b"OggS this is not a vorbis stream")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: t\n"
    )
    deb = tmp / f"{name}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(root), str(deb)], check=True, capture_output=True)
    return deb


def _spec(purpose: str = "eval", exclude: tuple[str, ...] = ("*/Alarm.wav",)) -> PackageSpec:
    rules = (Rule(f"{DATA}/music/*", "music"), Rule(f"{DATA}/sfx/*", "sfx"))
    return PackageSpec("fake-sounds", "1.0-1", purpose, "fake", "GPL-2", rules, exclude)  # type: ignore[arg-type]


class FakeApt:
    def __init__(self, deb: Path) -> None:
        self.deb = deb
        self.calls = 0

    def __call__(self, name: str, deb_dir: Path) -> tuple[Path, Candidate]:
        self.calls += 1
        deb_dir.mkdir(parents=True, exist_ok=True)
        target = deb_dir / self.deb.name
        shutil.copy(self.deb, target)
        return target, Candidate(name, "1.0-1", "0" * 64, self.deb.name)


@needs_tools
def test_fetch_decodes_selects_skips_and_records(tmp_path: Path) -> None:
    apt = FakeApt(_build_deb(tmp_path))
    messages: list[str] = []
    paths = fetch("eval", tmp_path / "cache", messages.append, manifest=[_spec()], download=apt, jobs=2)

    names = sorted(p.name for p in paths)
    assert names == ["door.wav.wav", "door_ogg.ogg.wav", "song.wav.wav"]
    for path in paths:
        rate, data = wavfile.read(path)
        assert rate == 16000 and data.dtype == np.int16 and data.ndim == 1
    song = next(p for p in paths if p.name == "song.wav.wav")
    assert len(wavfile.read(song)[1]) == pytest.approx(32000, abs=2)

    index = json.loads((tmp_path / "cache/eval/fake-sounds/index.json").read_text())
    reasons = {Path(s["source"]).name: s["reason"] for s in index["skipped"]}
    assert reasons["click.wav"].startswith("too short")
    assert reasons["quiet.wav"].startswith("silent")
    assert reasons["broken.ogg"].startswith("sox failed")
    assert "Alarm.wav" not in reasons and not any("Alarm" in p.name for p in paths)
    assert {c["content"] for c in index["clips"]} == {"music", "sfx"}
    assert any("skipped" in m and "broken.ogg" in m for m in messages)
    assert not list((tmp_path / "cache/eval").glob(".*partial"))
    assert not (tmp_path / "cache/debs" / apt.deb.name).exists()  # removed unless keep_debs

    clips = load_clips("eval", tmp_path / "cache", manifest=[_spec()])
    assert sorted(c.path for c in clips) == sorted(paths)
    assert sum(c.seconds for c in clips) == pytest.approx(4.0, abs=0.01)


@needs_tools
def test_second_run_is_served_from_the_stamp_and_a_rule_change_rebuilds(tmp_path: Path) -> None:
    apt = FakeApt(_build_deb(tmp_path))
    cache = tmp_path / "cache"
    first = fetch("eval", cache, manifest=[_spec()], download=apt)
    [result] = fetch_packages("eval", cache, manifest=[_spec()], download=apt)
    assert apt.calls == 1 and result.cached
    assert sorted(c.path for c in result.clips) == sorted(first)

    loosened = _spec(exclude=())
    again = fetch("eval", cache, manifest=[loosened], download=apt)
    assert apt.calls == 2
    assert any(p.name == "Alarm.wav.wav" for p in again)


@needs_tools
def test_an_interrupted_build_leaves_nothing_that_looks_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apt = FakeApt(_build_deb(tmp_path))
    cache = tmp_path / "cache"
    real = decode.decode
    calls = {"n": 0}

    def dies_on_third(src: Path, dst: Path, min_seconds: float) -> float:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(src, dst, min_seconds)

    monkeypatch.setattr(decode, "decode", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        fetch("eval", cache, manifest=[_spec()], download=apt, jobs=1)
    assert not (cache / "eval/fake-sounds").exists()
    assert not (cache / "eval/.fake-sounds.partial").exists()
    with pytest.raises(FetchError, match="fake-sounds: not in"):
        load_clips("eval", cache, manifest=[_spec()])

    monkeypatch.setattr(decode, "decode", real)
    assert len(fetch("eval", cache, manifest=[_spec()], download=apt)) == 3


@needs_tools
def test_a_package_whose_files_mostly_fail_is_an_error_naming_it(tmp_path: Path) -> None:
    apt = FakeApt(_build_deb(tmp_path))
    only_broken = PackageSpec("fake-sounds", "1.0-1", "eval", "fake", "GPL-2", (Rule("*broken.ogg", "sfx"),))
    with pytest.raises(FetchError, match=r"fake-sounds: 1 of 1 files failed to decode.*broken\.ogg"):
        fetch("eval", tmp_path / "cache", manifest=[only_broken], download=apt)
    assert list((tmp_path / "cache/eval").iterdir()) == []  # the half-built package is gone
    nothing = PackageSpec("fake-sounds", "1.0-1", "eval", "fake", "GPL-2", (Rule("*.flac", "sfx"),))
    with pytest.raises(FetchError, match=r"fake-sounds 1\.0-1: no file matches"):
        fetch("eval", tmp_path / "cache", manifest=[nothing], download=apt)


def test_a_manifest_that_mixes_the_sets_is_refused_before_any_download(tmp_path: Path) -> None:
    def no_download(name: str, deb_dir: Path) -> tuple[Path, Candidate]:
        raise AssertionError("must not download")

    mixed = [_spec("eval"), PackageSpec("other", "1", "train", "fake", "GPL-2", (Rule("*", "sfx"),))]
    with pytest.raises(ValueError, match="share upstream"):
        fetch("eval", tmp_path, manifest=mixed, download=no_download)


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="needs apt-cache")
def test_an_unknown_package_is_an_error_naming_it() -> None:
    with pytest.raises(FetchError, match="no-such-package-binmoe: not in the apt lists"):
        candidate("no-such-package-binmoe")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_a_corrupt_deb_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad_1_all.deb"
    bad.write_bytes(b"not an ar archive")
    with pytest.raises(FetchError, match=r"bad_1_all\.deb: dpkg-deb -x"):
        extract(bad, tmp_path / "out")


@needs_tools
def test_a_short_clip_is_kept_where_the_spec_allows_it(tmp_path: Path) -> None:
    src = tmp_path / "beep.wav"
    _wav(src, 0.2)
    with pytest.raises(decode.Unusable, match="too short"):
        decode.decode(src, tmp_path / "a.wav")
    assert decode.decode(src, tmp_path / "b.wav", min_seconds=0.05) == pytest.approx(0.2, abs=0.001)
    assert not list(tmp_path.glob("*.part"))
