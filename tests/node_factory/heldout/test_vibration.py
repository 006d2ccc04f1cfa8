"""Vibration clips and machine runs: fault rates from the envelope spectrum, shaft tones, sensor scaling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from node_factory.heldout import VIBRATION_CLASSES, generate_machine_runs, generate_vibration_clips
from node_factory.heldout.common import rng_for
from node_factory.heldout.measure import envelope_spectrum, peak_level_db, spectral_peak
from node_factory.heldout.vibration.bearings import BEARINGS, bearing_by_name
from node_factory.heldout.vibration.generate import render_vibration_clip

CLEAN = {"noise": False, "speed_variation": False}
FAULT_LINE = {"bearing_outer": ("bpfo", 1), "bearing_inner": ("bpfi", 1), "bearing_ball": ("bsf", 2)}


def test_bearing_table_matches_published_defect_orders() -> None:
    assert len(BEARINGS) >= 8
    cwru_de = bearing_by_name("6205-2RS")
    assert cwru_de.bpfo == pytest.approx(3.5848, abs=2e-3) and cwru_de.bpfi == pytest.approx(5.4152, abs=2e-3)
    assert cwru_de.bsf == pytest.approx(2.357, abs=3e-3) and cwru_de.ftf == pytest.approx(0.39828, abs=1e-3)
    cwru_fe = bearing_by_name("6203-2RS")
    assert cwru_fe.bpfo == pytest.approx(3.0530, abs=2e-3) and cwru_fe.bpfi == pytest.approx(4.9469, abs=2e-3)
    er16k = bearing_by_name("ER-16K")
    assert er16k.bpfo == pytest.approx(3.572, abs=2e-3) and er16k.bpfi == pytest.approx(5.428, abs=2e-3)
    kinds = {b.kind for b in BEARINGS}
    assert {"deep_groove", "angular_contact", "tapered_roller"} <= kinds
    for name in ("6203", "6204", "6206", "6305", "6308", "7205"):
        assert any(name in b.designation for b in BEARINGS), name


@pytest.mark.parametrize("rate", [3200, 16000])
@pytest.mark.parametrize("label", sorted(FAULT_LINE))
def test_fault_impact_rate_matches_geometry(rate: int, label: str) -> None:
    """Envelope spectrum of a clean constant-speed clip: the fault line lies within 2 % of the formula."""
    key, mult = FAULT_LINE[label]
    for i, bearing in enumerate(BEARINGS[::2]):
        ov = {**CLEAN, "bearing": bearing.designation, "severity": 0.5}  # impact 0.5 g: well above quantisation
        clip = render_vibration_clip(label, rng_for(2, rate, label, i), rate, 8.0, ov)
        fr = clip.meta["rpm_mean"] / 60
        formula = getattr(bearing, key) * fr * mult  # from the catalogue geometry, not from the renderer
        if formula > 0.35 * rate:
            continue
        resonances = [r for r in clip.meta["machine"]["resonances"] if r["freq_hz"] < 0.45 * rate]
        f_res = max(resonances, key=lambda r: r["gain"])["freq_hz"]
        band = (max(0.7 * f_res, 2.5 * formula), min(1.3 * f_res + 2 * formula, 0.49 * rate))
        if band[1] - band[0] < 2 * formula:
            band = (max(20.0, f_res - 2 * formula), min(0.49 * rate, f_res + 2 * formula))
        f, spec = envelope_spectrum(clip.audio.astype(float), rate, band)
        peak = spectral_peak(f, spec, 0.96 * formula, 1.04 * formula)
        near = (f > 0.5 * formula) & (f < 1.5 * formula)
        assert abs(peak / formula - 1) < 0.02, (bearing.designation, formula, peak)
        # a line, not noise: ball faults spread energy over BSF harmonics and cage sidebands, hence 3x
        assert spec[np.argmin(np.abs(f - peak))] > 3 * np.median(spec[near]), (bearing.designation, "no clear line")


def test_inner_race_fault_has_shaft_sidebands() -> None:
    clip = render_vibration_clip(
        "bearing_inner", rng_for(9, "inner"), 16000, 8.0, {**CLEAN, "bearing": "6205", "rpm": 1800.0}
    )
    fr = clip.meta["rpm_mean"] / 60
    bpfi = bearing_by_name("6205").bpfi * fr
    res = max(clip.meta["machine"]["resonances"], key=lambda r: r["gain"] if r["freq_hz"] < 7000 else 0)["freq_hz"]
    f, spec = envelope_spectrum(
        clip.audio.astype(float), 16000, (max(0.6 * res, 4 * bpfi), min(1.4 * res + 3 * bpfi, 7900.0))
    )
    floor = np.median(spec[(f > 0.5 * bpfi) & (f < 1.5 * bpfi)])
    side = max(spec[np.argmin(np.abs(f - (bpfi - fr)))], spec[np.argmin(np.abs(f - (bpfi + fr)))])
    assert side > 3 * floor


def test_shaft_faults_show_their_orders() -> None:
    for rate in (3200, 16000):
        imb = render_vibration_clip("imbalance", rng_for(3, rate, "imb"), rate, 4.0, CLEAN)
        fr = imb.meta["rpm_mean"] / 60
        x = imb.audio.astype(float) - imb.audio.mean()
        one_x = peak_level_db(x, rate, fr, rel_bw=0.01)
        assert one_x > peak_level_db(x, rate, 3 * fr, rel_bw=0.01) + 20
        loose = render_vibration_clip("looseness", rng_for(3, rate, "loose"), rate, 4.0, {**CLEAN, "rpm": 1500.0})
        y = loose.audio.astype(float) - loose.audio.mean()
        fr = loose.meta["rpm_mean"] / 60
        spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
        floor = 10 * np.log10(np.median(spec))
        harmonics = sum(peak_level_db(y, rate, k * fr, rel_bw=0.005) > floor + 20 for k in range(1, 9))
        assert harmonics >= 4
        assert peak_level_db(y, rate, 1.5 * fr, rel_bw=0.005) > floor + 15  # half orders


def test_adxl345_scaling_and_quantisation() -> None:
    clips = generate_vibration_clips(4, 2, 3200, seconds=2.0, classes=["healthy"])
    for c in clips:
        s = c.meta["sensor"]
        assert s["sensor"] == "adxl345"
        a = c.audio.astype(int)
        assert np.all(a % 16 == 0)  # 3.9 mg LSB x 8 counts, LSB always 0 at 3200 Hz
        # int16 full scale = 16 g: the mean is gravity + offset, read through the drawn scale factor
        expected = (s["gravity_g"] + s["offset_g"]) * 1000 / s["scale_mg_per_lsb"] * 8
        assert abs(a.mean() - expected) < 0.02 * 2048


def test_piezo_adc_codes() -> None:
    for c in generate_vibration_clips(4, 1, 16000, seconds=1.0):
        assert c.meta["sensor"]["sensor"] == "piezo_adc"
        a = c.audio.astype(int)
        assert np.all(a % 16 == 0) and a.min() >= -32768 and a.max() <= 4095 * 16 - 2048 * 16


def test_vibration_determinism_and_labels() -> None:
    a = generate_vibration_clips(5, 1, 3200, seconds=1.0)
    b = generate_vibration_clips(5, 1, 3200, seconds=1.0)
    assert [c.label for c in a] == list(VIBRATION_CLASSES)
    assert [c.audio.tobytes() for c in a] == [c.audio.tobytes() for c in b]
    c = generate_vibration_clips(6, 1, 3200, seconds=1.0)
    assert all(x.audio.tobytes() != y.audio.tobytes() for x, y in zip(a, c, strict=True))
    for clip in a:
        m = clip.meta
        assert m["label"] == clip.label and m["fault"]["label"] == clip.label
        assert len(m["rpm_trajectory_10hz"]) == 10
        assert 540 <= m["rpm_mean"] <= 6600
        assert max(m["rpm_trajectory_10hz"]) > min(m["rpm_trajectory_10hz"])  # speed varies over the clip


def test_machine_run_chunks_are_contiguous_labelled_and_deterministic() -> None:
    runs = generate_machine_runs(
        7, 1, 16000, hours=10 / 3600, chunk_seconds=4.0, faults=("bearing_outer",), fault_segment_s=20.0
    )
    run = runs[0]
    seg = run.segments[0]
    assert run.total_s == pytest.approx(30.0) and seg.start_s == pytest.approx(10.0)
    assert 14.0 <= seg.onset_s <= 22.0
    chunks = list(run.chunks())
    assert chunks[0].start_s == 0.0
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start_s == pytest.approx(prev.start_s + len(prev.audio) / 16000)
    assert sum(len(c.audio) for c in chunks) == 30 * 16000
    assert max(len(c.audio) for c in chunks) <= 4 * 16000
    spans = [s for c in chunks for s in c.labels]
    assert next(s for s in spans if s[2] != "healthy")[0] == pytest.approx(seg.onset_s)
    assert all(s[2] == "healthy" for s in spans if s[1] <= seg.onset_s + 1e-9)
    assert all(s[2] == "bearing_outer" for s in spans if s[0] >= seg.onset_s - 1e-9)
    again = list(
        generate_machine_runs(
            7, 1, 16000, hours=10 / 3600, chunk_seconds=4.0, faults=("bearing_outer",), fault_segment_s=20.0
        )[0].chunks()
    )
    assert [c.audio.tobytes() for c in chunks] == [c.audio.tobytes() for c in again]


def test_machine_run_fault_appears_after_onset() -> None:
    """The outer-race line appears in the envelope spectrum after the onset and not before."""
    run = generate_machine_runs(
        8, 1, 16000, hours=12 / 3600, chunk_seconds=6.0, faults=("bearing_outer",), fault_segment_s=30.0
    )[0]
    seg = run.segments[0]
    audio = np.concatenate([c.audio for c in run.chunks()]).astype(float)
    sr = 16000
    before = audio[int(1 * sr) : int((seg.onset_s - 0.5) * sr)]
    after = audio[int((seg.onset_s + 0.5) * sr) : int((seg.end_s - 0.5) * sr)]
    speeds = run.speed.rpm(np.array([seg.onset_s]))
    bpfo = run.machine.bearing.bpfo * speeds[0] / 60
    res = next(r.freq_hz for r in run.machine.resonances if 1000 < r.freq_hz < 5000)
    band = (max(0.7 * res, 3 * bpfo), min(1.3 * res, 7900.0))

    def line_ratio(x: np.ndarray) -> float:
        f, spec = envelope_spectrum(x, sr, band)
        sel = (f > 0.97 * bpfo) & (f < 1.03 * bpfo)
        ref = (f > 0.5 * bpfo) & (f < 1.5 * bpfo)
        return float(spec[sel].max() / np.median(spec[ref]))

    assert line_ratio(after) > 5 * line_ratio(before)
