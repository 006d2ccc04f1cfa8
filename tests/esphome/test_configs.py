"""`esphome config` for every shipped node YAML, code generation, and the errors users get for bad options."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import NODES, REPO

from node_factory.reference.baseline import SOUND_PERSISTENCE_MS, persistence_windows
from node_factory.reference.router import CONFIRMED_CLASSES
from scripts.lib.host_build import PINNED, Release, build_dir_of, build_flags, generate, locked_version

COMPONENTS = REPO / "esphome" / "components"
MODELS = COMPONENTS / "binmoe" / "models"
SHIPPED = sorted((REPO / "esphome").glob("binmoe-*.yaml"))
HOST_YAMLS = sorted((REPO / "esphome" / "demo").glob("*.yaml")) + sorted(NODES.glob("*.yaml"))


def esphome(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The pinned ESPHome (the bad-input cases test the component's own checks, not ESPHome's)."""
    return PINNED.esphome(*args, cwd=cwd)


def test_the_installed_releases_are_the_locked_ones(release: Release) -> None:
    run = release.esphome("version", cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Version: {release.version}" in run.stdout
    lock = "esphome.txt" if release is PINNED else "esphome-next.txt"
    assert release.version == locked_version(lock)


def test_every_board_is_shipped() -> None:
    names = {p.name for p in SHIPPED}
    assert {"binmoe-sound-node.yaml", "binmoe-sound-node-s3.yaml", "binmoe-vibration-node.yaml",
            "binmoe-vibration-piezo-node.yaml"} <= names  # fmt: skip


@pytest.mark.parametrize("node", SHIPPED, ids=lambda p: p.stem)
def test_shipped_yaml_validates_and_generates(release: Release, node: Path, tmp_path: Path) -> None:
    """The dashboard YAML as shipped (the component from this checkout instead of GitHub), with each release."""
    shutil.copytree(REPO / "esphome", tmp_path / "esphome", ignore=shutil.ignore_patterns(".esphome", "components"))
    local = ["-s", "binmoe_source", str(COMPONENTS)]
    checked = release.esphome(*local, "config", node.name, cwd=tmp_path / "esphome")  # default toolchain
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration is valid!" in checked.stdout + checked.stderr
    text = node.read_text()
    for needed in ("dashboard_import:", "package_import_url: github://", "packages:", "esp32:"):
        assert needed in text, needed
    base = (REPO / "esphome" / "packages" / "binmoe-base.yaml").read_text()
    assert "encryption: {}" in base and "platform: esphome" in base  # API key from HA on adoption; OTA
    generated = release.esphome(*release.esp32_offline_args, *local, "compile", "--only-generate", node.name,
                                cwd=tmp_path / "esphome")  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    (model_h,) = (release.data_dir(tmp_path / "esphome") / "build").glob("*/src/binmoe/binmoe_model.h")
    assert "static_assert(::binmoe::takes_input" in model_h.read_text()
    # the ESP-IDF driver of the node's input is in the build (ESPHome leaves unused drivers out)
    driver = {"sound": "esp_driver_i2s", "vibration": "esp_driver_i2c", "vibration-piezo": "esp_adc"}
    ini = (model_h.parents[2] / "platformio.ini").read_text()
    (excluded,) = re.findall(r"-DEXCLUDE_COMPONENTS=(\S+)", ini)
    needed = driver[node.stem.removeprefix("binmoe-").removesuffix("-node").removesuffix("-node-s3")]
    assert needed not in excluded.split(";"), excluded


@pytest.mark.parametrize("node", ["binmoe-vibration-node.yaml", "binmoe-vibration-piezo-node.yaml"])
def test_the_shipped_fault_identification_lines_validate_once_uncommented(node: str, tmp_path: Path) -> None:
    """The vibration nodes ship fault identification commented out (the user's machine's speed and bearing); the
    lines the user uncomments, the IMA ADPCM capture among them (8 s on the ADXL345 node, 4 s on the piezo node,
    sent as long after the anomaly starts), make a valid node."""
    shutil.copytree(REPO / "esphome", tmp_path / "esphome", ignore=shutil.ignore_patterns(".esphome", "components"))
    path = tmp_path / "esphome" / node
    options = ("shaft_speed:", "bearing:", "capture_duration:", "capture_encoding:", "capture_delay:")
    lines = path.read_text().splitlines()
    opened = [line.replace("  # ", "  ", 1) if line.startswith(tuple(f"  # {o}" for o in options)) else line
              for line in lines]  # fmt: skip
    assert sum(a != b for a, b in zip(lines, opened, strict=True)) == len(options)
    path.write_text("\n".join(opened) + "\n")
    checked = esphome("-s", "binmoe_source", str(COMPONENTS), "config", node, cwd=path.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    seconds = "8s" if node == "binmoe-vibration-node.yaml" else "4s"  # what each YAML suggests (docs/esphome.md)
    assert "capture_encoding: ima_adpcm" in checked.stdout and f"capture_duration: {seconds}" in checked.stdout
    assert f"capture_delay: {seconds}" in checked.stdout  # the capture starts after the anomaly does


@pytest.mark.parametrize("node", HOST_YAMLS, ids=lambda p: p.stem)
def test_host_yaml_validates_and_generates(release: Release, node: Path, tmp_path: Path) -> None:
    """The host YAMLs (scripts/demo's node, the test nodes) with each release, in place (their component path is
    relative). tests/esphome/nodes/host-sound.yaml is also built and run with each release (test_host_node.py)."""
    checked = release.esphome("config", node.name, cwd=node.parent, data_dir=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Configuration is valid!" in checked.stdout + checked.stderr
    generated = release.esphome("compile", "--only-generate", node.name, cwd=node.parent, data_dir=tmp_path)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    (model_h,) = (tmp_path / "build").glob("*/src/binmoe/binmoe_model.h")
    assert "static_assert(::binmoe::takes_input" in model_h.read_text()


HOST_NODE: dict[str, Any] = {
    "esphome": {"name": "bad-input"},
    "host": {},
    "api": {},
    "logger": {},
    "external_components": [{"source": {"type": "local", "path": str(COMPONENTS)}, "components": ["binmoe"]}],
}


def check(tmp_path: Path, binmoe: dict[str, Any], **extra: Any) -> str:
    """Run `esphome config` on a host node with this binmoe block; returns the output (and the exit code)."""
    config = {**HOST_NODE, **extra, "binmoe": binmoe}
    config = {k: v for k, v in config.items() if v is not None}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = esphome("config", "node.yaml", cwd=tmp_path)
    return f"rc={run.returncode}\n{run.stdout}{run.stderr}"


@pytest.mark.parametrize(
    ("binmoe", "message"),
    [
        ({"model": "sound", "replay": {}, "classes": {"smoke": {"report": True}}},
         "model sound-v1 has no class 'smoke'"),
        ({"model": "sound", "replay": {}, "hop": "5s"}, "hop must be between 32 ms (one frame) and 1024 ms"),
        ({"model": "sound", "replay": {}, "on_detection": [{"classes": ["fire"], "then": []}]},
         "model sound-v1 has no class 'fire'"),
        ({"model": "radio", "replay": {}}, "model must be one of sound, vibration, vibration_adc"),
        ({"model": "missing.h", "replay": {}}, "missing.h does not exist"),
        ({"model": "sound"}, "Must contain exactly one of microphone, adxl345, adc, replay"),
        ({"model": "sound", "replay": {}, "max_escalations_per_minute": -1}, "max_escalations_per_minute"),
        ({"model": "sound", "replay": {}, "classes": {"knock": {"margin_threshold": "high"}}}, "margin_threshold"),
        ({"model": "sound", "replay": {}, "target_escalation_rate": "1%"},
         "target_escalation_rate must be at least 5% for model sound-v1"),
        ({"model": "sound", "replay": {}, "alarm_events": [{"class": "fire", "need": 2, "span": 8}]},
         "model sound-v1 has no class 'fire'"),
        ({"model": "sound", "replay": {}, "alarm_events": [{"class": "smoke_alarm", "need": 9, "span": 8}]},
         "need (9) must not exceed span (8)"),
        ({"model": "sound", "replay": {}, "alarm_events": [{"class": "smoke_alarm", "need": 2, "span": 33}]},
         "value must be at most 32.\n      span: 33"),
        ({"model": "sound", "replay": {}, "alarm_events": [{"class": "smoke_alarm", "need": 0, "span": 8}]},
         "value must be at least 1.\n      need: 0"),
        ({"model": "sound", "replay": {}, "alarm_events": [{"class": "co_alarm", "need": 2, "span": 12},
                                                           {"class": "co_alarm", "need": 3, "span": 12}]},
         "one alarm event rule per class: 'co_alarm' has two"),
        ({"model": "sound", "replay": {}, "alarm_events": [{"class": "smoke_alarm", "span": 8}]},
         "'need' is a required option"),
        ({"model": "sound", "replay": {}, "alarm_code": "maybe"}, "alarm_code"),
        ({"model": "sound", "replay": {}, "hop": "32ms", "anomaly_end_after": "10s"},
         "anomaly_end_after of 10 s is 282 windows at the 32 ms hop; at most 255 (9.152 s)"),
        ({"model": "sound", "replay": {}, "classes": {"doorbell": {"confirm_windows": 3}}},
         "value must be at most 2.\n      confirm_windows: 3"),
    ],
    ids=["unknown-class", "hop", "trigger-class", "model-name", "model-file", "no-source", "limit", "threshold",
         "rate", "event-class", "event-need-above-span", "event-span", "event-need-0", "event-twice", "event-no-need",
         "alarm-code-not-a-boolean", "anomaly-too-long-at-the-hop", "confirm-windows"],
)  # fmt: skip
def test_bad_options_name_the_option(tmp_path: Path, binmoe: dict[str, Any], message: str) -> None:
    out = check(tmp_path, binmoe)
    assert not out.startswith("rc=0") and message in out, out


def test_a_node_without_api_needs_local_automations(tmp_path: Path) -> None:
    out = check(tmp_path, {"model": "sound", "replay": {}}, api=None)
    assert not out.startswith("rc=0") and "needs the native API" in out, out
    ok = check(tmp_path, {"model": "sound", "replay": {}, "on_detection": [{"then": []}]}, api=None)
    assert ok.startswith("rc=0"), ok


ESP32_NODE: dict[str, Any] = {
    "esphome": {"name": "bad-input"},
    "esp32": {"board": "esp32-c3-devkitm-1", "framework": {"type": "esp-idf"}},
    "wifi": {"ap": {}},
    "api": {},
    "logger": {},
    "external_components": HOST_NODE["external_components"],
}


def check_esp32(tmp_path: Path, binmoe: dict[str, Any], **extra: Any) -> str:
    config = {**ESP32_NODE, **extra, "binmoe": binmoe}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = esphome("config", "node.yaml", cwd=tmp_path)
    return f"rc={run.returncode}\n{run.stdout}{run.stderr}"


def test_microphone_rate_must_match_the_model(tmp_path: Path) -> None:
    i2s = {"i2s_audio": [{"id": "bus", "i2s_lrclk_pin": "GPIO6", "i2s_bclk_pin": "GPIO7"}]}
    mic = {"platform": "i2s_audio", "id": "mic", "i2s_din_pin": "GPIO5", "adc_type": "external", "pdm": False}
    ok = check_esp32(tmp_path, {"model": "sound", "microphone": "mic"}, **i2s,
                     microphone=[{**mic, "sample_rate": 16000}])  # fmt: skip
    assert ok.startswith("rc=0"), ok
    out = check_esp32(tmp_path, {"model": "sound", "microphone": "mic"}, **i2s,
                      microphone=[{**mic, "sample_rate": 44100}])  # fmt: skip
    assert not out.startswith("rc=0") and "16000" in out and "sample_rate" in out, out


def test_accelerometer_rate_must_match_the_model(tmp_path: Path) -> None:
    i2c = {"i2c": {"sda": "GPIO6", "scl": "GPIO7"}}
    out = check_esp32(tmp_path, {"model": "sound", "adxl345": {}}, **i2c)
    assert not out.startswith("rc=0") and "cannot sample at the model's 16000 Hz" in out, out
    out = check_esp32(tmp_path, {"model": "vibration", "adxl345": {"sample_rate": 1600}}, **i2c)
    assert not out.startswith("rc=0") and "needs 3200 Hz input, adxl345 is set to 1600 Hz" in out, out
    ok = check_esp32(tmp_path, {"model": "vibration", "adxl345": {}}, **i2c)
    assert ok.startswith("rc=0"), ok


def test_adc_source_only_on_c3_and_s3(tmp_path: Path) -> None:
    classic = {**ESP32_NODE, "esp32": {"board": "esp32dev", "framework": {"type": "esp-idf"}}}
    config = {**classic, "binmoe": {"model": "vibration_adc", "adc": {"pin": 34}}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = esphome("config", "node.yaml", cwd=tmp_path)
    assert run.returncode != 0 and "binmoe's adc source" in run.stdout + run.stderr, run.stdout + run.stderr


def custom_model(tmp_path: Path, stem: str, **manifest_changes: Any) -> Path:
    """A user's exported model: header + manifest (here: copies of a built-in one)."""
    header = tmp_path / f"{stem}.h"
    manifest = json.loads((MODELS / "vibration_adc_v1.json").read_text())
    shutil.copy(MODELS / "vibration_adc_v1.h", header)
    manifest.update(header=header.name, **manifest_changes)
    (tmp_path / f"{stem}.json").write_text(json.dumps(manifest))
    return header


def test_custom_model_for_other_input_is_rejected_at_config_time(tmp_path: Path) -> None:
    header = custom_model(tmp_path, "garage_pump_v1")
    out = check_esp32(tmp_path, {"model": str(header), "adc": {"pin": 3, "sample_rate": 8000}})
    assert not out.startswith("rc=0") and "needs 16000 Hz input, adc is set to 8000 Hz" in out, out
    ok = check_esp32(tmp_path, {"model": str(header), "adc": {"pin": 3}})
    assert ok.startswith("rc=0"), ok
    (tmp_path / "garage_pump_v1.json").unlink()
    out = check_esp32(tmp_path, {"model": str(header), "adc": {"pin": 3}})
    assert not out.startswith("rc=0") and "has no manifest garage_pump_v1.json" in out, out


def test_a_model_exported_for_an_older_header_layout_is_rejected(tmp_path: Path) -> None:
    header = custom_model(tmp_path, "old_pump_v1")
    manifest = json.loads((tmp_path / "old_pump_v1.json").read_text())
    manifest["header_format"] = 3  # what exports before the level normalisation flag wrote
    (tmp_path / "old_pump_v1.json").write_text(json.dumps(manifest))
    out = check_esp32(tmp_path, {"model": str(header), "adc": {"pin": 3}})
    assert not out.startswith("rc=0"), out
    assert "has header format 3, this component reads format 4: export the model again" in out, out
    del manifest["header_format"]  # what exports before header format 2 wrote
    (tmp_path / "old_pump_v1.json").write_text(json.dumps(manifest))
    out = check_esp32(tmp_path, {"model": str(header), "adc": {"pin": 3}})
    assert "has header format 1, this component reads format 4: export the model again" in out, out


@pytest.mark.parametrize(
    ("change", "message"),
    [({"margin_thresholds": [1400, 1400]}, "margin_thresholds: 2 values for 7 classes"),
     ({"feature_config": {"frame": 512, "frames": 32}}, "feature_config/sample_rate: required key not provided"),
     ({"feature_digest": "0cfdac67"}, "feature_digest: must be 64 lowercase hex digits")],
    ids=["thresholds", "feature-config", "digest"],
)  # fmt: skip
def test_a_bad_manifest_names_the_file_and_the_field(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    """The manifest is validated by a schema: a damaged or hand-edited one is rejected before code generation."""
    header = custom_model(tmp_path, "bad_pump_v1", **change)
    out = check_esp32(tmp_path, {"model": str(header), "adc": {"pin": 3}})
    assert not out.startswith("rc=0") and "bad_pump_v1.json" in out and message in out, out


def test_replay_is_host_only_at_config_time(tmp_path: Path) -> None:
    """binmoe.replay on an ESP32 node fails `esphome config` (the schema says so), not only code generation."""
    replay = {"action": "replay", "variables": {"file": "string"}, "then": [{"binmoe.replay": {"file": "x.wav"}}]}
    out = check_esp32(tmp_path, {"model": "vibration_adc", "adc": {"pin": 3}}, api={"actions": [replay]})
    assert not out.startswith("rc=0") and "binmoe.replay is only available on the host platform" in out, out


@pytest.mark.parametrize(
    ("duration", "message"), [("0s", "at least"), ("8d", "at most"), ("soon", "Unknown value 'soon'")]
)
def test_learn_baseline_duration_is_validated(tmp_path: Path, duration: str, message: str) -> None:
    learn = {"action": "learn", "then": [{"binmoe.learn_baseline": {"duration": duration}}]}
    out = check(tmp_path, {"model": "vibration", "replay": {}}, api={"actions": [learn]})
    assert not out.startswith("rc=0") and message in out and "duration" in out, out
    learn["then"] = [{"binmoe.learn_baseline": {"duration": "10min"}}]
    ok = check(tmp_path, {"model": "vibration", "replay": {}}, api={"actions": [learn]})
    assert ok.startswith("rc=0"), ok


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        ("not base64!", "baseline is not base64"),
        ("A" * 532, "baseline has 399 bytes, more than any stored baseline"),
        ("QkJCQg==", "baseline has 4 bytes, fewer than any stored baseline (36)"),
    ],
)
def test_set_baseline_checks_a_baseline_written_in_the_yaml(tmp_path: Path, baseline: str, message: str) -> None:
    """A baseline written into the YAML must be base64 of a stored baseline's size (36-396 bytes, as Home
    Assistant's action checks); one passed by a native-API action (a lambda) is the node's to check when the
    action runs (the host test)."""
    action = {"action": "set", "then": [{"binmoe.set_baseline": {"baseline": baseline}}]}
    out = check(tmp_path, {"model": "vibration", "replay": {}}, api={"actions": [action]})
    assert not out.startswith("rc=0") and message in out, out
    # base64 of a baseline's size, not a baseline: the node refuses it at run time
    action["then"] = [{"binmoe.set_baseline": {"baseline": "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC"}}]
    ok = check(tmp_path, {"model": "vibration", "replay": {}}, api={"actions": [action]})
    assert ok.startswith("rc=0"), ok


VIBRATION = {"model": "vibration", "replay": {}}
RPM_SENSOR = {"sensor": [{"platform": "template", "id": "motor_rpm", "lambda": "return 1480.0;"}]}


@pytest.mark.parametrize(
    ("options", "message"),
    [({"shaft_speed": 1480, "bearing": "6204"},
      "unknown bearing designation '6204': give balls, ball_diameter and pitch_diameter (and contact_angle) from "
      "the maker's data, or one of 6203-2RS JEM, 6205-2RS JEM, ER-16K, ZA-2115"),
     ({"shaft_speed": 30, "bearing": "ER-16K"},
      "shaft_speed must be between 60 and 60000 rpm (got 30), or the id of a sensor that reports rpm"),
     ({"shaft_speed": "no_such_sensor", "bearing": "ER-16K"}, "Couldn't find ID 'no_such_sensor'"),
     ({"shaft_speed": 1480, "bearing": {"balls": 9, "ball_diameter": 40, "pitch_diameter": 39}},
      "ball_diameter (40 mm) must be smaller than pitch_diameter (39 mm)"),
     ({"shaft_speed": 1480, "bearing": {"balls": 2, "ball_diameter": 4, "pitch_diameter": 39}},
      "value must be at least 3"),
     ({"shaft_speed": 1480, "bearing": {"balls": 9, "ball_diameter": 8, "pitch_diameter": 39, "contact_angle": 90}},
      "contact_angle"),
     ({"bearing": "ER-16K"}, "fault identification needs both shaft_speed and bearing: bearing is set, shaft_speed is"
      " missing"),
     ({"shaft_speed": 1480}, "shaft_speed is set, bearing is missing"),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_duration": "20s"},
      "capture_duration of 20 s is 64000 samples at 3200 Hz; at most 32768 (10.24 s) as s16le"),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_duration": "50s", "capture_encoding": "ima_adpcm"},
      "capture_duration of 50 s is 160000 samples at 3200 Hz; at most 129280 (40.4 s) as ima_adpcm"),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_encoding": "flac"}, "Unknown value 'flac'"),
     ({"capture_encoding": "ima_adpcm"}, "shaft_speed and bearing: capture_encoding is set, both are missing"),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_duration": "500ms"}, "capture_duration"),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_delay": "61s"}, "capture_delay"),
     ({"capture_delay": "8s"}, "shaft_speed and bearing: capture_delay is set, both are missing")],
    ids=["unknown-designation", "rpm-range", "no-sensor", "ball-vs-pitch", "balls", "angle", "no-speed",
         "no-bearing", "capture-too-long", "adpcm-too-long", "unknown-encoding", "encoding-alone",
         "capture-too-short", "delay-too-long", "delay-alone"],
)  # fmt: skip
def test_fault_identification_options_are_validated(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    out = check(tmp_path, {**VIBRATION, **options}, **RPM_SENSOR)
    assert not out.startswith("rc=0") and message in out, out


def test_the_shaft_speed_problem_sensor_needs_fault_identification(tmp_path: Path) -> None:
    sensor = {"binary_sensor": [{"platform": "binmoe", "shaft_speed_problem": {"name": "Shaft speed problem"}}]}
    out = check(tmp_path, VIBRATION, **sensor)
    assert not out.startswith("rc=0") and "set the binmoe component's shaft_speed and bearing" in out, out
    out = check(tmp_path, {**VIBRATION, "shaft_speed": "motor_rpm", "bearing": "ER-16K"}, **sensor, **RPM_SENSOR)
    assert out.startswith("rc=0"), out


def test_an_alarm_sensor_needs_its_class_and_an_alarm_event_rule(tmp_path: Path) -> None:
    sensor = {"binary_sensor": [{"platform": "binmoe", "co_alarm": {"name": "CO alarm"}}]}
    out = check(tmp_path, {"model": "sound", "replay": {}, "alarm_events": [{"class": "smoke_alarm", "need": 1,
                                                                              "span": 8}]}, **sensor)  # fmt: skip
    assert not out.startswith("rc=0") and "alarm_events has no rule for it" in out, out
    assert "co_alarm" in out, out
    out = check(tmp_path, VIBRATION, **sensor)
    assert not out.startswith("rc=0") and "has no such class" in out, out
    assert check(tmp_path, {"model": "sound", "replay": {}}, **sensor).startswith("rc=0")


def test_fault_identification_is_for_vibration_models(tmp_path: Path) -> None:
    out = check(tmp_path, {"model": "sound", "replay": {}, "shaft_speed": 1480, "bearing": "ER-16K"})
    assert not out.startswith("rc=0") and "shaft_speed is for vibration models" in out, out


@pytest.mark.parametrize(
    ("binmoe", "expected"),
    [(VIBRATION, "set_anomaly_persistence(5, 11)"),
     ({**VIBRATION, "hop": "2560ms"}, "set_anomaly_persistence(3, 6)"),
     ({"model": "vibration_adc", "replay": {}, "hop": "256ms"}, "set_anomaly_persistence(9, 21)"),
     ({"model": "sound", "replay": {}}, "set_anomaly_persistence(3, 6)"),
     ({"model": "sound", "replay": {}, "hop": "256ms"}, "set_anomaly_persistence(5, 11)"),
     ({**VIBRATION, "anomaly_start_after": "30s", "anomaly_end_after": "1s"}, "set_anomaly_persistence(23, 1)")],
    ids=["vibration", "vibration-window-hop", "piezo-quarter-hop", "sound", "sound-quarter-hop", "given"],
)  # fmt: skip
def test_the_anomaly_hysteresis_is_a_length_of_signal(tmp_path: Path, binmoe: dict[str, Any], expected: str) -> None:
    """Windows in a row at the hop that cover the signal: vibration nodes three and six whole windows (the held-out
    protocol's), sound nodes 2 s and 3.5 s; the options give their own (30 s at the ADXL345 node's 1.28 s hop: 1 +
    ceil(27.44 / 1.28) = 23; under a window: 1). The reference computes the same counts."""
    (tmp_path / "node.yaml").write_text(yaml.safe_dump({**HOST_NODE, "binmoe": binmoe}, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    assert expected in main, [line for line in main.splitlines() if "persistence" in line]


def test_the_reference_counts_the_hysteresis_as_codegen_does() -> None:
    """node_factory.reference.baseline (what the benchmarks score with) against the cases above, in samples."""
    sound_start, sound_end = (ms * 16 for ms in SOUND_PERSISTENCE_MS)  # 16 samples a ms at 16 kHz
    assert persistence_windows(8192, 4096) == (5, 11)  # ADXL345 node at its default hop
    assert persistence_windows(8192, 8192) == (3, 6)
    assert persistence_windows(16384, 4096) == (9, 21)  # piezo node at 256 ms
    assert persistence_windows(16384, 8192, sound_start, sound_end) == (3, 6)
    assert persistence_windows(16384, 4096, sound_start, sound_end) == (5, 11)
    assert persistence_windows(8192, 4096, 30 * 3200, 3200) == (23, 1)


@pytest.mark.parametrize(
    ("options", "expected"),
    [({"shaft_speed": "1480 rpm", "bearing": " 6205-2rs  jem "},
      'set_fault_identification(1480.0f, "[9,7.94,39.0398,0.0]", 8192, false, 0)'),
     ({"shaft_speed": "motor_rpm", "capture_duration": "4s",
       "bearing": {"balls": 16, "ball_diameter": 8.4074, "pitch_diameter": 71.501, "contact_angle": 15.17}},
      'set_fault_identification(0.0f, "[16,8.4074,71.501,15.17]", 12800, false, 0)'),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_duration": "40s", "capture_encoding": "IMA_ADPCM",
       "capture_delay": "40s"},
      'set_fault_identification(1480.0f, "[9,7.9375,38.5064,0.0]", 128000, true, 32)'),
     ({"shaft_speed": 1480, "bearing": "ER-16K", "capture_duration": "8s", "capture_delay": "8s", "hop": "2560ms"},
      'set_fault_identification(1480.0f, "[9,7.9375,38.5064,0.0]", 25600, false, 4)')],
    ids=["fixed-designation", "sensor-geometry", "adpcm-delayed", "delay-at-a-window-hop"],
)  # fmt: skip
def test_fault_identification_reaches_the_generated_code(
    tmp_path: Path, options: dict[str, Any], expected: str
) -> None:
    """The table's geometry (or the given one) as the protocol's JSON array, the capture in samples (default:
    one window of this 8192-sample model), `capture_delay` in windows at the hop (40 s at the default 1.28 s hop:
    32, the first window that ends 40 s or more after the raising one; 8 s at a 2.56 s hop: 4), and the speed
    sensor when one is named."""
    config = {**HOST_NODE, **RPM_SENSOR, "binmoe": {**VIBRATION, **options}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    assert expected in main, [line for line in main.splitlines() if "fault_identification" in line]
    assert ("set_shaft_speed_sensor(motor_rpm)" in main) == (options["shaft_speed"] == "motor_rpm")


def test_a_header_that_does_not_take_the_input_does_not_compile(tmp_path: Path) -> None:
    """A manifest that lies (says 16 kHz for a 3.2 kHz model) passes the config check; the C++ compiler stops it."""
    header = tmp_path / "liar_v1.h"
    shutil.copy(MODELS / "vibration_v1.h", header)
    manifest = json.loads((MODELS / "vibration_adc_v1.json").read_text())
    manifest.update(header=header.name, namespace="binmoe::models::vibration_v1")
    (tmp_path / "liar_v1.json").write_text(json.dumps(manifest))
    config = {**HOST_NODE, "binmoe": {"model": str(header), "replay": {}}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    build_dir = generate(tmp_path / "node.yaml")
    src = build_dir / "src"
    run = subprocess.run(["g++", *build_flags(build_dir), "-Isrc", "-fsyntax-only",
                          str(src / "esphome" / "components" / "binmoe" / "binmoe_runner.cpp")],
                         capture_output=True, text=True, cwd=build_dir, check=False)  # fmt: skip
    assert run.returncode != 0
    assert "does not take this node's input (16000 Hz, frame 512)" in run.stderr, run.stderr[-3000:]


@pytest.mark.parametrize(
    ("source", "defines"),
    [("binmoe_adxl345.cpp", ["-DUSE_BINMOE_ADXL345", "-DUSE_I2C"]),
     ("binmoe_component.cpp", ["-DUSE_BINMOE_MICROPHONE", "-DUSE_MICROPHONE"]),
     ("binmoe_adc.cpp", ["-DUSE_BINMOE_ADC", f"-I{REPO / 'benchmarks' / 'idf_shim'}"])],
    ids=["adxl345", "microphone", "adc"],
)  # fmt: skip
def test_mcu_sources_compile_against_esphomes_apis(
    release: Release, sound_node_binary: Path, source: str, defines: list[str]
) -> None:
    """ESP32 firmware cannot be linked here, but the ADXL345 and microphone paths only need ESPHome's I2C and
    microphone APIs: check them with g++ against each release's headers (syntax and types), with the compiler
    that built that release's host node. ESP-IDF cannot be downloaded, so the ADC source is checked against
    benchmarks/idf_shim, declarations of the ESP-IDF ADC calls it uses written from ESP-IDF's API reference: this
    checks our code, not ESP-IDF's headers."""
    build_dir = build_dir_of(NODES / "host-sound.yaml", release.data_dir(NODES))
    assert sound_node_binary.is_relative_to(build_dir)
    site = release.site_packages()
    path = build_dir / "src" / "esphome" / "components" / "binmoe" / source
    flags = [*build_flags(build_dir), *defines, "-fsyntax-only", "-Isrc", f"-I{site}"]
    run = subprocess.run([*release.env, "g++", *flags, str(path)], capture_output=True, text=True, cwd=build_dir,
                         check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]


def test_target_rate_and_class_overrides_reach_the_generated_code(tmp_path: Path) -> None:
    """12 % picks the table's 10 % margins (the largest rate <= the target); a class override wins."""
    manifest = json.loads((MODELS / "sound_v1.json").read_text())
    table = manifest["margin_thresholds_by_rate"]
    classes = {"knock": {"margin_threshold": 12345, "always_escalate": True, "confirm_windows": 2}}
    binmoe = {"model": "sound", "replay": {}, "target_escalation_rate": "12%", "classes": classes}
    config = {**HOST_NODE, "binmoe": binmoe}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    knock = manifest["classes"].index("knock")
    for idx, value in enumerate(table["0.10"]):
        expected = 12345 if idx == knock else value
        if expected != manifest["margin_thresholds"][idx]:
            assert f"set_margin_threshold({idx}, {expected})" in main
    assert f"set_class_rule({knock}, true, true, true)" in main
    assert "set_class_rule(0, false, false, false)" in main  # background: idle, not reported
    # by default a class is detected on its second window in a row where the reference says so (CONFIRMED_CLASSES)
    for idx, name in enumerate(manifest["classes"]):
        if name not in ("knock", "background"):
            assert f"set_class_rule({idx}, true, false, {str(name in CONFIRMED_CLASSES).lower()})" in main, name
    assert "doorbell" in CONFIRMED_CLASSES


def test_adxl345_level_is_in_db_re_1g(tmp_path: Path) -> None:
    """The ADXL345 source feeds 4 mg/LSB x 8, so int16 full scale is 16.384 g: level_db = dBFS + 24.29."""
    config = {**ESP32_NODE, "i2c": {"sda": "GPIO6", "scl": "GPIO7"}, "binmoe": {"model": "vibration", "adxl345": {}}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    assert "set_level_offset_db(24.29" in main


@pytest.mark.parametrize(
    ("options", "rules"),
    [({}, [(1, 1, 19), (2, 1, 19)]),  # the defaults at the sound model's default hop (512 ms): one code match,
     # held 9.7 s
     ({"hop": "256ms"}, [(1, 1, 32), (2, 1, 32)]),  # the same time in windows, at most 32
     ({"hop": "1024ms"}, [(1, 1, 10), (2, 1, 10)]),
     ({"hop": "640ms"}, [(1, 1, 16), (2, 1, 16)]),
     ({"alarm_code": False}, [(1, 2, 8), (2, 2, 12)]),  # the model's windows: two of the span
     ({"alarm_events": []}, []),
     ({"alarm_events": [{"class": "knock", "need": 1, "span": 1}, {"class": "smoke_alarm", "need": 32, "span": 32}]},
      [(5, 1, 1), (1, 32, 32)])],
    ids=["defaults", "hop-256ms", "hop-1024ms", "hop-640ms", "no-alarm-code", "off", "own-rules"],
)  # fmt: skip
def test_alarm_event_rules_reach_the_generated_code(
    tmp_path: Path, options: dict[str, Any], rules: list[tuple[int, int, int]]
) -> None:
    config = {**HOST_NODE, "binmoe": {"model": "sound", "replay": {}, **options}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    assert re.findall(r"add_event_rule\((\d+), (\d+), (\d+)\)", main) == [tuple(map(str, r)) for r in rules]


def test_models_without_alarm_classes_get_no_event_rules(tmp_path: Path) -> None:
    config = {**ESP32_NODE, "i2c": {"sda": "GPIO6", "scl": "GPIO7"}, "binmoe": {"model": "vibration", "adxl345": {}}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    assert "add_event_rule" not in main and "set_class_rule(0," in main and "set_alarm_code" not in main


@pytest.mark.parametrize(("alarm_code", "call"), [(None, "set_alarm_code(1, 2)"), (True, "set_alarm_code(1, 2)"),
                                                  (False, None)])  # fmt: skip
def test_the_alarm_code_detector_is_on_by_default_for_sound(tmp_path: Path, alarm_code: bool | None,
                                                             call: str | None) -> None:  # fmt: skip
    options = {} if alarm_code is None else {"alarm_code": alarm_code}
    config = {**HOST_NODE, "binmoe": {"model": "sound", "replay": {}, **options}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    main = (generate(tmp_path / "node.yaml") / "src" / "main.cpp").read_text()
    assert re.findall(r"set_alarm_code\(\d+, \d+\)", main) == ([call] if call else [])


def test_alarm_code_needs_the_sound_features(tmp_path: Path) -> None:
    out = check_esp32(tmp_path, {"model": "vibration", "adxl345": {}, "alarm_code": True},
                      i2c={"sda": "GPIO6", "scl": "GPIO7"})  # fmt: skip
    assert not out.startswith("rc=0") and "model vibration-v1 cannot listen for the alarms' temporal codes" in out, out


LEARN_ACTION = {"api": {"actions": [{"action": "learn", "then": [{"binmoe.learn_baseline": {"duration": "10min"}}]}]}}
SET_ACTION = {"api": {"actions": [{"action": "set", "then": [{"binmoe.set_baseline": {"baseline": "QkJC" * 12}}]}]}}
ON_DETECTION = {"on_detection": [{"then": [{"logger.log": "detected"}]}]}


@pytest.mark.parametrize(
    ("binmoe", "extra", "expected"),
    [({"model": "sound", "replay": {}}, {}, {"ALARM_EVENTS", "ALARM_CODE"}),
     ({"model": "sound", "replay": {}, "alarm_code": False, "alarm_events": [], **ON_DETECTION}, {}, {"TRIGGERS"}),
     (VIBRATION, {}, set()),
     (VIBRATION, {"binary_sensor": [{"platform": "binmoe", "anomaly": {"name": "Anomaly"}}]}, {"BASELINE"}),
     (VIBRATION, {"text_sensor": [{"platform": "binmoe", "baseline": {"name": "Baseline"}}]}, {"BASELINE"}),
     (VIBRATION, {"sensor": [{"platform": "binmoe", "anomaly_score": {"name": "Score"}}]}, {"BASELINE"}),
     (VIBRATION, LEARN_ACTION, {"BASELINE"}),
     (VIBRATION, SET_ACTION, {"BASELINE"}),
     ({**VIBRATION, "shaft_speed": 1480, "bearing": "6205-2RS JEM"}, {}, {"ORDERS"})],
    ids=["sound", "sound-bare", "vibration-bare", "anomaly-entity", "baseline-entity", "score-entity",
         "learn-action", "set-action", "orders-without-baseline"],
)  # fmt: skip
def test_optional_parts_are_compiled_only_where_configured(
    tmp_path: Path, binmoe: dict[str, Any], extra: dict[str, Any], expected: set[str]
) -> None:
    """The baseline, fault identification, alarm events, alarm-code detector and automations are compiled into
    a node only where its YAML uses them (issue #14's flash budget; USE_BINMOE_* in the generated defines.h), and
    every such combination compiles: the component, router and messages with the node's own defines."""
    config = {**HOST_NODE, **extra, "binmoe": binmoe}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    build_dir = generate(tmp_path / "node.yaml")
    defines = (build_dir / "src" / "esphome" / "core" / "defines.h").read_text()
    optional = {"ALARM_EVENTS", "ALARM_CODE", "BASELINE", "ORDERS", "TRIGGERS"}
    assert {name for name in optional if f"#define USE_BINMOE_{name}\n" in defines} == expected
    component = build_dir / "src" / "esphome" / "components" / "binmoe"
    for source in [build_dir / "src" / "main.cpp",
                   *(component / f"binmoe_{name}.cpp" for name in ("component", "router", "message"))]:  # fmt: skip
        run = subprocess.run(["g++", *build_flags(build_dir), "-Isrc", "-fsyntax-only", "-Wall", str(source)],
                             capture_output=True, text=True, cwd=build_dir, check=False)  # fmt: skip
        assert run.returncode == 0, f"{source.name}:\n{run.stderr[-3000:]}"


@pytest.mark.parametrize(("options", "defined"), [({}, True), ({"alarm_tone": False}, False),
                                                   ({"alarm_tone": True}, True), ({"smoke_tone": False}, False),
                                                   ({"alarm_code": False}, False)])  # fmt: skip
def test_alarm_tone_is_on_by_default_with_the_alarm_code_detector_and_compiles_in(
    tmp_path: Path, options: dict[str, Any], defined: bool
) -> None:
    config = {**HOST_NODE, "binmoe": {"model": "sound", "replay": {}, **options}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    build_dir = generate(tmp_path / "node.yaml")
    defines = (build_dir / "src" / "esphome" / "core" / "defines.h").read_text()
    assert ("#define USE_BINMOE_ALARM_TONE" in defines) is defined
    component = build_dir / "src" / "esphome" / "components" / "binmoe"
    if defined:  # the component compiles with the tone detector in it
        for source in (component / "binmoe_component.cpp", component / "binmoe_alarm_tone.cpp"):
            run = subprocess.run(["g++", *build_flags(build_dir), "-Isrc", "-fsyntax-only", "-Wall", str(source)],
                                 capture_output=True, text=True, cwd=build_dir, check=False)  # fmt: skip
            assert run.returncode == 0, f"{source.name}:\n{run.stderr[-3000:]}"


@pytest.mark.parametrize(
    ("options", "call"),
    [({}, None), ({"co_tone": True}, None), ({"co_tone": False}, "set_co_tone(false)"), ({"alarm_pitch": True}, None),
     ({"alarm_pitch": False}, "set_alarm_pitch(false)")],
)  # fmt: skip
def test_the_tone_detectors_options_are_on_by_default_and_turn_their_part_off(
    tmp_path: Path, options: dict[str, Any], call: str | None
) -> None:
    """`co_tone: false` turns the T4 path off, `alarm_pitch: false` the pitch gate; left out or true, neither."""
    config = {**HOST_NODE, "binmoe": {"model": "sound", "replay": {}, **options}}
    (tmp_path / "node.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    build_dir = generate(tmp_path / "node.yaml")
    main = (build_dir / "src" / "main.cpp").read_text()
    for setter in ("set_co_tone(false)", "set_alarm_pitch(false)"):
        assert (setter in main) is (setter == call), setter
    if call:  # the generated call compiles against the component
        run = subprocess.run(["g++", *build_flags(build_dir), "-Isrc", "-fsyntax-only", "-Wall", "src/main.cpp"],
                             capture_output=True, text=True, cwd=build_dir, check=False)  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]


def test_co_tone_needs_the_tone_detector(tmp_path: Path) -> None:
    out = check(tmp_path, {"model": "sound", "replay": {}, "alarm_tone": False, "co_tone": True})
    assert not out.startswith("rc=0") and "co_tone is the tone detector's T4 path" in out, out


def test_alarm_pitch_needs_the_tone_detector(tmp_path: Path) -> None:
    out = check(tmp_path, {"model": "sound", "replay": {}, "alarm_tone": False, "alarm_pitch": False})
    assert not out.startswith("rc=0") and "alarm_pitch gates the tone detector's codes" in out, out


def test_alarm_tone_needs_the_alarm_code_detector(tmp_path: Path) -> None:
    out = check(tmp_path, {"model": "sound", "replay": {}, "alarm_code": False, "alarm_tone": True})
    assert not out.startswith("rc=0") and "alarm_tone feeds the alarm-code events" in out, out


def test_smoke_tone_is_read_as_alarm_tone_with_a_warning(tmp_path: Path) -> None:
    # its name until the detector heard CO too: existing YAML keeps working, and is told the new name
    out = check(tmp_path, {"model": "sound", "replay": {}, "smoke_tone": False})
    assert out.startswith("rc=0") and "'smoke_tone' is now called 'alarm_tone'" in out, out
    assert "alarm_tone: false" in out and "smoke_tone:" not in out.split("'smoke_tone' is now called")[1], out
    out = check(tmp_path, {"model": "sound", "replay": {}, "smoke_tone": False, "alarm_tone": True})
    assert not out.startswith("rc=0") and "smoke_tone is the old name of alarm_tone" in out, out
