"""The capture-length benchmark measures at each node's default capture (one model window), which the
component's `capture_duration` documentation states as 2.56 s (ADXL345) and 1.024 s (piezo)."""

from __future__ import annotations

import pytest

from benchmarks.fault_id_capture import node_default_capture_s


@pytest.mark.parametrize(("family", "seconds"), [("vibration", 2.56), ("vibration_adc", 1.024)])
def test_the_default_capture_is_one_model_window(family: str, seconds: float) -> None:
    assert node_default_capture_s(family) == pytest.approx(seconds)
