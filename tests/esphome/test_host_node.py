"""End to end on the host: the real `binmoe` component, built with ESPHome's code generation and g++, replays
clips and talks to a real native-API client (aioesphomeapi). Its messages must be exactly what the Python
reference computes for the same samples, and valid under the protocol schema."""

from __future__ import annotations

import asyncio
import base64
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import reference
from aioesphomeapi import (
    APIClient,
    EventInfo,
    HomeassistantServiceCall,
    LogLevel,
    SensorInfo,
    SensorState,
    TextSensorInfo,
    TextSensorState,
    UserService,
)
from aioesphomeapi import (
    Event as EventState,
)

from gpu_backend.protocol import NodeMessage

pytestmark = pytest.mark.timeout(600)

HOP_FRAMES = 16  # host-sound.yaml: hop 512 ms = 16 frames of 32 ms


class Node:
    """A connected client that records every Home Assistant event and entity state the node sends."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.events: list[HomeassistantServiceCall] = []
        self.states: list[Any] = []
        self.services: dict[str, UserService] = {}
        self.entities: list[Any] = []
        self.logs: list[str] = []

    async def start(self) -> None:
        await self.client.connect(login=True)
        self.entities, services = await self.client.list_entities_services()
        self.services = {s.name: s for s in services}
        self.client.subscribe_service_calls(self.events.append)
        self.client.subscribe_states(self.states.append)
        self.client.subscribe_logs(
            lambda msg: self.logs.append(msg.message.decode(errors="replace")), LogLevel.LOG_LEVEL_DEBUG, True
        )

    async def call(self, name: str, **data: Any) -> None:
        await self.client.execute_service(self.services[name], data)

    async def wait_events(self, count: int, seconds: float = 60.0) -> list[HomeassistantServiceCall]:
        for _ in range(int(seconds * 20)):
            if len(self.events) >= count:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything beyond `count` would be a bug: give it a moment to show up
        return list(self.events)


async def connect() -> Node:
    node = Node(APIClient("127.0.0.1", 16053, None))
    await node.start()
    return node


def clip_names(clips: Path) -> list[str]:
    return sorted(json.loads((clips / "labels.json").read_text()))


async def test_entities_and_model(sound_node: Path) -> None:
    node = await connect()
    try:
        info = await node.client.device_info()
        assert info.name == "binmoe-host-sound"
        by_type: dict[type, list[Any]] = {}
        for entity in node.entities:
            by_type.setdefault(type(entity), []).append(entity)
        sensors = {e.object_id: e for e in by_type[SensorInfo]}
        assert set(sensors) == {"confidence", "inference_time", "escalation_rate"}
        assert sensors["inference_time"].unit_of_measurement == "\u03bcs"
        assert sensors["confidence"].unit_of_measurement == "%"
        (event,) = by_type[EventInfo]
        _model, _cfg, manifest = reference.load_model("sound_v1")
        assert list(event.event_types) == manifest["classes"]  # background reported: `report: true`
        (model_sensor,) = by_type[TextSensorInfo]
        assert set(node.services) == {"replay", "force_escalation"}
        await asyncio.sleep(1.5)
        texts = [s.state for s in node.states if isinstance(s, TextSensorState) and s.key == model_sensor.key]
        assert texts and texts[-1] == f"{manifest['model_id']} ({manifest['model_hash'][:8]})"
    finally:
        await node.client.disconnect()


async def test_replayed_clips_match_the_python_reference(sound_node: Path, clips: Path) -> None:
    model, cfg, manifest = reference.load_model("sound_v1")
    labels = json.loads((clips / "labels.json").read_text())
    node = await connect()
    try:
        expected_total = 0
        per_clip: dict[str, list[reference.Window]] = {}
        for name in clip_names(clips):
            windows = reference.windows(model, cfg, clips / name, HOP_FRAMES)
            per_clip[name] = windows
            start = len(node.events)
            await node.call("replay", file=str(clips / name))
            expected_total += len(windows)
            events = await node.wait_events(expected_total)
            got = events[start:]
            assert len(got) == len(windows), f"{name}: {len(got)} messages for {len(windows)} windows"
            for i, (call, ref) in enumerate(zip(got, windows, strict=True)):
                where = f"{name} window {i}"
                assert call.is_event
                kind = "escalation" if ref.escalate else "detection"
                assert call.service == f"esphome.binmoe_{kind}", where
                msg = NodeMessage.model_validate(call.data)  # the protocol's own schema (string forms coerced)
                assert msg.kind == kind and msg.node_id == "binmoe-host-sound" and msg.task == "sound"
                assert msg.scores == ref.scores, where  # the node's integer logits == the reference's
                assert msg.class_idx == ref.class_idx and msg.margin == ref.margin, where
                assert msg.class_ == manifest["classes"][ref.class_idx]
                assert msg.model == manifest["model_id"] and msg.model_hash == manifest["model_hash"][:8]
                assert msg.confidence == pytest.approx(ref.confidence, abs=1e-4)
                if ref.escalate:
                    assert msg.reason == "low_margin"
                    assert msg.feature_shape == f"{cfg.frames}x{cfg.bands}"
                    feats = np.frombuffer(base64.b64decode(msg.features or ""), dtype=np.int8)
                    assert np.array_equal(feats.reshape(cfg.frames, cfg.bands), ref.features), where
        seqs = [int(call.data["seq"]) for call in node.events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gaps
        assert len({call.data["boot"] for call in node.events}) == 1
        # The clips' own classes are found (the model is good, not perfect: at least one window each).
        for name, label in labels.items():
            assert label in {manifest["classes"][w.class_idx] for w in per_clip[name]}, name
        # Sensors (update_interval 1 s): escalation rate over the windows so far, inference time, confidence.
        await asyncio.sleep(2.5)
        all_windows = [w for name in clip_names(clips) for w in per_clip[name]]
        keys = {e.object_id: e.key for e in node.entities if isinstance(e, SensorInfo)}
        last = {s.key: s.state for s in node.states if isinstance(s, SensorState)}
        assert last[keys["escalation_rate"]] == pytest.approx(
            100 * np.mean([w.escalate for w in all_windows]), abs=0.05
        )
        assert 0 < last[keys["inference_time"]] < 100_000
        assert last[keys["confidence"]] == pytest.approx(100 * all_windows[-1].confidence, abs=0.05)
        # The YAML's on_detection (smoke/CO alarm filter) ran on the node itself, once per such detection.
        alarms = [w for n in clip_names(clips) for w in per_clip[n]
                  if not w.escalate and manifest["classes"][w.class_idx] in ("smoke_alarm", "co_alarm")]  # fmt: skip
        local = [line for line in node.logs if "local action: alarm" in line]
        assert alarms and len(local) == len(alarms)
        # The event entity fired for detections, with the detected classes.
        fired = [s.event_type for s in node.states if isinstance(s, EventState)]
        assert fired and set(fired) <= set(manifest["classes"])
    finally:
        await node.client.disconnect()


async def test_forced_escalation(sound_node: Path, clips: Path) -> None:
    model, cfg, _manifest = reference.load_model("sound_v1")
    node = await connect()
    try:
        windows = reference.windows(model, cfg, clips / "water_running.wav", HOP_FRAMES)
        assert not windows[0].escalate  # so `forced` is the only reason this window escalates
        await node.call("force_escalation")
        await node.call("replay", file=str(clips / "water_running.wav"))
        events = await node.wait_events(len(windows))
        assert len(events) == len(windows)
        first = NodeMessage.model_validate(events[0].data)
        assert first.kind == "escalation" and first.reason == "forced"
        assert first.scores == windows[0].scores
        assert [e.service for e in events[1:]] == ["esphome.binmoe_detection"] * (len(windows) - 1)
    finally:
        await node.client.disconnect()


async def test_bad_replay_file_is_reported_and_ignored(sound_node: Path, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-wav.wav"
    bad.write_bytes(b"RIFF....nonsense")
    wrong_rate = tmp_path / "44k.wav"
    with wave.open(str(wrong_rate), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(44100)
        f.writeframes(b"\0\0" * 44100)
    node = await connect()
    try:
        await node.call("replay", file=str(bad))
        await node.call("replay", file=str(tmp_path / "missing.wav"))
        await node.call("replay", file=str(wrong_rate))
        await asyncio.sleep(1.0)
        assert node.events == []
        log = "\n".join(node.logs)  # the node's own log, over the native API
        assert f"{bad} is not a PCM WAV file" in log and "cannot open" in log
        assert "1 channel(s), 16 bit, 44100 Hz; the model needs PCM mono 16 bit 16000 Hz" in log
        assert "BinMoE: model sound-v1" in log  # dump_config
    finally:
        await node.client.disconnect()


async def test_no_heap_allocation_in_the_components_loop(sound_node_under_dhat: Any, clips: Path) -> None:
    """Run the node under valgrind's DHAT and replay clips: every heap allocation made below
    BinMoEComponent::loop() must be ESPHome's API layer sending a message (its send buffer growing), never the
    component's own code, and fewer than one per message (the buffer is reused)."""
    node = await connect()
    names = ["smoke_alarm.wav", "co_alarm.wav", "knock.wav"]
    for i, name in enumerate(names):
        await node.call("replay", file=str(clips / name))
        await node.wait_events(4 * (i + 1), seconds=60)
    sent = len(node.events)
    assert sent == 4 * len(names)
    await node.client.disconnect()
    profile = json.loads(sound_node_under_dhat().read_text())
    frames = profile["ftbl"]
    in_loop = [(pp["tbk"], [frames[i] for i in pp["fs"]]) for pp in profile["pps"]
               if any("BinMoEComponent::loop" in frames[i] for i in pp["fs"])]  # fmt: skip
    not_api = [stack for _blocks, stack in in_loop if not any("esphome::api::" in f for f in stack)]
    assert not_api == [], "\n".join("\n".join(stack) for stack in not_api)
    api_blocks = sum(blocks for blocks, _stack in in_loop)
    assert api_blocks < sent, f"{api_blocks} allocations for {sent} messages"
