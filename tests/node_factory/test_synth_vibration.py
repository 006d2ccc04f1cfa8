"""The training vibration generator (node_factory.corpus.synth_vibration): per-window draws and machine runs."""

from __future__ import annotations

import hashlib

import numpy as np

from node_factory.corpus import synth_vibration as sv


def test_windows_without_a_machine_are_the_training_corpus_as_before() -> None:
    # the machine parameter must not move a single draw of the corpus the shipped students were trained on
    digest = hashlib.sha256()
    for label in sv.VIBRATION_CLASSES:
        for seed in range(3):
            digest.update(sv.render(label, np.random.default_rng(seed), 8192, 3200).tobytes())
    assert digest.hexdigest() == "69b5e6e2ac885c71ebc1df353eb60c7333333a807cba200eac8914c276b2ce31"


def test_a_machine_keeps_its_speed_level_and_resonances_across_windows() -> None:
    sr, n = 3200, 12800
    machine = sv.draw_machine(np.random.default_rng(4), sr)
    assert 2 <= len(machine.resonances) <= 6 and all(30 <= f <= 0.45 * sr for f in machine.resonances)

    def rms(label: str, rpm: float, seed: int, load: float = 1.0) -> float:
        x = sv.render(label, np.random.default_rng(seed), n, sr, machine, rpm, load).astype(np.float64)
        return float(np.sqrt(np.mean(x**2)))

    healthy = [rms("healthy", 1500, s) for s in range(3)]
    assert max(healthy) / min(healthy) < 1.3  # no per-window normalisation: the same machine, the same level
    assert rms("imbalance", 1500, 0) > 2 * max(healthy)  # a fault makes it louder
    assert rms("healthy", 1500, 0, load=2.0) > 1.2 * healthy[0]  # load scales the healthy forces
    x = sv.render("healthy", np.random.default_rng(1), n, sr, machine, 1500).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(n)))
    low = spectrum[: int(200 * n / sr)]
    assert abs(np.argmax(low[1:]) + 1 - 25 * n / sr) <= 2  # the strongest low line is 1x at 1500 rpm = 25 Hz


def test_severity_scales_the_fault_and_rpm_end_sweeps_the_speed_inside_the_window() -> None:
    sr, n = 3200, 12800
    machine = sv.draw_machine(np.random.default_rng(4), sr)

    def rms(label: str, severity: float) -> float:
        x = sv.render(label, np.random.default_rng(2), n, sr, machine, 1500, severity=severity).astype(np.float64)
        return float(np.sqrt(np.mean(x**2)))

    full = sv.render("imbalance", np.random.default_rng(2), n, sr, machine, 1500)
    assert np.array_equal(full, sv.render("imbalance", np.random.default_rng(2), n, sr, machine, 1500, severity=1.0))
    assert rms("healthy", 1.0) < rms("imbalance", 0.1) < 0.5 * rms("imbalance", 1.0)
    x = sv.render("healthy", np.random.default_rng(1), n, sr, machine, 1200, rpm_end=1800).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(n)))
    hz = np.fft.rfftfreq(n, 1 / sr)
    sweep = spectrum[(hz > 21) & (hz < 29)].sum()  # 1x sweeps 20 -> 30 Hz: energy all along, not one line
    assert sweep > 0.5 * spectrum[(hz > 19) & (hz < 31)].sum()
