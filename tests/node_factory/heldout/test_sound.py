"""Sound clips and scenes: determinism, SNR, int16 range and clipping, event timing, CLI output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from node_factory.heldout import SOUND_CLASSES, generate_alarm_events, generate_negative_scenes, generate_sound_clips
from node_factory.heldout.cli import main
from node_factory.heldout.common import Clip, read_wav, rng_for, to_jsonable
from node_factory.heldout.measure import envelope, pulses
from node_factory.heldout.sound.ambient import SpeechPool
from node_factory.heldout.sound.generate import render_clip

SR = 16000


def test_every_class_renders_as_int16_with_metadata() -> None:
    clips = generate_sound_clips(1, 2, seconds=2.0)
    assert [c.label for c in clips] == [c for c in SOUND_CLASSES for _ in range(2)]
    for c in clips:
        assert c.audio.dtype == np.int16 and len(c.audio) == 2 * SR
        assert c.sample_rate == SR
        assert np.abs(c.audio.astype(int)).max() > 0
        json.dumps(to_jsonable(c.meta))  # serialisable
        for key in ("room", "microphone", "recording", "intervals"):
            assert key in c.meta, (c.label, key)
        if c.label != "background":
            assert -5 <= c.meta["snr_db"] <= 30


def test_same_seed_same_bytes_and_clip_independence() -> None:
    a = generate_sound_clips(7, 2, seconds=1.5, classes=["knock", "speech_tv", "smoke_alarm"])
    b = generate_sound_clips(7, 2, seconds=1.5, classes=["knock", "speech_tv", "smoke_alarm"])
    assert [x.audio.tobytes() for x in a] == [x.audio.tobytes() for x in b]
    c = generate_sound_clips(8, 2, seconds=1.5, classes=["knock", "speech_tv", "smoke_alarm"])
    assert all(x.audio.tobytes() != y.audio.tobytes() for x, y in zip(a, c, strict=True))
    # clip i of a class does not depend on how many clips are drawn or which classes come first
    d = generate_sound_clips(7, 1, seconds=1.5, classes=["smoke_alarm"])
    assert d[0].audio.tobytes() == a[4].audio.tobytes()


@pytest.mark.parametrize("label", ["knock", "water_running", "co_alarm", "doorbell"])
@pytest.mark.parametrize("snr", [-5.0, 10.0, 30.0])
def test_snr_measured_on_the_mixed_components(label: str, snr: float) -> None:
    pool = SpeechPool(rng_for(0, "pool"), SR, voices=2, seconds=2.0)
    out = render_clip(label, rng_for(3, label, int(snr)), 3.0, pool, {"snr_db": snr}, return_components=True)
    assert isinstance(out, tuple)
    clip, comp = out
    mask = comp["mask"] > 0
    measured = 10 * np.log10(np.mean(comp["target"][mask] ** 2) / np.mean(comp["noise"] ** 2))
    assert abs(measured - snr) < 0.01
    assert clip.meta["snr_db"] == snr
    # and the recorded noise level is what the noise really was
    spl_noise = 10 * np.log10(np.mean(comp["noise"] ** 2) / (20e-6) ** 2)
    assert abs(spl_noise - clip.meta["noise_spl_at_mic_db"]) < 0.01


def test_loud_alarm_close_to_a_hot_microphone_clips_and_stays_in_int16() -> None:
    ov = {"distance_m": 0.5, "gain_db": 30.0, "spl_1m": 100.0, "snr_db": 30.0, "interconnected": False}
    clips = generate_sound_clips(5, 4, classes=["smoke_alarm"], overrides=ov)
    hard = [c for c in clips if c.meta["microphone"]["clipping"] == "hard"]
    assert all(c.meta["recording"]["clipped_fraction"] > 0 for c in clips)
    for c in hard:
        a = c.audio.astype(int)
        assert a.max() == 32767 or a.min() == -32768
    for c in clips:
        assert c.audio.dtype == np.int16


def test_quiet_far_sources_do_not_clip() -> None:
    ov = {"distance_m": 8.0, "gain_db": 0.0, "snr_db": 20.0}
    for c in generate_sound_clips(6, 3, classes=["doorbell", "water_running"], overrides=ov):
        assert c.meta["recording"]["clipped_fraction"] == 0.0
        assert np.abs(c.audio.astype(int)).max() < 32767


def _scene_pair(seed: int, n: int) -> tuple[list[Clip], list[Clip]]:
    ov = {"snr_db": 20.0}
    return generate_alarm_events(seed, n, seconds_range=(30.0, 32.0), overrides=ov), generate_negative_scenes(
        seed, n, seconds_range=(30.0, 32.0), overrides=ov
    )


def test_alarm_scenes_onset_and_duration_match_meta() -> None:
    alarms, negatives = _scene_pair(21, 2)
    for pos, neg in zip(alarms, negatives, strict=True):
        m = pos.meta
        assert pos.label in ("smoke_alarm", "co_alarm") and neg.label == "none"
        assert 30.0 <= m["seconds"] <= 32.0 and m["duration_s"] == 10.0
        onset = round(m["onset_s"] * SR)
        # the scene without the alarm is the same scene: identical samples up to the onset
        assert np.array_equal(pos.audio[:onset], neg.audio[:onset])
        diff = pos.audio.astype(float) - neg.audio.astype(float)
        assert np.abs(diff[onset : onset + SR]).max() > 0
        # the alarm's own sound, measured from the difference: starts at onset_s (direct sound, even when the
        # reverberant field dominates far away) and has died out 1.1 x RT60 after onset + duration_s
        f0 = m["alarm"]["devices"][0]["sounder"]["f0"]
        env = envelope(diff, SR, (0.8 * f0, min(1.2 * f0, 7900.0)), smooth_s=0.001)
        spans = pulses(env, SR, threshold_ratio=0.02, min_gap_s=0.03)
        assert abs(spans[0][0] - m["onset_s"]) < 0.005, (spans[0], m["onset_s"])
        end = m["onset_s"] + m["duration_s"]
        assert max(b for _, b in m["pulses"]) <= end + 1e-6
        rt60 = m["room"]["rt60_s"]
        silent_from = int((end + 1.1 * rt60 + 0.01) * SR)
        assert np.all(diff[silent_from:] == 0)
        last_on, last_off = m["pulses"][-1]
        assert np.abs(diff[int(last_on * SR) : int(last_off * SR)]).max() > 0
        # 10 s from a group start: T4 -> two groups of 4 pulses; T3 -> 7–9 pulses (voice messages lengthen gaps)
        if pos.label == "co_alarm":
            assert len(m["pulses"]) == 8
        else:
            assert 5 <= len(m["pulses"]) <= 9


def test_scenes_are_deterministic() -> None:
    a = generate_negative_scenes(4, 1, seconds_range=(30.0, 30.5))
    b = generate_negative_scenes(4, 1, seconds_range=(30.0, 30.5))
    assert a[0].audio.tobytes() == b[0].audio.tobytes()


def test_cli_writes_wavs_and_meta(tmp_path: Path) -> None:
    out = tmp_path / "snd"
    assert main(["sound", "--out", str(out), "--seed", "3", "--per-class", "1", "--seconds", "1.0"]) == 0
    lines = [json.loads(x) for x in (out / "meta.jsonl").read_text().splitlines()]
    assert sorted(x["label"] for x in lines) == sorted(SOUND_CLASSES)
    for rec in lines:
        audio, sr = read_wav(out / rec["path"])
        assert sr == SR and len(audio) == SR
        assert rec["path"].startswith(rec["label"] + "/")


def test_low_battery_chirp_is_one_short_beep_not_a_pattern() -> None:
    from node_factory.heldout.sound.alarms import low_battery_chirp

    r = low_battery_chirp(rng_for(1, "chirp"), 40 * SR, SR)
    on = r.intervals[:, 1] - r.intervals[:, 0]
    assert 1 <= len(on) <= 2 and np.all((on >= 0.03) & (on <= 0.1))
    env = envelope(r.signal, SR, (2500.0, 4000.0), smooth_s=0.001)
    spans = pulses(env, SR, threshold_ratio=0.3, reference="max")
    assert len(spans) == len(on) and np.all(spans[:, 1] - spans[:, 0] < 0.12)


def test_alarm_behind_a_wall_loses_more_at_3_khz_than_at_520_hz() -> None:
    losses = {}
    for sounder in ("piezo", "lf520"):
        ov = {"through_wall": True, "sounder": sounder, "interconnected": False, "clean": True}
        clip = generate_sound_clips(2, 1, classes=["smoke_alarm"], overrides=ov)[0]
        losses[sounder] = clip.meta["target"]["devices"][0]["wall"]["total_loss_db"]
    assert losses["piezo"] > losses["lf520"] + 6
