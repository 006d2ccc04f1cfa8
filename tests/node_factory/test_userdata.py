"""Training on the user's own data in the real layouts: splits by source file, clear errors, nothing written
on failure, and a model that the kernel runs."""

from __future__ import annotations

import csv
import json
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat, wavfile

from node_factory.__main__ import main
from node_factory.corpus import userdata
from node_factory.corpus.loaders import DataError
from node_factory.corpus.userdata import UserData

SR = 16000
TONES = {"kettle": 900.0, "microwave": 2500.0, "phone": 5200.0}
KERNEL_DIR = Path(__file__).parents[2] / "esphome" / "components" / "binmoe" / "kernel"


def clip(freq: float, seed: int, seconds: float = 2.1, rate: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = np.sin(2 * np.pi * freq * (1 + rng.uniform(-0.03, 0.03)) * t) * rng.uniform(0.05, 0.5)
    return ((x + rng.normal(0, 0.02, len(t))) * 32767).clip(-32768, 32767).astype(np.int16)


def folder_fixture(root: Path, per_class: int = 7) -> Path:
    for label, freq in TONES.items():
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            wavfile.write(root / label / f"{label}_{i}.wav", SR, clip(freq, zlib.crc32(f"{label}-{i}".encode()) % 1000))
    return root


def test_folder_layout_trains_a_model_the_kernel_runs(tmp_path: Path) -> None:
    # 14 clips a class (60 training windows): with 7 (30 windows, 6 to test) the level-normalised BNN student
    # missed one test window at seed 0 (macro-F1 0.82) while the float student scored 1.0; seeds 0-2 at 14: 1.0
    data = folder_fixture(tmp_path / "data", per_class=14)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--family", "sound", "--config", "ci", "--out", str(out)]) == 0
    metrics = json.loads((out / "sound_custom_metrics.json").read_text())
    assert metrics["classes"] == sorted(TONES) and metrics["model_id"] == "sound-custom"
    assert metrics["student_bnn_macro_f1"] > 0.9  # three tones far apart are easy
    manifest = json.loads((out / "sound_custom.json").read_text())
    assert manifest["classes"] == sorted(TONES) and manifest["model_bytes"] <= 3072
    source = tmp_path / "use.cpp"
    source.write_text(
        '#include "sound_custom.h"\nnamespace m = binmoe::models::sound_custom;\n'
        "static_assert(m::kClasses == 3 && binmoe::takes_input(m::kModel, 16000));\n"
        "int main() { static binmoe::Pipeline<m::ModelType> p(m::kModel); return p.window_ready(); }\n"
    )
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Werror", f"-I{KERNEL_DIR}", f"-I{out}", str(source),
                    "-o", str(tmp_path / "use")], check=True)  # fmt: skip
    dest = tmp_path / "models"
    assert main(["export", "--data", str(data), "--family", "sound", "--out", str(out), "--dest", str(dest)]) == 0
    assert (dest / "sound_custom.h").read_bytes() == (out / "sound_custom.h").read_bytes()


def test_folder_splits_are_by_file_and_cover_every_class(tmp_path: Path) -> None:
    data = folder_fixture(tmp_path / "data")
    clips = userdata.clips(UserData(data), vibration=False)
    splits = userdata.assign_splits(clips, data)
    paths = {split: {c.path for c in members} for split, members in splits.items()}
    assert not (paths["train"] & paths["test"]) and not (paths["train"] & paths["val"])
    assert sum(len(p) for p in paths.values()) == len(clips) == 21
    for members in splits.values():
        assert {c.label for c in members} == set(TONES)
    again = userdata.assign_splits(userdata.clips(UserData(data), vibration=False), data)
    assert {s: [c.path for c in m] for s, m in again.items()} == {s: [c.path for c in m] for s, m in splits.items()}


def test_esc50_folds_are_the_splits(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    rows = []
    for fold in (1, 2, 3, 4):
        for label, freq in TONES.items():
            name = f"{fold}-{label}.wav"
            wavfile.write(tmp_path / "audio" / name, SR, clip(freq, fold))
            rows.append([name, fold, 0, label])
    (tmp_path / "meta").mkdir()
    with (tmp_path / "meta" / "esc50.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["filename", "fold", "target", "category"], *rows])
    data = UserData(tmp_path, "esc50")
    splits = userdata.assign_splits(userdata.clips(data, False), tmp_path)
    assert {c.fold for c in splits["test"]} == {4} and {c.fold for c in splits["val"]} == {3}
    windows, labels, names = userdata.build_split(data, "train", userdata.FeatureConfig(), vibration=False)
    assert names == tuple(sorted(TONES)) and len(windows) == len(labels) == 2 * 3 * 2  # 2 folds, 3 classes, 2 windows


def test_bad_user_data_names_the_problem_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = folder_fixture(tmp_path / "data", per_class=3)
    out = tmp_path / "run"
    (data / "kettle" / "kettle_0.wav").unlink()  # two files left: too few for train/val/test
    assert main(["train", "--data", str(data), "--family", "sound", "--config", "ci", "--out", str(out)]) == 2
    assert "class 'kettle' needs at least 3 files" in capsys.readouterr().err
    assert not out.exists()
    wavfile.write(data / "kettle" / "kettle_0.wav", 44100, clip(900, 1, rate=44100))  # wrong rate
    assert main(["train", "--data", str(data), "--family", "sound", "--config", "ci", "--out", str(out)]) == 2
    assert "kettle_0.wav: sample rate 44100 Hz, expected 16000 Hz" in capsys.readouterr().err
    assert not out.exists()
    (data / "kettle" / "kettle_0.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # corrupt
    assert main(["train", "--data", str(data), "--family", "sound", "--config", "ci", "--out", str(out)]) == 2
    assert "kettle_0.wav: not a readable WAV file" in capsys.readouterr().err
    assert not out.exists()


def test_vibration_mat_and_csv_are_resampled_and_scaled(tmp_path: Path) -> None:
    rate = 12000  # CWRU's drive-end rate
    t = np.arange(rate * 3) / rate
    signal = 2.0 * np.sin(2 * np.pi * 30 * t)  # 2 g at 30 Hz
    (tmp_path / "imbalance").mkdir()
    savemat(tmp_path / "imbalance" / "97.mat", {"X097_DE_time": signal[:, None]})
    (tmp_path / "imbalance" / "98.csv").write_text("\n".join(f"{v:.6f}" for v in signal))
    from node_factory.corpus.families import FAMILIES

    config = FAMILIES["vibration"].features
    for name in ("97.mat", "98.csv"):
        item = userdata.Clip(tmp_path / "imbalance" / name, "imbalance")
        samples = userdata.read_samples(item, UserData(tmp_path, data_rate=rate), config)
        assert len(samples) == pytest.approx(3 * config.sample_rate, abs=2)
        assert np.abs(samples).max() == pytest.approx(2.0 / 16.0 * 32767, rel=0.01)
        with pytest.raises(DataError, match=rf"{name}: .* files carry no sample rate"):
            userdata.read_samples(item, UserData(tmp_path), config)
