"""The sound corpus renders the same split whatever the number of worker processes."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from node_factory.corpus import synth
from node_factory.corpus.families import cache_dir


def test_split_does_not_depend_on_workers() -> None:
    one = synth.build_split("val", 3, 16384, cache_dir(), workers=1)
    two = synth.build_split("val", 3, 16384, cache_dir(), workers=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert one[2] == two[2]
    extra = [synth.SOUND_CLASSES.index("speech_tv")] * round(synth.PROGRAMME_EXTRA * 3)  # programme windows
    assert list(one[1]) == [c for c in range(len(synth.SOUND_CLASSES)) for _ in range(3)] + extra


def test_render_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINMOE_RENDER_WORKERS", raising=False)
    assert synth.render_workers(100) == 1  # small splits are not worth a process
    monkeypatch.setenv("BINMOE_RENDER_WORKERS", "3")
    assert synth.render_workers(100) == 3


def _click_train(rng: np.random.Generator, n: int) -> tuple[synth.Float, dict[str, object]]:
    """A source like the short events: 0.3 s of tone starting in the first quarter of its span."""
    x = np.zeros(n)
    start = int(rng.integers(0, n // 4))
    x[start : start + int(0.3 * synth.SR)] = 1.0
    return x, {"start": start}


def test_stream_cut_finds_the_event_anywhere_in_the_window() -> None:
    """Windows are cut as the node cuts its stream: the event late in the window, whole, or only its end, and
    always showing at least `MIN_ACTIVE_S` of it; the room's window is cut at the same offset."""
    n = 16384
    ir = np.zeros(400)
    ir[0], ir[399] = 1.0, 0.5  # an echo 25 ms later
    shown, ends_in_window, starts_in_window = [], 0, 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        dry, wet, meta = synth.stream_cut(rng, _click_train, n, ir)
        assert dry.shape == wet.shape == (n,)
        active = np.flatnonzero(dry > 0)
        shown.append(len(active) / synth.SR)
        starts_in_window += bool(active[0] > 0)
        ends_in_window += bool(active[-1] < n - 1)
        np.testing.assert_allclose(wet[400:], dry[400:] + 0.5 * dry[1:-399], atol=1e-9)  # the same offset
        assert isinstance(meta["window_offset_s"], float) and "start" in meta
    assert min(shown) >= synth.MIN_ACTIVE_S
    assert 40 < starts_in_window < 200 and 40 < ends_in_window < 200  # some windows hold the start, some not
    assert any(s < 0.3 for s in shown)  # only part of the event


def test_stream_cut_takes_the_best_window_of_a_spread_out_source() -> None:
    """A source that never sounds for `MIN_ACTIVE_S` inside one window (clicks far apart) is still cut where
    it shows most, not refused."""

    def sparse(rng: np.random.Generator, n: int) -> tuple[synth.Float, dict[str, object]]:
        x = np.zeros(n)
        x[:: synth.SR] = 1.0  # one sample a second
        return x, {}

    dry, _wet, _meta = synth.stream_cut(np.random.default_rng(0), sparse, 16384, np.ones(1))
    assert np.count_nonzero(dry) == 2  # a 1.024 s window holds at most two of them


@pytest.mark.parametrize("radius_mm", [0.5, 1.0, 3.0])
def test_bubbles_ring_at_their_minnaert_frequency(radius_mm: float) -> None:
    """A cloud of equal bubbles puts its power at f ≈ 3.26 m·Hz / r (1 mm: 3.26 kHz), or a little above as each
    bubble's pitch rises; corpus v4's bubbles rang 2π lower than this."""
    n = 4 * synth.SR
    cloud = synth.bubble_cloud(np.random.default_rng(0), n, (400.0, 400.0), (radius_mm, radius_mm * 1.0001))
    power = np.abs(np.fft.rfft(cloud)) ** 2
    above_hum = 200 * n // synth.SR  # a cloud of pings all starting upwards has some DC; the microphone drops it
    peak_hz = (above_hum + np.argmax(power[above_hum:])) * synth.SR / n
    minnaert = 3.26 / (radius_mm / 1000)
    assert minnaert * 0.95 <= peak_hz <= minnaert * 1.3  # at it, or a little above as the pitch rises


def test_bubble_rate_and_sizes() -> None:
    """The drawn rate sets how many bubbles ring (each one's onset is a jump from silence), and bubbles whose
    frequency would alias are left out rather than folded back."""
    n = 2 * synth.SR
    sparse = synth.bubble_cloud(np.random.default_rng(1), n, (5.0, 5.0), (1.0, 1.0001))
    onsets = np.flatnonzero((np.abs(sparse[1:]) > 0) & (sparse[:-1] == 0))
    assert 4 <= len(onsets) <= 20  # about 10 in 2 s, give or take the flow's swell
    too_small = synth.bubble_cloud(np.random.default_rng(1), n, (500.0, 500.0), (0.2, 0.3))  # 11-16 kHz
    assert not np.any(too_small)


def test_water_styles_are_all_drawn() -> None:
    styles = {synth.water_running(np.random.default_rng(seed), 8192)[1]["style"] for seed in range(40)}
    assert styles == set(synth.WATER_STYLES)


def test_media_programme_holds_pauses_and_always_some_media() -> None:
    """Corpora v6 and v7: speech_tv windows cut from a programme (lines with pauses between them) show at least
    `MIN_ACTIVE_S` of media and often a pause, which the excerpts of `speech_tv` never do; drawn from every
    kind of media the split has."""
    n = 16384
    line = np.zeros(int(0.6 * synth.SR))
    line[::8] = 0.5  # 0.6 s of sound: a short line of dialogue
    music = (0.3 * np.sin(np.arange(3 * synth.SR) * 0.3) * 32767).astype(np.int16)  # a recorded piece, int16
    src = synth.Sources(speech=[line], recorded={"speech": [(line * 32767).astype(np.int16)], "music": [music]})
    kinds, with_silence = set(), 0
    for seed in range(60):
        x, meta = synth.media_programme(np.random.default_rng(seed), n, src)
        assert x.shape == (n,) and meta["programme"] is True
        kinds.add(meta["media"])
        frames = np.abs(x[: n // 512 * 512]).reshape(-1, 512).max(axis=1)
        assert np.count_nonzero(frames > 0.05 * frames.max()) * 512 / synth.SR >= synth.MIN_ACTIVE_S - 0.04
        with_silence += bool(np.count_nonzero(frames < 1e-6) >= 8)  # a quarter of a second of pause, at least
    assert kinds == {"tts", "speech", "music"}
    assert 10 < with_silence < 60
    again, _ = synth.media_programme(np.random.default_rng(7), n, src)
    np.testing.assert_array_equal(again, synth.media_programme(np.random.default_rng(7), n, src)[0])


def test_each_way_of_adding_programmes_is_its_own_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Corpus v7 (the shipped model's) adds as many programme windows as a class has and replaces none; corpus v6
    (half as many, other media weights), v5 and the variant that replaces excerpts by programmes have cache keys
    of their own, and v6's key is the one it had before v7 (so its cached corpus is still found)."""
    assert (synth.MEDIA_PROGRAMME, synth.PROGRAMME_EXTRA) == (0, 1.0)
    assert synth.PROGRAMME_MEDIA == {"tts": 0.35, "speech": 0.30, "music": 0.35}
    keys = {synth.corpus_key({"train": 10}, 16384)}
    monkeypatch.setattr(synth, "PROGRAMME_MEDIA", dict(synth.V6_PROGRAMME_MEDIA))
    for media, extra in ((0.0, 0.5), (0.0, 0.0), (0.5, 0.0)):
        monkeypatch.setattr(synth, "MEDIA_PROGRAMME", media)
        monkeypatch.setattr(synth, "PROGRAMME_EXTRA", extra)
        keys.add(synth.corpus_key({"train": 10}, 16384))
        if (media, extra) == (0.0, 0.5):
            key = (sorted({"train": 10}.items()), 16384, synth.SOUND_CLASSES, synth.SENTENCES, synth.TRAIN,
                   synth.HELD_OUT, "", "v6-programmes-0.0-0.5")  # fmt: skip
            assert synth.corpus_key({"train": 10}, 16384) == hashlib.sha256(repr(key).encode()).hexdigest()[:12]
    assert len(keys) == 4


def test_extra_programme_windows_leave_every_other_window_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """`PROGRAMME_EXTRA` adds speech_tv windows cut from a programme after a split's windows, with seeds of their
    own: the split's other windows are those of the corpus without them."""
    monkeypatch.setattr(synth, "PROGRAMME_EXTRA", 0.0)
    plain = synth.build_split("val", 2, 16384, cache_dir(), workers=1)
    monkeypatch.setattr(synth, "PROGRAMME_EXTRA", 1.0)
    more = synth.build_split("val", 2, 16384, cache_dir(), workers=1)
    np.testing.assert_array_equal(more[0][:16], plain[0])
    assert more[2][:16] == plain[2]
    speech = synth.SOUND_CLASSES.index("speech_tv")
    assert list(more[1][16:]) == [speech, speech] and all(m["programme"] for m in more[2][16:])


def test_events_over_programmes_are_added_after_every_other_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """`OVER_PROGRAMME_EXTRA` (0 in corpora v6 and v7) adds doorbell and knock windows whose background is a programme,
    with seeds of their own, after the split's windows and its programme windows, which stay as they were; the
    corpus gets a key of its own."""
    assert synth.OVER_PROGRAMME_EXTRA == 0
    v6 = synth.build_split("val", 2, 16384, cache_dir(), workers=1)
    key = synth.corpus_key({"val": 2}, 16384)
    monkeypatch.setattr(synth, "OVER_PROGRAMME_EXTRA", 1.0)
    more = synth.build_split("val", 2, 16384, cache_dir(), workers=1)
    assert synth.corpus_key({"val": 2}, 16384) != key
    np.testing.assert_array_equal(more[0][: len(v6[0])], v6[0])
    added = [synth.SOUND_CLASSES[c] for c in more[1][len(v6[0]) :]]
    assert added == ["doorbell", "doorbell", "knock", "knock"]
    assert all(m["noise"][0].startswith("programme:") for m in more[2][len(v6[0]) :])
    assert all(m["label"] == label for m, label in zip(more[2][len(v6[0]) :], added, strict=True))


def test_clips_with_pauses_are_the_clips_back_to_back_with_pauses() -> None:
    """What a programme (`media_programme`) and media_dev's TV scenes play: whole clips at their own levels with
    pauses of 0.1-1.5 s, after `lead` samples of silence, until at least `n` samples."""
    rng = np.random.default_rng(2)
    n = 16000 * 5
    stream = synth.clips_with_pauses(rng, [np.full(8000, 1000, dtype=np.int16)], n, lead=4000)
    assert len(stream) >= n and not stream[:4000].any()
    loud = np.abs(stream[:n]) > 0
    assert 0.2 < loud.mean() < 0.9  # half-second pieces and pauses of 0.1-1.5 s
    assert np.unique(np.round(stream[:n][loud], 6)).size > 1  # each piece at its own level
