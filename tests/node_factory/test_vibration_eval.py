"""The held-out vibration protocol's pieces (node_factory.evaluation.vibration) on small inputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from node_factory.corpus.families import FAMILIES
from node_factory.evaluation import vibration as vibration_eval
from node_factory.evaluation.vibration import (
    FAULT_CLASSES,
    Escalation,
    VibrationProtocol,
    _machine_anomaly,
    anomaly,
    auc,
    students,
)
from node_factory.reference import ima_adpcm

MODELS = Path(__file__).resolve().parents[2] / "esphome" / "components" / "binmoe" / "models"


def test_auc_counts_ranks_and_ties() -> None:
    assert auc(np.array([1, 2, 3]), np.array([4, 5])) == 1.0
    assert auc(np.array([4, 5]), np.array([1, 2, 3])) == 0.0
    assert auc(np.array([1, 1]), np.array([1, 1])) == 0.5
    assert np.isnan(auc(np.array([]), np.array([1])))


def test_a_baseline_longer_than_the_healthy_running_is_refused() -> None:
    with pytest.raises(ValueError, match="leave nothing after"):
        anomaly(FAMILIES["vibration"], VibrationProtocol(healthy_hours=0.1), print)


def test_students_report_macro_f1_on_every_window_of_every_class() -> None:
    result = students(FAMILIES["vibration"], MODELS / "vibration_v1.bin", VibrationProtocol(clips_per_class=1))
    assert result["student_heldout_windows"] == 7  # one 2.56 s window per 4 s clip, seven classes
    assert 0.0 <= result["student_heldout_macro_f1"] <= 1.0
    assert all(" -> " in line for line in result["student_top_confusions"])


@dataclass
class _Chunk:
    audio: np.ndarray
    start_s: float
    rpm_min: float
    rpm_max: float
    rpm_mean: float


class HeldoutRunDouble:
    """Test double of a held-out machine run (`node_factory.heldout.vibration`): the windows, speeds and labels
    a test chooses, so which windows lie inside the baseline's speed range is known."""

    machine_id = "double-0"
    # a 6205's catalogue geometry: 9 balls of 7.94 mm on a 39.04 mm pitch, radial
    machine = SimpleNamespace(
        bearing=SimpleNamespace(designation="6205", n=9, d_mm=7.94, pitch_mm=39.04, contact_deg=0.0),
        rpm_nominal=1000.0,
    )

    def __init__(self, plan: list[tuple[str, float]]) -> None:
        self.speed_info = {"rpm_low": 1000.0, "rpm_high": 1500.0}
        self.cfg = FAMILIES["vibration"].features
        self.window_s = self.cfg.window_samples / self.cfg.sample_rate
        self.plan = plan  # (label, rpm) per window
        self.impact = 1000  # a weak fault: it scores below healthy running at a speed the baseline never saw

    def chunks(self) -> Iterator[_Chunk]:
        rate, n = self.cfg.sample_rate, self.cfg.window_samples
        for i, (label, rpm) in enumerate(self.plan):
            rng = np.random.default_rng(i)
            t = np.arange(n) / rate
            x = 3000 * np.sin(2 * np.pi * rpm / 60 * t) + rng.normal(0, 300, n)
            if label != "healthy":  # impacts 100 times a second
                x[:: rate // 100] += self.impact
            yield _Chunk(np.clip(x, -32768, 32767).astype(np.int16), i * self.window_s, rpm, rpm, rpm)

    def label_at(self, t: float) -> str:
        return self.plan[min(int(t / self.window_s), len(self.plan) - 1)][0]


def whole_windows(run: HeldoutRunDouble) -> VibrationProtocol:
    """The protocol as it was until 2026-12-06: a baseline of 8 whole windows, windows without overlap."""
    return VibrationProtocol(baseline_s=8 * run.window_s, hop_frames=run.cfg.frames)


def test_the_protocol_runs_the_node_at_its_hop_of_half_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the windows come every half window, as on the node: they share frames, the baseline learns from
    as many of them as the node counts (duration / hop, rounded up), the anomaly waits for 5 of them above the
    threshold (the signal of 3 whole windows), and the capture delay is counted in hops."""
    seen: list[np.ndarray] = []

    def identify_double(samples: np.ndarray, rate: int, rpm: float, bearing: Any) -> Any:  # records its inputs
        seen.append(samples)
        return SimpleNamespace(fault="bearing_outer")

    monkeypatch.setattr(vibration_eval, "identify", identify_double)
    plan = [("healthy", 1000.0)] * 12 + [("bearing_outer", 1000.0)] * 10
    run = HeldoutRunDouble(plan)
    run.impact = 20000
    scored: list[np.ndarray] = []
    real_signature = vibration_eval.signature
    monkeypatch.setattr(vibration_eval, "signature", lambda f: scored.append(f) or real_signature(f))
    made: list[Any] = []
    real_detector = vibration_eval.AnomalyDetector
    monkeypatch.setattr(vibration_eval, "AnomalyDetector", lambda b: made.append(b) or real_detector(b))
    protocol = VibrationProtocol(baseline_s=8 * run.window_s)
    assert protocol.hop_samples(run.cfg) == run.cfg.window_samples // 2
    result = _machine_anomaly(run, FAMILIES["vibration"], protocol)
    cfg = run.cfg
    feats = [vibration_eval.frame_features(c.audio.reshape(cfg.frames, cfg.frame), cfg) for c in run.chunks()]
    half = run.cfg.frames // 2
    assert len(scored) == 2 * len(plan) - 1  # a window every half window once the first is full
    assert np.array_equal(scored[1], np.concatenate([feats[0][half:], feats[1][:half]]))
    # 8 windows' time is 16 half-window hops: 16 windows learn, and 5 in a row above the threshold raise an anomaly
    ((baseline),) = made
    assert (baseline.windows, baseline.enter_windows, baseline.exit_windows) == (16, 5, 11)
    healthy_after = 2 * 12 - 1 - 16
    assert result["healthy_hours"] == pytest.approx(healthy_after * run.window_s / 2 / 3600)
    assert result["faults_flagged"] == ["bearing_outer"] and len(result["escalations"]) == 1
    # the default capture is the raising window itself; the delayed one (8 s: 7 hops of 1.28 s) ends 7 hops later
    default, _at_once, delayed = seen
    stream = np.concatenate([c.audio for c in run.chunks()])
    hop, n = run.cfg.window_samples // 2, run.cfg.window_samples
    (end,) = [e for e in range(n, len(stream) + 1, hop) if np.array_equal(stream[e - n : e], default)]
    assert end > n + 15 * hop  # after the baseline's 16 windows
    blocks = -(-8 * 3200 // ima_adpcm.SAMPLES_PER_BLOCK)
    later = stream[: end + 7 * hop][-blocks * ima_adpcm.SAMPLES_PER_BLOCK :]
    assert np.array_equal(delayed, ima_adpcm.decode(ima_adpcm.encode(later)))


def test_the_auc_inside_the_baselines_speed_range_leaves_out_speeds_it_never_saw() -> None:
    # a baseline of 8 windows at 1000 rpm; healthy running at 1000 and 1500 rpm, then a fault at both speeds
    plan = [("healthy", 1000.0)] * 8 + [("healthy", 1000.0)] * 6 + [("healthy", 1500.0)] * 6
    plan += [("bearing_outer", 1000.0)] * 3 + [("bearing_outer", 1500.0)] * 3
    run = HeldoutRunDouble(plan)
    result = _machine_anomaly(run, FAMILIES["vibration"], whole_windows(run))
    assert result["baseline_rpm"] == [1000, 1000]
    assert result["fault_windows_in_range"] == "3 of 6"
    assert result["healthy_hours_in_range"] == pytest.approx(6 * run.window_s / 3600)
    # the 1500 rpm healthy windows score like faults: they pull the AUC over every window down, not this one
    assert result["auc_in_range"] == 1.0 and result["auc"] < 1.0


def test_an_anomaly_escalates_the_last_raw_samples_to_fault_identification(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each anomaly started is identified from what the node would send: the last samples up to the end of the
    window that raised it (one window as int16; the suggested 8 s through the IMA ADPCM encoder), or, with the
    suggested `capture_delay` of 8 s, up to the end of the fourth window after it; at the mean speed of the windows
    the capture spans, with the machine's bearing."""
    seen: list[tuple[np.ndarray, float, Any]] = []

    def identify_double(samples: np.ndarray, rate: int, rpm: float, bearing: Any) -> Any:  # records its inputs
        seen.append((samples, rpm, bearing))
        return SimpleNamespace(fault="bearing_outer")

    monkeypatch.setattr(vibration_eval, "identify", identify_double)
    plan = [("healthy", 1000.0)] * 12 + [("bearing_outer", 1200.0 + 10 * i) for i in range(10)]
    run = HeldoutRunDouble(plan)
    run.impact = 20000  # a strong fault
    result = _machine_anomaly(run, FAMILIES["vibration"], whole_windows(run))
    assert [e.label for e in result["escalations"]] == ["bearing_outer"]
    verdicts = {"default": "bearing_outer", "suggested": "bearing_outer", "suggested_at_once": "bearing_outer"}
    assert result["escalations"][0].verdicts == verdicts and not result["escalations"][0].new_speed
    (default, rpm_default, bearing), (at_once, rpm_at_once, _b), (delayed, rpm_delayed, _b2) = seen
    windows = [c.audio for c in run.chunks()]
    raised = next(i for i, w in enumerate(windows) if np.array_equal(w, default))  # the window that raised it
    assert 12 <= raised < 15 and rpm_default == plan[raised][1]
    blocks = -(-8 * 3200 // ima_adpcm.SAMPLES_PER_BLOCK)
    sent = np.concatenate(windows[: raised + 1])[-blocks * ima_adpcm.SAMPLES_PER_BLOCK :]
    assert np.array_equal(at_once, ima_adpcm.decode(ima_adpcm.encode(sent)))
    # 8.08 s spans four 2.56 s windows
    assert rpm_at_once == pytest.approx(np.mean([rpm for _label, rpm in plan[raised - 3 : raised + 1]]))
    # 8 s later: the first window that ends 8 s (four windows) after the raising one; its capture is all fault
    later = np.concatenate(windows[: raised + 5])[-blocks * ima_adpcm.SAMPLES_PER_BLOCK :]
    assert np.array_equal(delayed, ima_adpcm.decode(ima_adpcm.encode(later)))
    assert rpm_delayed == pytest.approx(np.mean([rpm for _label, rpm in plan[raised + 1 : raised + 5]]))
    assert (bearing.n, bearing.ball_mm, bearing.pitch_mm) == (9, 7.94, 39.04)


@pytest.mark.parametrize(
    ("fault", "rpm", "told"),
    [("imbalance", 1200.0, True), ("imbalance", 1010.0, False), ("bearing_outer", 1200.0, False)],
)
def test_the_diagnosis_says_a_shaft_verdict_at_a_speed_the_baseline_never_saw_may_be_the_speed(
    monkeypatch: pytest.MonkeyPatch, fault: str, rpm: float, told: bool
) -> None:
    """The baseline's windows read 1000 rpm: at 1200 rpm a shaft verdict gets the new-speed caveat, a bearing
    verdict does not; at 1010 rpm (within 2 %) neither. `outside_speeds` is the speed alone."""
    monkeypatch.setattr(vibration_eval, "identify", lambda *_a: SimpleNamespace(fault=fault))
    run = HeldoutRunDouble([("healthy", 1000.0)] * 12 + [("bearing_outer", rpm)] * 10)
    run.impact = 20000
    (escalation,) = _machine_anomaly(run, FAMILIES["vibration"], whole_windows(run))["escalations"]
    assert escalation.verdicts["suggested"] == fault and escalation.new_speed == told
    tally = vibration_eval.escalated_fault_identification([escalation], ["suggested"])
    assert tally["escalated_new_speed_caveats"]["faults"]["bearing_outer"] == told
    assert tally["escalated_outside_baseline_speeds"]["faults"]["bearing_outer"] == (rpm == 1200.0)
    assert asdict(escalation) == {
        "label": "bearing_outer", "verdicts": escalation.verdicts, "new_speed": told, "outside_speeds": rpm == 1200.0
    }  # fmt: skip


def test_an_escalation_still_waiting_for_its_capture_when_the_run_ends_is_not_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vibration_eval, "identify", lambda *_a: SimpleNamespace(fault="bearing_outer"))
    plan = [("healthy", 1000.0)] * 12 + [("bearing_outer", 1000.0)] * 3  # the delayed capture needs 4 more windows
    run = HeldoutRunDouble(plan)
    run.impact = 20000
    result = _machine_anomaly(run, FAMILIES["vibration"], whole_windows(run))
    assert result["faults_flagged"] == ["bearing_outer"] and result["escalations"] == []


def test_escalated_fault_identification_counts_faults_and_names_false_anomalies() -> None:
    escalations = [
        Escalation("bearing_inner", {"default": "imbalance", "suggested": "bearing_inner"}),
        Escalation("bearing_inner", {"default": "bearing_inner", "suggested": "bearing_inner"}),
        Escalation("imbalance", {"default": "imbalance", "suggested": "misalignment"}),
        Escalation("healthy", {"default": "imbalance", "suggested": "imbalance"}, new_speed=True, outside_speeds=True),
        Escalation("bearing_ball", {"default": "bearing_ball", "suggested": "bearing_ball"}, outside_speeds=True),
        Escalation("healthy", {"default": "looseness", "suggested": "imbalance"}),
    ]
    r = vibration_eval.escalated_fault_identification(escalations, ["default", "suggested"])
    assert r["escalated_fault_captures"] == 4 and r["escalated_false_anomaly_captures"] == 2
    assert r["escalated_fault_id_accuracy_default_capture"] == pytest.approx(3 / 4)
    assert r["escalated_fault_id_accuracy_suggested_capture"] == pytest.approx(3 / 4)
    assert r["escalated_fault_id_per_class_suggested_capture"]["bearing_inner"] == "2 of 2"
    assert r["escalated_fault_id_per_class_suggested_capture"]["bearing_ball"] == "1 of 1"
    assert r["escalated_fault_id_per_class_suggested_capture"]["bearing_outer"] == "0 of 0"
    assert r["escalated_false_anomaly_verdicts_default_capture"] == {"imbalance": 1, "looseness": 1}
    assert r["escalated_false_anomaly_verdicts_suggested_capture"] == {"imbalance": 2}
    assert r["escalated_new_speed_caveats"] == {"faults": dict.fromkeys(FAULT_CLASSES, 0), "false_anomalies": 1}
    faults = dict.fromkeys(FAULT_CLASSES, 0) | {"bearing_ball": 1}
    assert r["escalated_outside_baseline_speeds"] == {"faults": faults, "false_anomalies": 1}
    nothing = vibration_eval.escalated_fault_identification([], ["default"])
    assert np.isnan(nothing["escalated_fault_id_accuracy_default_capture"])


@pytest.mark.parametrize("encoding", ["s16le", "ima_adpcm"])
def test_fault_identification_reads_the_capture_as_the_node_sends_it(
    monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """With `capture_encoding: ima_adpcm` the analysis gets the clip through the node's encoder: the whole blocks,
    decoded (node_factory.reference.ima_adpcm); with s16le the clip itself."""
    seen: list[np.ndarray] = []
    real = vibration_eval.identify

    def spy(samples: np.ndarray, *args: Any) -> Any:  # records what the real analysis is given
        seen.append(samples)
        return real(samples, *args)

    monkeypatch.setattr(vibration_eval, "identify", spy)
    protocol = VibrationProtocol(clips_per_class=1, clip_seconds=1.0, capture_encoding=encoding)
    result = vibration_eval.fault_identification(FAMILIES["vibration"], protocol, lambda _text: None)
    assert 0.0 <= result["fault_id_accuracy_heldout"] <= 1.0 and len(seen) == 6
    blocks = 3200 // ima_adpcm.SAMPLES_PER_BLOCK  # a 1 s clip holds 6 whole blocks
    assert {len(s) for s in seen} == {3200 if encoding == "s16le" else blocks * ima_adpcm.SAMPLES_PER_BLOCK}
