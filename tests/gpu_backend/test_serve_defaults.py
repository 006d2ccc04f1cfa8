"""Nothing is open by default: `serve` without an API key listens on loopback only and says how to set a key;
with a key it listens on every interface unless told otherwise. The teacher: the user's own if present, or the one
asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpu_backend import serve
from gpu_backend.__main__ import main
from gpu_backend.serve import bind_address

MODELS = Path(__file__).parents[2] / "esphome" / "components" / "binmoe" / "models"


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINMOE_API_KEY", raising=False)


@pytest.mark.parametrize(
    ("host", "api_key", "expected"),
    [
        (None, None, "127.0.0.1"),
        (None, "k", "0.0.0.0"),
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.2", None, "127.0.0.2"),
        ("::1", None, "::1"),
        ("localhost", None, "localhost"),
        ("0.0.0.0", "k", "0.0.0.0"),
        ("192.168.1.20", "k", "192.168.1.20"),
    ],
)
def test_bind_address(host: str | None, api_key: str | None, expected: str) -> None:
    assert bind_address(host, api_key) == expected


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "gpu-box.lan"])
def test_beyond_loopback_without_a_key_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"refusing to serve .* without an API key"):
        bind_address(host, None)


def test_serve_refuses_all_interfaces_without_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--profile", "cpu-fixture", "--host", "0.0.0.0", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve 0.0.0.0 without an API key" in err and "BINMOE_API_KEY" in err


def test_default_without_a_key_is_loopback_and_says_how_to_set_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run", "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert "gateway on http://127.0.0.1:9000. No API key" in out
    assert "--api-key KEY or BINMOE_API_KEY=KEY" in out


def test_default_with_a_key_is_every_interface(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINMOE_API_KEY", "from-the-environment")
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run", "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert "gateway on http://0.0.0.0:9000\n" in out and "No API key" not in out


def test_cpu_default_diagnoses_without_waiting_for_its_model(capsys: pytest.CaptureFixture[str]) -> None:
    """The profile's budget is the default (cpu-default: 0, the model is not asked); --llm-budget overrides."""
    assert main(["serve", "--profile", "cpu-default", "--dry-run"]) == 0
    assert "diagnoses: the knowledge base answers alone" in capsys.readouterr().out
    assert main(["serve", "--profile", "cpu-default", "--dry-run", "--llm-budget", "8"]) == 0
    assert "diagnoses: the model may phrase them within 8 s" in capsys.readouterr().out
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run"]) == 0
    assert "diagnoses: the model may phrase them within 5 s" in capsys.readouterr().out


def test_a_negative_budget_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run", "--llm-budget", "-1"]) == 2
    assert "--llm-budget must be >= 0 seconds, got -1.0" in capsys.readouterr().err


def test_the_teacher_is_the_users_own_or_the_one_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trained = tmp_path / "edge" / "sound_v1_teacher.pt"
    monkeypatch.setattr(serve, "TRAINED_TEACHER", trained)
    assert serve.teacher_path(None) is None  # nothing trained here: no teacher
    assert serve.teacher_path("shipped") == serve.SHIPPED_TEACHER
    trained.parent.mkdir()
    trained.write_bytes(b"a teacher")
    assert serve.teacher_path(None) == trained
    assert serve.teacher_path("none") is None and serve.teacher_path("None") is None
    assert serve.teacher_path(str(trained)) == trained
    with pytest.raises(ValueError, match=r"--teacher .*missing\.pt: no such file"):
        serve.teacher_path(str(tmp_path / "missing.pt"))


def test_serve_says_which_teacher_and_refuses_a_file_that_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(serve, "TRAINED_TEACHER", tmp_path / "absent.pt")
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run"]) == 0
    assert "# teacher for escalations with features: none\n" in capsys.readouterr().out
    assert main(["serve", "--profile", "cpu-fixture", "--dry-run", "--teacher", "shipped"]) == 0
    assert f"# teacher for escalations with features: {serve.SHIPPED_TEACHER}\n" in capsys.readouterr().out
    assert main(["serve", "--profile", "cpu-fixture", "--teacher", str(tmp_path / "absent.pt")]) == 2
    assert "absent.pt: no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert main(["serve", "--profile", "cpu-fixture", "--teacher", str(junk)]) == 2  # before the engine starts
    assert "teacher: " in capsys.readouterr().err


def test_the_shipped_teacher_is_the_shipped_sound_models() -> None:
    """The teacher of the run that made the shipped sound model: its model, classes and features."""
    from gpu_backend.teacher import load_teacher

    manifest = json.loads((MODELS / "sound_v1.json").read_text())
    teacher = load_teacher(serve.SHIPPED_TEACHER)
    assert teacher.model_id == manifest["model_id"] == "sound-v1"
    assert list(teacher.classes) == manifest["classes"]
    assert teacher.config.digest() == manifest["feature_digest"]
