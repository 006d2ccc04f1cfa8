"""`python -m node_factory baseline`: the per-machine baseline on a user's recordings
(node_factory/commands/baseline.py): learnt from a healthy recording, healthy running scores under the
threshold and a bearing fault over it, the saved blob is the node's and scores the same when loaded, the
windows are the node's (half-window hop, the reference's scores), and clear errors that name the file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat, wavfile

from node_factory.__main__ import main
from node_factory.corpus.families import FAMILIES
from node_factory.reference.baseline import Baseline, digest8, signature
from node_factory.reference.features import features

RATE = 12_000  # CWRU's drive-end rate; the ADXL345 family's features are at 3.2 kHz
RPM = 1797.0
CFG = FAMILIES["vibration"].features


def machine_g(seconds: float, seed: int, outer_race: bool = False) -> np.ndarray:
    """1x and 2x of a shaft at RPM and sensor noise, in g; with outer-race impacts ringing a 1.2 kHz resonance."""
    n = int(seconds * RATE)
    t, rng = np.arange(n) / RATE, np.random.default_rng(seed)
    x = 0.05 * np.sin(2 * np.pi * RPM / 60 * t) + 0.02 * np.sin(4 * np.pi * RPM / 60 * t + 1) + rng.normal(0, 0.01, n)
    if outer_race:
        k = np.arange(96)
        ring = np.exp(-k / 12) * np.sin(2 * np.pi * 1200 * k / RATE) * 0.3
        for start in np.arange(0, n - 96, RATE / (3.585 * RPM / 60)).astype(int):
            x[start : start + 96] += ring
    return x


def mat(path: Path, seconds: float, seed: int, outer_race: bool = False) -> Path:
    savemat(path, {"X100_DE_time": machine_g(seconds, seed, outer_race)[:, None], "X100RPM": np.array([[RPM]])})
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object] | None, str]:
    code = main(["baseline", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


@pytest.fixture
def recordings(tmp_path: Path) -> dict[str, Path]:
    return {
        "healthy": mat(tmp_path / "healthy.mat", 60, 1),
        "later": mat(tmp_path / "later.mat", 30, 2),
        "faulty": mat(tmp_path / "faulty.mat", 30, 3, outer_race=True),
    }


def test_healthy_running_passes_and_a_fault_is_flagged_with_a_saved_baseline_that_scores_the_same(
    recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = tmp_path / "pump.baseline"
    common = ["--family", "vibration", "--rate", str(RATE), "--per-window"]
    scored = ["--score", str(recordings["later"]), "--score", str(recordings["faulty"])]
    code, report, _ = run([str(recordings["healthy"]), *common, *scored, "--save", str(blob)], capsys)
    assert code == 0 and report is not None
    base = report["baseline"]
    assert isinstance(base, dict)
    # 60 s at a hop of 1.28 s (half a 2.56 s window, as the node): 45 windows
    assert base["windows"] == 45 and base["bytes"] == 396 and base["saved"] == str(blob)
    later, faulty = report["recordings"]  # type: ignore[misc]
    assert later["anomaly"] is False and later["windows_above_threshold"] == 0
    assert later["score_max"] < base["threshold"]
    assert faulty["anomaly"] is True and faulty["windows_above_threshold"] == faulty["windows"] == 22
    # three whole windows' signal (five windows in a row at the half-window hop) start an anomaly; it lasts to the
    # recording's end; the saved baseline holds those counts (the node's at its default hop)
    assert faulty["anomalies"] == [{"start_s": round((4 * 1.28 + 2.56), 2), "end_s": None}]

    assert base64.b64decode(base["base64"], validate=True) == blob.read_bytes()  # the text set_baseline takes
    stored = Baseline.from_bytes(blob.read_bytes(), digest8(CFG.digest()))
    assert stored.threshold == base["threshold"] and stored.windows == 45
    assert (stored.enter_windows, stored.exit_windows) == (5, 11)
    code, again, _ = run(["--load", str(blob), *common, *scored], capsys)
    assert code == 0 and again is not None
    assert again["recordings"] == report["recordings"]
    assert again["baseline"] == {
        "loaded": str(blob),
        **{k: v for k, v in base.items() if k not in ("learnt_from", "saved", "seconds")},
    }


def test_the_windows_are_the_nodes_and_a_wav_at_another_rate_is_resampled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = machine_g(30, 4, outer_race=True)
    path = tmp_path / "faulty.wav"
    wavfile.write(path, RATE, np.round(g / 16 * 32767).astype(np.int16))
    blob = tmp_path / "b.bin"
    healthy = mat(tmp_path / "healthy.mat", 40, 5)
    code, report, _ = run(
        [
            str(healthy),
            "--family",
            "vibration",
            "--rate",
            str(RATE),
            "--save",
            str(blob),
            "--score",
            str(path),
            "--per-window",
            "--hop-ms",
            "640",
        ],
        capsys,
    )
    assert code == 0 and report is not None and report["hop_s"] == 0.64
    (scored,) = report["recordings"]  # type: ignore[misc]
    # the reference scores each node window (2.56 s, every 640 ms) of the resampled samples
    from scipy.signal import resample_poly

    samples = np.clip(np.round(resample_poly(np.round(g / 16 * 32767), 4, 15)), -32768, 32767).astype(np.int16)
    baseline = Baseline.from_bytes(blob.read_bytes(), digest8(CFG.digest()))
    hop, n = 2048, CFG.window_samples
    expected = [
        baseline.score(signature(features(samples[s : s + n], CFG))) for s in range(0, len(samples) - n + 1, hop)
    ]
    assert scored["scores"] == expected and scored["anomaly"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give either a healthy recording to learn from or --load BASELINE"),
        (["HEALTHY", "--load", "BLOB"], "give either a healthy recording to learn from or --load BASELINE"),
        (["HEALTHY", "--learn-seconds", "5"], "HEALTHY: 5.00 s give 2 windows; a baseline needs at least 4"),
        (["HEALTHY", "--hop-ms", "5000"], "--hop-ms 5000: between 80 ms (one frame) and 2560 ms (a window)"),
        (["HEALTHY", "--score", "SHORT"], "SHORT: 1.00 s is shorter than one window (2.56 s)"),
        (["HEALTHY", "--score", "MISSING"], "MISSING: no such file"),
        (["--load", "BLOB", "--save", "OUT"], "BLOB: a loaded baseline is saved already"),
        (["--load", "CORRUPT", "--score", "HEALTHY"], "CORRUPT: baseline blob is corrupt (checksum mismatch)"),
        (["--load", "BLOB", "--family", "vibration_adc"], "BLOB: baseline was learnt with features"),
    ],
)
def test_bad_input_is_an_error_naming_the_file_and_writes_nothing(
    argv: list[str], message: str, recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = tmp_path / "b.bin"
    assert (
        run([str(recordings["healthy"]), "--family", "vibration", "--rate", str(RATE), "--save", str(blob)], capsys)[0]
        == 0
    )
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(blob.read_bytes()[:-1] + b"\x00")
    short = mat(tmp_path / "short.mat", 1, 6)
    names = {
        "HEALTHY": recordings["healthy"],
        "BLOB": blob,
        "CORRUPT": corrupt,
        "SHORT": short,
        "MISSING": tmp_path / "missing.mat",
        "OUT": tmp_path / "out.bin",
    }
    argv = [str(names.get(a, a)) for a in argv]
    if "--family" not in argv:
        argv += ["--family", "vibration"]
    out = tmp_path / "new.bin"
    code, _, err = run([*argv, "--rate", str(RATE), *(["--save", str(out)] if "--load" not in argv else [])], capsys)
    expected = message
    for name, path in names.items():
        expected = expected.replace(name, str(path))
    assert code == 2 and expected in err
    assert not out.exists() and not (tmp_path / "out.bin").exists()
