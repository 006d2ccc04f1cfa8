"""The generalisation protocol (node_factory.evaluation) on the reduced run: every kind of data is measured,
reported under the issue's keys, and written next to the run; bad inputs fail with the file named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from node_factory.__main__ import main
from node_factory.bench.node_model import generalization_table
from node_factory.corpus import debian_audio
from node_factory.corpus.debian_audio.fetch import Clip
from node_factory.corpus.families import FAMILIES
from node_factory.evaluation import generalization
from node_factory.evaluation.generalization import (
    Protocol,
    code_event_rules,
    default_event_rules,
    evaluate,
    macro_f1_present,
)
from node_factory.evaluation.node_stream import NodeDecisions, events, window_features
from node_factory.evaluation.windows import active_seconds
from node_factory.reference.events import EventDetector
from node_factory.training.saved_model import load_model
from node_factory.training.teacher import load_teacher_network

SOUND = FAMILIES["sound"]
TINY = Protocol(clips_per_class=2, scenes=2, min_real_hours=0.001)


def _sound_run(trained_dir: Path, dest: Path) -> Path:
    for suffix in ("_model.npz", "_teacher.pt", "_metrics.json"):
        shutil.copy(trained_dir / f"{SOUND.stem}{suffix}", dest / f"{SOUND.stem}{suffix}")
    return dest


def _fake_eval_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test double of the Debian cache: two packages of recorded-like noise (the real cache has its own tests)."""
    cache = tmp_path / "real-audio"
    (cache / "eval").mkdir(parents=True)
    rng = np.random.default_rng(3)
    clips = []
    for i, package in enumerate(("pkg-a", "pkg-a", "pkg-b")):
        path = cache / "eval" / f"{i}.wav"
        wavfile.write(path, 16000, (rng.normal(0, 2000, 16000 * 20)).astype(np.int16))
        clips.append(Clip(path, package, "speech", 20.0, f"clip{i}.ogg"))
    monkeypatch.setattr(debian_audio, "load_clips", lambda purpose, cache_dir: clips if purpose == "eval" else [])
    return cache


def test_report_has_every_kind_of_data(trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _sound_run(trained_dir, tmp_path)
    cache = _fake_eval_cache(tmp_path, monkeypatch)
    seen: list[str] = []
    report = evaluate(run_dir, SOUND, TINY, cache, progress=seen.append)
    metrics = json.loads((run_dir / f"{SOUND.stem}_metrics.json").read_text())
    assert report["model_hash"] == metrics["model_hash"]
    written = json.loads((run_dir / f"{SOUND.stem}_generalization.json").read_text())
    assert written["summary"] == report["summary"]
    summary = report["summary"]
    assert summary["own_test_macro_f1"] == metrics["student_bnn_macro_f1"]
    for key in (
        "heldout_macro_f1",
        "heldout_conditions_macro_f1",
        "cascade_macro_f1_heldout",
        "critical_event_recall",
        "critical_event_recall_window_rule",
    ):
        assert 0.0 <= summary[key] <= 1.0, key
    assert 0.0 <= summary["escalation_rate_heldout"] <= 1.0
    # 3 clips of 20 s, two packages each played back to back
    assert summary["real_negative_hours"] == pytest.approx(60 / 3600, abs=1e-3)
    real = report["real_recordings"]
    assert real["packages"] == ["pkg-a", "pkg-b"]
    assert sum(real["class_histogram"].values()) == pytest.approx(1.0, abs=1e-3)
    assert summary["critical_false_alarms_per_hour"] >= 0.0
    assert summary["critical_false_alarms_per_hour_window_rule"] >= 0.0
    scenes = report["alarm_scenes"]
    # the node's events (the alarm-code detector) and the model's window rule, side by side
    assert set(scenes["event_recall_by_class"]) <= {"smoke_alarm", "co_alarm"}
    assert set(scenes["window_rule"]["event_recall_by_class"]) == set(scenes["event_recall_by_class"])
    assert scenes["alarm_free_hours"] > 0
    assert report["independent_generator"]["windows"] > 0
    assert any("real recordings: pkg-a" in line for line in seen)


def test_cli_runs_the_protocol_and_refuses_what_it_does_not_cover(
    trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = _sound_run(trained_dir, tmp_path)
    args = ["generalize", "--out", str(run_dir), "--no-real-audio", "--clips-per-class", "2", "--scenes", "2"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "real recordings skipped" in err
    summary = json.loads(out)
    assert summary["critical_false_alarms_per_hour"] is None  # not measured, and says so
    written = json.loads((run_dir / f"{SOUND.stem}_generalization.json").read_text())
    assert written["protocol"]["alarm_tone"] is True  # the node's default
    assert main([*args, "--no-alarm-tone"]) == 0
    capsys.readouterr()
    written = json.loads((run_dir / f"{SOUND.stem}_generalization.json").read_text())
    assert written["protocol"]["alarm_tone"] is False
    assert main([*args, "--no-smoke-tone"]) == 0  # the option's name until 2026-12-05
    capsys.readouterr()
    assert json.loads((run_dir / f"{SOUND.stem}_generalization.json").read_text())["protocol"]["alarm_tone"] is False
    assert main(["generalize", "--out", str(run_dir), "--family", "vibration"]) == 2
    assert "benchmarks.vibration_baseline" in capsys.readouterr().err  # where vibration is measured
    assert main(["generalize", "--out", str(tmp_path / "missing")]) == 2


def test_real_recording_of_another_rate_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "eight_khz.wav"
    wavfile.write(path, 8000, np.zeros(8000, np.int16))
    with pytest.raises(ValueError, match=r"eight_khz\.wav"):
        generalization._read(path)


def test_event_rules_fire_once_per_sustained_alarm() -> None:
    classes = SOUND.classes
    smoke = classes.index("smoke_alarm")
    rules = default_event_rules(classes)
    # T3-like: 5 of 8 windows with the tone for 20 windows, silence, then one stray window
    top = np.array([smoke if i % 8 < 5 else 0 for i in range(20)] + [0] * 12 + [smoke] + [0] * 12)
    run = NodeDecisions(top, np.zeros_like(top), np.zeros(len(top), bool), np.arange(len(top)) * 0.512, top[:, None])
    fired = events(run, rules)
    assert fired == [(smoke, 1)]  # the second window of the class starts the event; the stray one makes none


@pytest.mark.parametrize(("lost", "fired"), [(18, 1), (19, 2)])
def test_a_code_event_holds_through_a_lost_code(lost: int, fired: int) -> None:
    """A T4 alarm whose code completes once per burst (every 11 windows of 512 ms) and is lost for a whole burst
    now and then stays one event while fewer than 19 windows (9.7 s) pass without a match; a longer gap ends it."""
    classes = SOUND.classes
    co = classes.index("co_alarm")
    codes = [-1] * 80
    for at in (0, 11, 22, 22 + lost + 1, 22 + lost + 12):  # matches, then `lost` windows without one
        codes[at] = co
    detector = EventDetector(code_event_rules(classes))
    starts = [(i, c) for i, code in enumerate(codes) if (c := detector.push(code)) is not None]
    assert [c for _i, c in starts] == [co] * fired and starts[0] == (0, co)


def test_windows_at_the_hop_and_metrics_of_present_classes() -> None:
    cfg = SOUND.features
    frames = np.arange((cfg.frames + 32) * cfg.bands, dtype=np.int64).reshape(-1, cfg.bands).astype(np.int8)
    windows = window_features(frames, cfg, 16)
    assert windows.shape == (3, cfg.frames, cfg.bands)
    assert np.array_equal(windows[1], frames[16 : 16 + cfg.frames])
    assert window_features(frames[: cfg.frames - 1], cfg, 16).shape[0] == 0
    y = np.array([0, 0, 1, 1])
    assert macro_f1_present(y, np.array([0, 0, 1, 1])) == 1.0
    assert macro_f1_present(y, np.array([0, 1, 1, 1])) == pytest.approx((2 / 3 + 0.8) / 2)
    assert active_seconds([(0.0, 1.0), (2.0, 4.0)], 0.5, 3.0) == pytest.approx(1.5)


def test_benchmark_table_shows_targets_and_unmeasured_figures() -> None:
    summary = {"own_test_macro_f1": 0.93, "heldout_macro_f1": 0.91, "critical_false_alarms_per_hour": None}
    table = generalization_table({"sound": {"generalization": summary}, "vibration": {}}, ["sound", "vibration"])
    assert "| BNN macro-F1, independent held-out generator | >= 0.90 | 0.91 |" in table
    assert "| critical false alarms per hour (code detector), real recordings | <= 0.1 | None |" in table
    assert "vibration" not in table
    assert generalization_table({"vibration": {}}, ["vibration"]) == ""


def test_another_model_on_the_same_held_out_sets(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """benchmarks.sound_model_compare on the run's own blob gives the figures `generalize` reports for it, the
    real recordings too when asked; a model for other features is refused."""
    from benchmarks.sound_model_compare import main as compare

    run_dir = _sound_run(trained_dir, tmp_path)
    blob = trained_dir / f"{SOUND.stem}.bin"
    args = ["--blob", str(blob), "--run", str(run_dir), "--config", "ci", "--clips-per-class", "2"]
    report = compare(args)
    assert "real_recordings" not in report
    model = load_model(run_dir / f"{SOUND.stem}_model.npz")
    cache = _fake_eval_cache(tmp_path, monkeypatch)
    model_report = generalization.real_recordings(SOUND, model, TINY, cache, print)
    assert "critical_false_alarms_per_hour" in model_report  # the code detectors ran; the comparison skips them
    without_code = generalization.real_recordings(SOUND, model, TINY, cache, print, code_detectors=False)
    assert "critical_false_alarms_per_hour" not in without_code
    assert without_code["class_histogram"] == model_report["class_histogram"]
    real = compare([*args, "--real-audio", str(cache)])["real_recordings"]
    assert real["class_histogram"] == model_report["class_histogram"]
    assert real["window_rule_false_alarms_per_hour"] == model_report["window_rule"]["critical_false_alarms_per_hour"]
    assert real["real_negative_hours"] == pytest.approx(60 / 3600, abs=1e-3)
    teacher, _ = load_teacher_network(run_dir / f"{SOUND.stem}_teacher.pt")
    independent = generalization.independent_generator(SOUND, model, teacher, Protocol(clips_per_class=2))
    assert report["independent_generator"]["bnn_macro_f1"] == independent["bnn_macro_f1"]
    assert set(report["heldout_conditions"]["recall"]) <= set(SOUND.classes)
    vibration_blob = Path("esphome/components/binmoe/models/vibration_v1.bin")
    with pytest.raises(SystemExit):
        compare(["--blob", str(vibration_blob), "--run", str(run_dir), "--config", "ci"])
