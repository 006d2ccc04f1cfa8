"""The GPU tier's reference schema on the shared protocol examples (the integration checks the same)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gpu_backend.protocol import DiagnoseRequest, NodeMessage

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "protocol"
VALID = sorted((EXAMPLES / "valid").glob("*.json"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.json"))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_examples(path: Path) -> None:
    message = NodeMessage.model_validate(json.loads(path.read_text()))
    if path.stem.startswith("vibration_"):  # a vibration node's anomaly with a capture for the shaft-order analysis
        assert message.node_id == "workshop-vibration"
        assert message.scores == [2, 9, 8, 0, -3, 1, -5]
        assert (message.shaft_rpm, message.bearing, message.capture_rate) == (1500.0, (9, 7.94, 39.04, 0.0), 1000)
    else:
        assert message.node_id == "hallway-sound"
        assert message.scores == [2, 9, 8, 0, -3, 1, -5, 0]
    DiagnoseRequest.model_validate({"v": 1, "escalation": message.model_dump(by_alias=True)})


def test_string_form_of_the_capture_equals_its_native_form() -> None:
    names = ("vibration_escalation_orders_esphome_strings", "vibration_escalation_orders_mqtt")
    strings, native = (
        NodeMessage.model_validate(json.loads((EXAMPLES / "valid" / f"{name}.json").read_text())) for name in names
    )
    assert strings == native


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_examples(path: Path) -> None:
    with pytest.raises(ValidationError):
        NodeMessage.model_validate(json.loads(path.read_text()))


def test_examples_exist() -> None:
    assert len(VALID) >= 4 and len(INVALID) >= 10


def test_diagnosis_response_example_matches_the_schema() -> None:
    """The example diagnosis the integration's test double answers with is one the GPU tier can send."""
    import jsonschema

    from gpu_backend.protocol import DiagnoseResponse

    for path in sorted((EXAMPLES / "diagnosis").glob("response_*.json")):
        body = json.loads(path.read_text())
        jsonschema.validate(body, DiagnoseResponse.model_json_schema(by_alias=True))
        assert DiagnoseResponse.model_validate(body).model_dump(by_alias=True) == body
