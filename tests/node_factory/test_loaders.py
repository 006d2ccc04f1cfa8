"""Loaders on small fixtures in the real layouts, and the bad inputs that must give clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat, wavfile

from node_factory.corpus import loaders
from node_factory.corpus.loaders import DataError

SR = 16000


def tone(seconds: float = 0.5, rate: int = SR, stereo: bool = False) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    return np.stack([x, x], axis=1) if stereo else x


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_esc50_layout(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    wavfile.write(tmp_path / "audio" / "1-100-A-0.wav", SR, tone())
    write_csv(
        tmp_path / "meta" / "esc50.csv", ["filename", "fold", "target", "category"], [["1-100-A-0.wav", 1, 0, "dog"]]
    )
    (clip,) = loaders.esc50(tmp_path)
    assert (clip.label, clip.fold) == ("dog", 1)
    assert loaders.read_wav(clip.path, SR).shape == (SR // 2,)


def test_esc50_label_file_lists_a_missing_clip(tmp_path: Path) -> None:
    write_csv(tmp_path / "meta" / "esc50.csv", ["filename", "fold", "target", "category"], [["gone.wav", 1, 0, "dog"]])
    with pytest.raises(DataError, match=r"esc50\.csv: lists gone\.wav"):
        loaders.esc50(tmp_path)


def test_urbansound8k_layout_and_bad_columns(tmp_path: Path) -> None:
    (tmp_path / "audio" / "fold3").mkdir(parents=True)
    wavfile.write(tmp_path / "audio" / "fold3" / "7061-6-0-0.wav", SR, tone(stereo=True))
    meta = tmp_path / "metadata" / "UrbanSound8K.csv"
    write_csv(meta, ["slice_file_name", "fold", "classID", "class"], [["7061-6-0-0.wav", 3, 6, "gun_shot"]])
    (clip,) = loaders.urbansound8k(tmp_path)
    assert clip.label == "gun_shot" and loaders.read_wav(clip.path, SR).ndim == 1  # stereo mixed down
    write_csv(meta, ["file", "fold"], [["x.wav", 1]])
    with pytest.raises(DataError, match="missing columns"):
        loaders.urbansound8k(tmp_path)


def test_folder_per_class(tmp_path: Path) -> None:
    for name in ("knock", "doorbell"):
        (tmp_path / name).mkdir()
        wavfile.write(tmp_path / name / "a.wav", SR, tone())
    assert {c.label for c in loaders.folder_per_class(tmp_path)} == {"knock", "doorbell"}
    with pytest.raises(DataError, match=r"class 'smoke_alarm' has no \.wav files"):
        loaders.folder_per_class(tmp_path, ("knock", "doorbell", "smoke_alarm"))
    with pytest.raises(DataError, match="not classes of this model"):
        loaders.folder_per_class(tmp_path, ("knock",))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "not a readable WAV file"),
        (b"", "not a readable WAV file"),
    ],
)
def test_corrupt_or_truncated_wav(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"bad.wav: {fragment}"):
        loaders.read_wav(path, SR)


def test_truncated_wav_data(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    wavfile.write(path, SR, tone())
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(DataError, match=r"cut\.wav"):
        loaders.read_wav(path, SR)


def test_wrong_sample_rate(tmp_path: Path) -> None:
    path = tmp_path / "44k.wav"
    wavfile.write(path, 44100, tone(rate=44100))
    with pytest.raises(DataError, match=r"44k\.wav: sample rate 44100 Hz, expected 16000 Hz"):
        loaders.read_wav(path, SR)


def test_windows() -> None:
    w = loaders.windows(np.arange(10, dtype=np.int16), 4)
    assert w.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert loaders.windows(np.arange(3, dtype=np.int16), 4).tolist() == [[0, 1, 2, 0]]


def test_cwru_mat_and_csv(tmp_path: Path) -> None:
    signal = np.sin(np.arange(12000) / 10.0)
    savemat(tmp_path / "97.mat", {"X097_DE_time": signal[:, None], "X097RPM": np.array([[1797]])})
    got, rpm = loaders.cwru_mat(tmp_path / "97.mat")
    np.testing.assert_allclose(got, signal)
    assert rpm == 1797
    savemat(tmp_path / "no_de.mat", {"X097_FE_time": signal[:, None]})
    with pytest.raises(DataError, match=r"no_de\.mat: no drive-end signal"):
        loaders.cwru_mat(tmp_path / "no_de.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file")
    with pytest.raises(DataError, match=r"junk\.mat: not a readable \.mat file"):
        loaders.cwru_mat(tmp_path / "junk.mat")
    csv_path = tmp_path / "acc.csv"
    csv_path.write_text("t,acc\n0,0.1\n0.001,0.2\n0.002,-0.3\n")
    np.testing.assert_allclose(loaders.vibration_csv(csv_path), [0.1, 0.2, -0.3])
    (tmp_path / "text.csv").write_text("a,b\nx,y\n")
    with pytest.raises(DataError, match=r"text\.csv: no numeric samples"):
        loaders.vibration_csv(tmp_path / "text.csv")
