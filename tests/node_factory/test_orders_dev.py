"""The fault-identification development loop (benchmarks/orders_dev.py): its load-zone modulation, its
healthy clips, which must stay free of bearing faults for the noise guard to mean anything, and its averaging
of several captures."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks import orders_dev as od
from benchmarks.orders_dev import load_zone, null_clip, stress_clip
from node_factory.reference.orders import envelope_spectrum, identify, kurtogram_envelopes


def test_the_load_zone_is_full_at_its_centre_and_empty_outside_its_extent() -> None:
    theta = np.radians(np.array([0.0, 45.0, 89.0, 91.0, 180.0, -91.0]))
    q = load_zone(theta, 0.5)  # extent 0.5: +-90 degrees
    assert q[0] == pytest.approx(1.0)
    assert q[1] == pytest.approx(np.cos(theta[1]) ** 1.5)
    assert q[2] > 0 and q[3] == 0 and q[4] == 0 and q[5] == 0
    assert load_zone(np.radians(np.array([61.0])), 0.25)[0] == 0  # extent 0.25: +-60 degrees


def test_the_modulation_option_changes_only_the_bearing_faults_modulation() -> None:
    sr, n = 3200, 3200 * 4
    for label, same in (("imbalance", True), ("bearing_inner", False), ("bearing_ball", False)):
        zone, _, _ = stress_clip(label, 8_400_000, n, sr, "loadzone")
        sine, _, _ = stress_clip(label, 8_400_000, n, sr, "sine")
        assert zone.shape == sine.shape == (n,) and np.array_equal(zone, sine) == same


@pytest.mark.parametrize("seed", [9_100_000, 9_100_001, 9_100_002])
def test_healthy_clips_are_not_called_bearing_faults(seed: int) -> None:
    audio, rpm, geometry = null_clip(seed, 3200 * 4, 3200)
    assert audio.dtype == np.int16 and 60 <= rpm <= 60_000
    assert not identify(audio, 3200, rpm, geometry).fault.startswith("bearing")


def test_one_averaged_capture_is_the_kurtogram_and_more_captures_average_their_spectra() -> None:
    audio, _rpm, _g = od.stress_clip("bearing_inner", od.DEV_SEED, 3 * 12_800, 3200, "loadzone")
    x = audio.astype(np.float64)
    single, one = kurtogram_envelopes(x, 3200, 400.0), od.averaged_envelopes(1)(x, 3200, 400.0)
    assert [band for _e, band in one] == [band for _e, band in single]
    for (a, _b1), (b, _b2) in zip(one, single, strict=True):
        np.testing.assert_allclose(a.amplitude, b.amplitude)
    three = od.averaged_envelopes(3)(x, 3200, 400.0)
    (spectrum, band) = three[0]
    parts = [envelope_spectrum(part, 3200, band).amplitude for part in np.array_split(x, 3)]
    np.testing.assert_allclose(spectrum.amplitude, np.sqrt(np.mean(np.square(parts), axis=0)))
    assert spectrum.df == 3 * single[0][0].df  # each capture a third as long: bins three times as wide


def test_the_codec_option_runs_the_clips_through_the_nodes_encoder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[int] = []
    real = od.identify

    def spy(samples: np.ndarray, *args: object) -> object:  # records what the real analysis is given
        seen.append(len(samples))
        return real(samples, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(od, "identify", spy)
    argv = ["orders_dev", "--per-class", "1", "--seconds", "1", "--codec", "ima_adpcm"]
    monkeypatch.setattr(sys, "argv", argv)
    assert od.main() == 0
    assert "3200 Hz 1 s, ima_adpcm: accuracy" in capsys.readouterr().out
    assert set(seen) == {3200 // 505 * 505}  # whole blocks only
