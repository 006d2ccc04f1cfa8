"""The knowledge base's files: the bundled ones load and cover the node models' classes; broken files fail
at start-up with the file and the field named."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gpu_backend.__main__ import main
from gpu_backend.knowledge import BUNDLED_DIR, KnowledgeBaseError, load_knowledge_base
from node_factory.corpus.synth import SOUND_CLASSES
from node_factory.corpus.synth_vibration import VIBRATION_CLASSES

SOUND_FILE = BUNDLED_DIR / "sound.toml"


def test_bundled_files_cover_the_node_models_classes() -> None:
    kb = load_knowledge_base()
    assert sorted(name for task, name in kb.classes if task == "sound") == sorted(SOUND_CLASSES)
    assert sorted(name for task, name in kb.classes if task == "vibration") == sorted(VIBRATION_CLASSES)


def test_life_safety_classes_are_critical_by_default() -> None:
    kb = load_knowledge_base()
    for name in ("smoke_alarm", "co_alarm"):
        known = kb.lookup("sound", name)
        assert known is not None and known.entry.critical
        assert known.entry.default.severity == "critical"
    criticals = {name for (_task, name), known in kb.classes.items() if known.entry.critical}
    assert criticals == {"smoke_alarm", "co_alarm"}


def test_every_cause_cites_a_source_and_an_action() -> None:
    for known in load_knowledge_base().classes.values():
        for cause in known.entry.causes:
            assert known.references(cause), (known.name, cause.id)
            assert known.action_text(cause), (known.name, cause.id)


def _broken(tmp_path: Path, old: str, new: str, source: Path = SOUND_FILE) -> Path:
    """A directory holding a copy of a bundled file with one change (made wherever `old` occurs)."""
    text = source.read_text()
    assert old in text, old
    directory = tmp_path / "kb"
    directory.mkdir()
    (directory / source.name).write_text(text.replace(old, new))
    return directory


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("class.knock", "class.knocking", "class.knocking", "unknown class 'knocking': not in class_names"),
        ('"knock", "water_running"', '"water_running"', "class.knock", "unknown class 'knock'"),
        ('"knock", "water_running"', '"knock", "water_running", "siren"', "class.siren", "missing"),
        ('label = "knock"', "", "class.knock.label", "Field required"),
        ('severity = "warning"\naction = "replace_alarm_battery"', 'action = "replace_alarm_battery"',
         "class.smoke_alarm.causes.1.severity", "Field required"),
        ('severity = "info"', 'severity = "low"', "class.background.causes.0.severity", "'critical'"),
        ('fact = "repeats_last_hour"', 'fact = "repeats_per_hour"', "class.smoke_alarm.causes.1.when.0.fact",
         "unknown fact 'repeats_per_hour'"),
        ('{ fact = "sustained_s", min = 10 }', '{ fact = "sustained_s", is = true }',
         "class.smoke_alarm.causes.2.when.0", "give min and/or max"),
        ('action = "nothing"', 'action = "nothing_at_all"', "class.background.causes.0.action",
         "unknown action 'nothing_at_all'"),
        ('sources = ["household"]', 'sources = ["folklore"]', "class.background.causes.0.sources",
         "unknown source 'folklore'"),
        ('summary = "The {label}{where} is not', 'summary = "The {label} is not', "class.background.causes.0.summary",
         "must name {where}"),
        ('summary = "The {label}{where} is not', 'summary = "The {label}{where}{area} is not',
         "class.background.causes.0.summary", "unknown placeholder"),
        ('sources = ["household"]\n\n[class.smoke_alarm]',
         'sources = ["household"]\nwhen = [{ fact = "margin", max = 1 }]\n\n[class.smoke_alarm]',
         "class.background.causes", "must have no conditions"),
        ('sources = ["household"]\n\n[class.smoke_alarm]',
         'sources = ["household"]\nfinal = true\n\n[class.smoke_alarm]',
         "class.background.causes", "`final` means nothing there"),
        ('confidence = 0.8\nreasoning = "A smoke alarm sounds when',
         'confidence = 1.8\nreasoning = "A smoke alarm sounds when',
         "class.smoke_alarm.causes.7.confidence", "less than or equal to 1"),
        ('task = "sound"', 'task = "smell"', "task", "'vibration'"),
        # an action longer than a diagnosis's recommended_action can carry fails at start-up, not in a diagnosis
        ('then press its test button."', 'then press its test button.' + " Really." * 40 + '"',
         "actions.replace_alarm_battery", "at most 300 characters"),
    ],
)  # fmt: skip
def test_broken_file_names_file_and_field(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    directory = _broken(tmp_path, old, new)
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(directory)
    text = str(caught.value)
    expected = rf"{re.escape(str(directory / 'sound.toml'))}: {re.escape(field)}\S*: .*{re.escape(message)}"
    assert re.search(expected, text), text


def test_critical_class_default_must_be_critical(tmp_path: Path) -> None:
    old = 'severity = "critical"\naction = "check_fire"\nconfidence = 0.8'
    directory = _broken(tmp_path, old, old.replace("critical", "warning", 1))
    with pytest.raises(KnowledgeBaseError, match=r"sound\.toml: class\.smoke_alarm: .*default cause must be critical"):
        load_knowledge_base(directory)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    directory = _broken(tmp_path, 'task = "sound"', 'task = "sound')
    with pytest.raises(KnowledgeBaseError, match=r"sound\.toml: cannot read"):
        load_knowledge_base(directory)


def test_two_files_of_one_directory_must_not_define_a_class_twice(tmp_path: Path) -> None:
    directory = tmp_path / "kb"
    directory.mkdir()
    shutil.copy(SOUND_FILE, directory / "a.toml")
    shutil.copy(SOUND_FILE, directory / "b.toml")
    with pytest.raises(KnowledgeBaseError, match=r"b\.toml: class\.\w+: already defined for sound in .*a\.toml"):
        load_knowledge_base(directory)


def test_extra_directory_adds_and_replaces_classes(tmp_path: Path) -> None:
    custom = (
        'task = "sound"\nclass_names = ["glass_break", "doorbell"]\n'
        '[sources]\nmine = "My own notes"\n[actions]\ncheck = "Check the windows."\n'
        '[class.glass_break]\nlabel = "breaking glass"\n[[class.glass_break.causes]]\nid = "window"\n'
        'cause = "A window or a glass broke"\nseverity = "warning"\naction = "check"\nconfidence = 0.6\n'
        'reasoning = "Breaking glass."\nsummary = "{label}{where}."\nsources = ["mine"]\n'
        '[class.doorbell]\nlabel = "chime"\n[[class.doorbell.causes]]\nid = "visitor"\n'
        'cause = "A visitor"\nseverity = "info"\naction = "check"\nconfidence = 0.5\n'
        'reasoning = "A chime."\nsummary = "The {label}{where}."\nsources = ["mine"]\n'
    )
    directory = tmp_path / "mine"
    directory.mkdir()
    (directory / "mine.toml").write_text(custom)
    kb = load_knowledge_base(directory)
    glass, doorbell = kb.lookup("sound", "glass_break"), kb.lookup("sound", "doorbell")
    smoke = kb.lookup("sound", "smoke_alarm")
    assert glass is not None and glass.entry.label == "breaking glass"
    assert doorbell is not None and doorbell.entry.label == "chime" and doorbell.origin == directory / "mine.toml"
    assert smoke is not None and smoke.origin == SOUND_FILE


def test_serve_refuses_to_start_with_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _broken(tmp_path, "class.knock", "class.knocking")
    assert main(["serve", "--profile", "cpu-fixture", "--knowledge", str(directory), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"{directory / 'sound.toml'}: class.knocking: unknown class 'knocking'" in err
