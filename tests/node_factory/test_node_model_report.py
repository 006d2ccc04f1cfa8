"""The node model's report (docs/benchmarks/node_model.json and its section) takes the code detector's figures
from a later `benchmarks.alarm_code` run, so that they cannot go stale when the detector changes and the model
does not, and what reaches Home Assistant from a `benchmarks.node_traffic` run of the same model. Written into a
temporary benchmarks page and folder, never the repository's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchmarks_md
from node_factory.bench import node_model

SUMMARY = {
    "own_test_macro_f1": 0.76,
    "heldout_macro_f1": 0.35,
    "critical_event_recall": 0.61,
    "critical_event_recall_window_rule": 0.54,
    "critical_false_alarms_per_hour": 0.0,
    "critical_false_alarms_per_hour_window_rule": 63.4,
    "real_negative_hours": 6.103,
}
ALARM_CODE_RUN = {
    "independent_alarm_scenes": {"event_recall": 0.82, "scenes": 100},
    "real_recordings": {"false_alarms": 2, "false_alarms_per_hour": 0.33, "hours": 6.103},
}


@pytest.fixture
def pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A benchmarks page with an old node-model section, and a folder with its report."""
    folder, page = tmp_path / "benchmarks", tmp_path / "benchmarks.md"
    folder.mkdir()
    monkeypatch.setattr(benchmarks_md, "BENCHMARKS_DIR", folder)
    original = benchmarks_md.write_section
    monkeypatch.setattr(benchmarks_md, "write_section", lambda *a, **kw: original(*a, **{**kw, "path": page}))
    report = {"sound": {"model_hash": "f5a533f8", "model_bytes": 2488, "generalization": dict(SUMMARY)}}
    (folder / "node_model.json").write_text(json.dumps(report))
    page.write_text(
        "# Benchmarks\n\n<!-- BEGIN node_model -->\n## Node models (BNN)\n\nReproduce: `x`  \n"
        "Measured 2026-12-04 03:12 UTC on the model's machine.\n\nold body\n<!-- END node_model -->\n\n"
        "<!-- BEGIN other -->\nuntouched\n<!-- END other -->\n"
    )
    return folder, page


def test_the_code_detector_rows_follow_the_alarm_code_run(pages: tuple[Path, Path]) -> None:
    folder, page = pages
    assert node_model.refresh_code_detector(ALARM_CODE_RUN, "2026-12-05 22:00 UTC by `python -m benchmarks.alarm_code`")
    summary = json.loads((folder / "node_model.json").read_text())["sound"]["generalization"]
    assert summary["critical_event_recall"] == 0.82
    assert summary["critical_false_alarms_per_hour"] == 0.33
    assert summary["real_negative_hours"] == 6.103
    # the model's own figures, and the model's window rule, are not the detector's: untouched
    assert summary["critical_event_recall_window_rule"] == 0.54
    assert summary["critical_false_alarms_per_hour_window_rule"] == 63.4
    assert summary["heldout_macro_f1"] == 0.35
    text = page.read_text()
    assert "| alarm events (code detector) within 10 s, independent alarm scenes | >= 0.99 | 0.82 |" in text
    assert "| critical false alarms per hour (code detector), real recordings | <= 0.1 | 0.33 |" in text
    assert "measured 2026-12-05 22:00 UTC by `python -m benchmarks.alarm_code`" in text
    # the section still says when the model was measured, and the rest of the page is the same
    assert "Measured 2026-12-04 03:12 UTC on the model's machine." in text
    assert "old body" not in text
    assert "<!-- BEGIN other -->\nuntouched\n<!-- END other -->" in text


@pytest.mark.parametrize("missing", ["independent_alarm_scenes", "real_recordings"])
def test_a_run_without_both_sets_changes_nothing(pages: tuple[Path, Path], missing: str) -> None:
    folder, page = pages
    before = (folder / "node_model.json").read_text(), page.read_text()
    run = {k: v for k, v in ALARM_CODE_RUN.items() if k != missing}
    assert not node_model.refresh_code_detector(run, "now")
    assert ((folder / "node_model.json").read_text(), page.read_text()) == before


def test_a_report_without_a_sound_generalisation_is_left_alone(pages: tuple[Path, Path]) -> None:
    folder, _page = pages
    (folder / "node_model.json").write_text(json.dumps({"vibration": {"model_hash": "47cc287d"}}))
    assert not node_model.refresh_code_detector(ALARM_CODE_RUN, "now")
    assert json.loads((folder / "node_model.json").read_text()) == {"vibration": {"model_hash": "47cc287d"}}


def test_a_new_section_gets_a_stamp_even_when_asked_to_keep_one(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    benchmarks_md.write_section("fresh", "Fresh", "cmd", "body", path=page, keep_stamp=True)
    text = page.read_text()
    assert "<!-- BEGIN fresh -->\n## Fresh\n\nReproduce: `cmd`  \nMeasured " in text
    assert "UTC on " in text
    benchmarks_md.write_section("fresh", "Fresh", "cmd", "body 2", path=page)  # a plain rewrite restamps
    assert "body 2" in page.read_text()


def test_the_alarm_code_section_compares_with_the_shipped_models_window_rule(pages: tuple[Path, Path]) -> None:
    """The detector's section names the model whose window rule it compares with, and that model's figures."""
    from benchmarks import alarm_code

    folder, _page = pages
    text = alarm_code.window_rule_comparison()
    assert "model f5a533f8) reported 54 % of the independent alarm scenes" in text and "63.4 false alarms" in text
    (folder / "node_model.json").write_text(json.dumps({"sound": {"model_hash": "a8793edb", "generalization": {}}}))
    assert "has not been measured" in alarm_code.window_rule_comparison()


NODE_TRAFFIC_RUN = {
    "model": "sound_v1 (f5a533f8)",
    "real_recordings": {
        "total": {"hours": 6.103, "hub_per_hour": {"diagnose": 109.3, "local: doorbell": 62.1, "local: knock": 69.5}}
    },
}


def test_what_reaches_home_assistant_follows_the_node_traffic_run(pages: tuple[Path, Path]) -> None:
    folder, page = pages
    assert node_model.refresh_node_traffic(NODE_TRAFFIC_RUN, "f5a533f8c0ffee", "2026-12-06 23:30 UTC by `x`")
    summary = json.loads((folder / "node_model.json").read_text())["sound"]["generalization"]
    assert summary["real_doorbell_knock_events_per_hour"] == 131.6
    assert summary["real_diagnoses_per_hour"] == 109.3
    assert summary["heldout_macro_f1"] == 0.35  # the model's figures are untouched
    text = page.read_text()
    assert "| doorbell + knock `binmoe_detection` events per hour in Home Assistant, real recordings" in text
    assert "| 131.6 |" in text and "| 109.3 |" in text
    assert "measured 2026-12-06 23:30 UTC by `x`" in text
    assert "Measured 2026-12-04 03:12 UTC on the model's machine." in text


def test_node_traffic_of_another_model_or_without_recordings_changes_nothing(pages: tuple[Path, Path]) -> None:
    folder, page = pages
    before = (folder / "node_model.json").read_text(), page.read_text()
    assert not node_model.refresh_node_traffic(NODE_TRAFFIC_RUN, "8424c08e", "now")  # the report is f5a533f8's
    without = {k: v for k, v in NODE_TRAFFIC_RUN.items() if k != "real_recordings"}
    assert not node_model.refresh_node_traffic(without, "f5a533f8", "now")
    assert ((folder / "node_model.json").read_text(), page.read_text()) == before


def test_a_report_without_node_traffic_says_not_measured(pages: tuple[Path, Path]) -> None:
    _folder, page = pages
    assert node_model.refresh_code_detector(ALARM_CODE_RUN, "now")
    text = page.read_text()
    assert "| diagnoses asked of the GPU tier per hour, real recordings (default node) | — | None |" in text
    assert "rows of what reaches Home Assistant" not in text
