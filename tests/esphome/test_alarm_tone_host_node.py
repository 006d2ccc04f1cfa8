"""End to end on the host: a sound node built with `alarm_tone: true` (nodes/host-sound-tone.yaml) hears a
temporal-three (smoke) and a temporal-four (CO) alarm that its band-level code detector alone does not (a
3.1 kHz and a 4.1 kHz tone in loud white noise: the band's level barely moves, the tone's own bins stand out
of the floor), and reports each as its class's event with its code, within 10 s, as the Python reference of both
detectors says it would; that the band detector's T4 then counts only where the tone detector follows a tone
in its bands (chirps in T4's rhythm are no CO event, the same under a steady tone of their pitch are); and, under
valgrind's DHAT, the component's loop makes no heap allocation of its own with the detector on."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import reference
from api_client import Node, connect_node
from conftest import NODES, heap_in_loop, node_under_dhat, running_node
from test_host_node import CLASSES, HOP_FRAMES, expected_reports

from gpu_backend.protocol import NodeMessage
from node_factory.reference import alarm_code, alarm_tone
from node_factory.reference.features import FeatureConfig, frame_features
from scripts.lib import host_build
from tests.node_factory.alarm_signals import t4_of_chirps

pytestmark = pytest.mark.timeout(900)

PORT = 16055
SR = 16_000
RELEASE = host_build.RELEASES[0]  # the pinned release (the option's code paths do not differ by release)


T3 = ((0.5, 0.5), (0.5, 0.5), (0.5, 1.5))
T4 = ((0.1, 0.1), (0.1, 0.1), (0.1, 0.1), (0.1, 5.0))


def t3_in_noise(pattern: tuple[tuple[float, float], ...] = T3, tone_hz: float = 3100.0) -> np.ndarray:
    """1 s of noise, then T3 (0.5 s on / 0.5 s off x 3, 1.5 s off; or another `pattern`) on a 3.1 kHz sine (or
    `tone_hz`), amplitude 1500 in white noise of sigma 2000, 14 s in all."""
    rng = np.random.default_rng(5)
    t = np.arange(14 * SR) / SR
    gate, at = np.zeros_like(t), 1.0
    while at < 14.0:
        for on, off in pattern:
            gate[int(at * SR) : int((at + on) * SR)] = 1.0
            at += on + off
    x = 1500 * np.sin(2 * np.pi * tone_hz * t) * gate + 2000 * rng.standard_normal(len(t))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SR)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


async def smoke_events(node: Node, seconds: int = 60, class_: str = "smoke_alarm") -> list[NodeMessage]:
    """The node's messages of `class_`, once the first has come (empty if none within `seconds`)."""
    for _ in range(seconds):
        messages = [NodeMessage.model_validate(call.data) for call in node.events]
        smoke = [m for m in messages if m.class_ == class_]
        if smoke:
            return smoke
        await asyncio.sleep(1.0)
    return []


@pytest.fixture(scope="module")
def tone_binary() -> Path:
    return host_build.build(NODES / "host-sound-tone.yaml", release=RELEASE)


@pytest.fixture
def tone_node(tone_binary: Path, tmp_path: Path) -> Iterator[Path]:
    with running_node(RELEASE, tone_binary, PORT, tmp_path, tmp_path / "node.log"):
        yield tmp_path / "node.log"


@pytest.mark.parametrize(
    ("pattern", "tone_hz", "code", "class_"),
    # at 4.1 kHz: at 3.1 kHz the T4 bursts' silences in this noise stand under 7.5 dB below them
    [(T3, 3100.0, alarm_tone.T3, "smoke_alarm"), (T4, 4100.0, alarm_tone.T4, "co_alarm")],
    ids=["T3", "T4"],
)
async def test_the_tone_detector_reports_an_alarm_the_band_detector_misses(
    tone_node: Path,
    tmp_path: Path,
    pattern: tuple[tuple[float, float], ...],
    tone_hz: float,
    code: int,
    class_: str,
) -> None:
    samples = t3_in_noise(pattern, tone_hz)
    # the references: the band detector completes no code in this stream, the tone detector does within 10 s
    cfg = FeatureConfig()
    frames = frame_features(samples[: len(samples) // cfg.frame * cfg.frame].reshape(-1, cfg.frame), cfg)
    assert not alarm_code.detect(frames).any()
    codes = alarm_tone.detect_audio(samples)
    heard = np.nonzero(codes)[0]
    assert len(heard) and (heard[0] + 1) * cfg.frame / SR <= 11.0 and set(codes[heard]) == {code}, heard
    wav = write_wav(tmp_path / "in_noise.wav", samples)
    node: Node = await connect_node(PORT)
    try:
        await node.call("replay", file=str(wav))
        # the windows' messages (detection_interval 0 s: every detection, escalation and reported background)
        events = await smoke_events(node, class_=class_)
        assert events, [NodeMessage.model_validate(call.data).class_ for call in node.events]
        assert all(m.alarm_code == ("T3" if code == alarm_tone.T3 else "T4") and m.confidence == 1.0 for m in events)
    finally:
        await node.client.disconnect()


@pytest.mark.parametrize(("steady_hz", "co"), [(None, False), (1000.0, False), (3100.0, True)])
async def test_the_band_detectors_t4_needs_a_tone_followed_in_its_bands(
    tone_node: Path, tmp_path: Path, steady_hz: float | None, co: bool
) -> None:
    """The band detector hears T4 in chirps; with the tone detector on, its T4 counts only where a tone is followed
    in the chirps' bands (a steady 3.1 kHz tone: band 10, as the chirps; 1 kHz: band 4), and the node's messages
    are the reference's window for window."""
    wav = write_wav(tmp_path / "t4_of_chirps.wav", t4_of_chirps(steady_hz))
    model, cfg, _manifest = reference.load_model("sound_v1")
    windows = reference.windows(model, cfg, wav, HOP_FRAMES)
    # without the tone detector the chirps are CO; with it, only under the 3.1 kHz tone (its own T4 path hears none)
    assert any(w.code == 2 for w in reference.windows(model, cfg, wav, HOP_FRAMES, alarm_tone=False))
    assert any(w.code == 2 for w in windows) is co
    reports = expected_reports(windows)
    node: Node = await connect_node(PORT)
    try:
        await node.call("replay", file=str(wav))
        got = await node.wait_events(len(reports))
        messages = [NodeMessage.model_validate(call.data) for call in got]
        assert [(m.class_, m.alarm_code) for m in messages] == [
            (CLASSES[windows[r.window].class_idx if r.code_class is None else r.code_class],
             None if r.code_class is None else "T4")
            for r in reports
        ]  # fmt: skip
        assert any(m.class_ == "co_alarm" and m.alarm_code == "T4" for m in messages) is co
    finally:
        await node.client.disconnect()


@pytest.fixture(scope="module")
def co_tone_off_binary() -> Path:
    return host_build.build(NODES / "host-sound-co-tone-off.yaml", release=RELEASE)


async def test_with_co_tone_off_the_band_detectors_t4_needs_no_tone(co_tone_off_binary: Path, tmp_path: Path) -> None:
    """`co_tone: false`: the tone detector holds no tone through T4's silence, so the band detector's T4 is not
    gated: the chirps in T4's rhythm are a CO event (the node with co_tone on reports none, test above)."""
    wav = write_wav(tmp_path / "t4_of_chirps.wav", t4_of_chirps())
    model, cfg, _manifest = reference.load_model("sound_v1")
    windows = reference.windows(model, cfg, wav, HOP_FRAMES, co_tone=False)
    assert any(w.code == 2 for w in windows)
    reports = expected_reports(windows)
    with running_node(RELEASE, co_tone_off_binary, PORT + 1, tmp_path, tmp_path / "node.log"):
        node: Node = await connect_node(PORT + 1)
        try:
            await node.call("replay", file=str(wav))
            messages = [NodeMessage.model_validate(call.data) for call in await node.wait_events(len(reports))]
            assert [(m.class_, m.alarm_code) for m in messages] == [
                (CLASSES[windows[r.window].class_idx if r.code_class is None else r.code_class],
                 None if r.code_class is None else "T4")
                for r in reports
            ]  # fmt: skip
            assert any(m.class_ == "co_alarm" and m.alarm_code == "T4" for m in messages)
        finally:
            await node.client.disconnect()
    # the node's configuration log says which paths are on
    assert "Alarm tone: T3 only, codes on a smoke or CO sounder's pitch only" in (tmp_path / "node.log").read_text()


async def test_no_heap_allocation_in_the_loop_with_the_tone_detector(tone_binary: Path, tmp_path: Path) -> None:
    """test_host_node's DHAT check on the node with `alarm_tone: true`: every heap allocation below
    BinMoEComponent::loop() is ESPHome's API layer sending a message, fewer than one per message; the tone
    detector, its spectrum hook and the smoke event it raises allocate nothing."""
    wav = write_wav(tmp_path / "t3_in_noise.wav", t3_in_noise())
    with node_under_dhat(RELEASE, tone_binary, PORT, tmp_path) as stop:
        node: Node = await connect_node(PORT)
        await node.call("replay", file=str(wav))
        smoke = await smoke_events(node, seconds=120)  # under valgrind the node runs many times slower
        sent = -1
        while sent != len(node.events):  # until the replay's last window has been sent
            sent = len(node.events)
            await asyncio.sleep(3.0)
        await node.client.disconnect()
        not_api, api_blocks = heap_in_loop(stop())
    assert smoke, "the node under DHAT raised no smoke event"
    assert not_api == [], "\n".join("\n".join(stack) for stack in not_api)
    assert api_blocks < sent, f"{api_blocks} allocations for {sent} messages"
