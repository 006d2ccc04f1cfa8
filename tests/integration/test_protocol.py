"""The integration's schema on the shared protocol examples, plus a fuzz test of bad payloads."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.binmoe.protocol import InvalidMessage, parse_message

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "protocol"
VALID = sorted((EXAMPLES / "valid").glob("*.json"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.json"))
BASE: dict[str, Any] = json.loads((EXAMPLES / "valid" / "escalation_mqtt.json").read_text())


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_examples(path: Path) -> None:
    message = parse_message(json.loads(path.read_text()))
    if path.stem.startswith("vibration_"):  # a vibration node's anomaly with a capture for the shaft-order analysis
        assert message.node_id == "workshop-vibration"
        assert message.scores == (2, 9, 8, 0, -3, 1, -5)
        payload = message.as_payload()
        assert payload["class"] == "healthy"
        assert (payload["shaft_rpm"], payload["bearing"], payload["capture_rate"]) == (
            1500.0,
            [9, 7.94, 39.04, 0.0],
            1000,
        )
        assert payload["capture"] == json.loads(path.read_text())["capture"]  # forwarded to the GPU tier unchanged
        if "baseline_rpm" in json.loads(path.read_text()):  # the speeds the node's learnt baseline saw
            assert payload["baseline_rpm"] == [1480.0, 1520.0]
    else:
        assert message.node_id == "hallway-sound"
        assert message.scores == (2, 9, 8, 0, -3, 1, -5, 0)
        assert message.as_payload()["class"] == "smoke_alarm"


def test_string_form_of_the_capture_equals_its_native_form() -> None:
    names = ("vibration_escalation_orders_esphome_strings", "vibration_escalation_orders_mqtt")
    strings, native = (parse_message(json.loads((EXAMPLES / "valid" / f"{name}.json").read_text())) for name in names)
    assert strings == native


def test_an_ima_adpcm_capture_is_checked_by_blocks_and_forwarded_with_its_encoding() -> None:
    path = EXAMPLES / "valid" / "vibration_escalation_orders_adpcm_mqtt.json"
    message = parse_message(json.loads(path.read_text()))
    assert message.capture_encoding == "ima_adpcm"
    assert message.as_payload()["capture_encoding"] == "ima_adpcm"  # the GPU tier decodes by it
    assert "capture_encoding" not in parse_message(ORDERS).as_payload()  # absent: int16 samples


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_examples(path: Path) -> None:
    with pytest.raises(InvalidMessage):
        parse_message(json.loads(path.read_text()))


def test_string_form_equals_native_form() -> None:
    native = parse_message(BASE)
    strings = parse_message(json.loads((EXAMPLES / "valid" / "escalation_esphome_strings.json").read_text()))
    assert native == strings


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(field=st.sampled_from(sorted(BASE)), value=json_values)
def test_fuzz_one_field(field: str, value: Any) -> None:
    """Any value in any field either validates or raises InvalidMessage: nothing else escapes."""
    with contextlib.suppress(InvalidMessage):
        parse_message({**BASE, field: value})


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=12), json_values, max_size=12))
def test_fuzz_whole_payload(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidMessage):
        parse_message(payload)


ORDERS: dict[str, Any] = json.loads((EXAMPLES / "valid" / "vibration_escalation_orders_mqtt.json").read_text())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"bearing": "[9, 7.94"}, "not a JSON array"),
        ({"bearing": [9, 7.94, 39.04]}, "expected [balls, ball diameter, pitch diameter, contact angle]"),
        ({"bearing": [9, True, 39.04, 0]}, "expected [balls, ball diameter, pitch diameter, contact angle]"),
        ({"bearing": [9.5, 7.94, 39.04, 0]}, "not a bearing geometry"),
        ({"bearing": [9, 7.94, 39.04, 90]}, "not a bearing geometry"),
        ({"capture": ORDERS["capture"][:-1]}, "its length is not a multiple of 4"),
        ({"capture_rate": 999}, "capture_rate"),
        ({"shaft_rpm": "fast"}, "shaft_rpm"),
    ],
    ids=["bearing-json", "bearing-3", "bearing-bool", "bearing-balls", "bearing-angle", "capture-len", "rate", "rpm"],
)
def test_bad_fault_identification_fields_are_refused(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidMessage, match=re.escape(reason)):
        parse_message({**ORDERS, **changes})


def test_speed_and_bearing_may_come_without_a_capture() -> None:
    """A node that has not captured enough samples yet sends the speed and the bearing alone."""
    message = parse_message({k: v for k, v in ORDERS.items() if k not in ("capture", "capture_rate")})
    assert (message.shaft_rpm, message.capture) == (1500.0, None)
    assert message.as_payload()["bearing"] == [9, 7.94, 39.04, 0.0]
