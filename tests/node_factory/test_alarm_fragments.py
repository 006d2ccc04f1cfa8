"""benchmarks.alarm_fragments: the hub's constants read from its source, its rule, and the hub's own escalations
(unsure detections) counted next to the node's."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import alarm_fragments as af
from benchmarks import alarm_rule
from benchmarks.node_traffic import MODEL
from node_factory.heldout import generate_alarm_events
from node_factory.reference import model_format


def test_the_hubs_constants_come_from_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert alarm_rule.hub_rule() == (10.0, 15.0)
    assert alarm_rule.hub_min_confidence() == 0.6
    (tmp_path / "custom_components/binmoe").mkdir(parents=True)
    (tmp_path / "custom_components/binmoe/const.py").write_text("OTHER: float = 0.5\n", encoding="utf-8")
    monkeypatch.setattr(alarm_rule, "ROOT", tmp_path)
    with pytest.raises(LookupError, match="DEFAULT_MIN_CONFIDENCE"):
        alarm_rule.hub_min_confidence()


def test_the_rule_with_and_without_alarm_active() -> None:
    reports = [20.0, 30.0]
    assert alarm_rule.covered(11.0, reports, 10, 15, active=False)  # up to 10 s before a report
    assert not alarm_rule.covered(9.0, reports, 10, 15, active=False)
    assert alarm_rule.covered(40.0, reports, 10, 15, active=True)  # the node says its alarm goes on
    assert alarm_rule.covered(44.0, reports, 10, 15)  # the time rule: up to 15 s after the latest report
    assert not alarm_rule.covered(46.0, reports, 10, 15)


@pytest.mark.skipif(not MODEL.exists(), reason=f"the shipped sound model {MODEL} is missing")
def test_the_hubs_own_escalations_are_the_unsure_detections() -> None:
    """With a minimum confidence of 0 the hub escalates no detection; over 1 it escalates every plain detection the
    node sends, and the node's own escalations are counted the same either way."""
    model, _ = model_format.load(MODEL)
    scenes = list(generate_alarm_events(af.PROTOCOL.seed, 3))
    none, every = (af.measure(model, scenes, 10.0, 15.0, threshold) for threshold in (0.0, 1.01))
    plain = 0
    for scene in scenes:
        _run, routed = af.default_node(model, scene.audio)
        plain += sum(r.kind == "detection" and r.code_class is None for r in routed)
    for rule in af.RULES:
        hub_keys = [k for k in none[rule] if k.startswith("hub_")]
        assert hub_keys and all(none[rule][k] == 0 for k in hub_keys)
        sent = sum(every[rule][f"hub_escalations_{part}"] for part in ("during_alarm", "before_onset", "after_end"))
        assert sent == plain
        node_keys = [k for k in none[rule] if k.startswith("escalations_")]
        assert all(none[rule][k] == every[rule][k] for k in node_keys)
        assert every[rule]["stray_in_scenes_with_a_report"] >= none[rule]["stray_in_scenes_with_a_report"]
