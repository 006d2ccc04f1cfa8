"""`python -m node_factory orders`: fault identification on a user's recording (node_factory/commands/orders.py):
a CWRU-style .mat file with its stored speed, a WAV file at its own rate, a CSV at a given rate, and clear
errors naming the file for what it cannot analyse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat, wavfile

from node_factory.__main__ import main
from node_factory.reference.bearings import bearing

RATE = 12_000  # CWRU's drive-end rate
RPM = 1797.0


def outer_race_g(seconds: float = 4.0, rpm: float = RPM) -> np.ndarray:
    """Outer-race impacts of a 6205 at `rpm` ringing 3 kHz, a 1x tone and sensor noise, in g."""
    n, k = int(seconds * RATE), np.arange(96)
    rng = np.random.default_rng(1)
    x = 0.05 * np.sin(2 * np.pi * rpm / 60 * np.arange(n) / RATE) + rng.normal(0, 0.01, n)
    ring = np.exp(-k / 12) * np.sin(2 * np.pi * 3000 * k / RATE) * 0.5
    period = RATE / (bearing("6205-2RS JEM").orders()["bpfo"] * rpm / 60)
    for start in np.arange(0, n - 96, period).astype(int):
        x[start : start + 96] += ring
    return x


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object] | None, str]:
    code = main(["orders", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_a_cwru_mat_file_is_analysed_at_its_stored_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "OR007_0.mat"
    savemat(path, {"X130_DE_time": outer_race_g()[:, None], "X130RPM": np.array([[RPM]])})
    code, report, _err = run([str(path), "--rate", str(RATE), "--bearing", "6205-2RS JEM"], capsys)
    assert code == 0 and report is not None
    assert report["fault"] == "bearing_outer" and report["rpm"] == RPM and report["seconds"] == 4.0
    low, high = report["demodulation_band_hz"]  # type: ignore[misc]
    assert low <= 3000 <= high  # where the impacts ring
    # read as a machine at another speed, the outer race's frequency is no longer there
    code, report, _err = run([str(path), "--rate", str(RATE), "--bearing", "6205-2RS JEM", "--rpm", "1500"], capsys)
    assert code == 0 and report is not None and report["fault"] != "bearing_outer"


def test_a_wav_file_at_its_own_rate_and_a_geometry_instead_of_a_designation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pump.wav"
    wavfile.write(path, RATE, np.round(outer_race_g() / 16 * 32767).astype(np.int16))
    g = bearing("6205-2RS JEM")
    geometry = f"{g.n},{g.ball_mm},{g.pitch_mm},{g.contact_deg}"
    code, report, _err = run([str(path), "--rpm", str(RPM), "--geometry", geometry, "--seconds", "2"], capsys)
    assert code == 0 and report is not None
    assert report["fault"] == "bearing_outer" and report["sample_rate"] == RATE and report["seconds"] == 2.0


def test_a_csv_needs_its_rate_and_a_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fan.csv"
    np.savetxt(path, outer_race_g(2.0), delimiter=",")
    code, _report, err = run([str(path), "--bearing", "6205-2RS JEM", "--rpm", str(RPM)], capsys)
    assert code == 2 and "fan.csv" in err and "--rate" in err
    code, _report, err = run([str(path), "--bearing", "6205-2RS JEM", "--rate", str(RATE)], capsys)
    assert code == 2 and "fan.csv" in err and "--rpm" in err
    code, report, _err = run([str(path), "--bearing", "6205-2RS JEM", "--rate", str(RATE), "--rpm", str(RPM)], capsys)
    assert code == 0 and report is not None and report["fault"] == "bearing_outer"


def test_clipping_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "loud.csv"
    np.savetxt(path, outer_race_g(2.0) * 100, delimiter=",")
    code, _report, err = run([str(path), "--bearing", "6205-2RS JEM", "--rate", str(RATE), "--rpm", "1797"], capsys)
    assert code == 0 and "loud.csv" in err and "clipped" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bearing", "6204"], "6205-2RS JEM"),  # unknown designation: the known ones are listed
        (["--geometry", "9,7.9,39,0,1"], "N,BALL_MM,PITCH_MM"),
        (["--geometry", "9,40,39"], "not a bearing geometry"),
        (["--bearing", "6205-2RS JEM", "--rpm", "30"], "out of range"),
        (["--bearing", "6205-2RS JEM", "--seconds", "0.1"], "needs at least 0.5 s"),
    ],
)
def test_what_cannot_be_analysed_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    path = tmp_path / "motor.wav"
    wavfile.write(path, RATE, np.zeros(RATE, np.int16))
    code, _report, err = run([str(path), "--rpm", str(RPM), *extra], capsys)
    assert code == 2 and "motor.wav" in err and message in err


def test_unknown_missing_and_broken_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, content in (("notes.txt", b"hello"), ("broken.wav", b"RIFF0000WAVE")):
        (tmp_path / name).write_bytes(content)
        code, _report, err = run([str(tmp_path / name), "--bearing", "6205-2RS JEM", "--rpm", "1797"], capsys)
        assert code == 2 and name in err
    code, _report, err = run([str(tmp_path / "gone.mat"), "--bearing", "6205-2RS JEM", "--rate", "12000"], capsys)
    assert code == 2 and "gone.mat" in err
