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
    BinarySensorInfo,
    BinarySensorState,
    EventInfo,
    LogLevel,
    SensorInfo,
    SensorState,
    TextSensorInfo,
    TextSensorState,
)
from aioesphomeapi import (
    Event as EventState,
)
from api_client import Node, connect_node
from conftest import heap_in_loop

from gpu_backend.protocol import NodeMessage
from node_factory.reference.events import EventRule
from node_factory.reference.router import confirmed_classes

pytestmark = pytest.mark.timeout(600)

HOP_FRAMES = 16  # host-sound.yaml: hop 512 ms = 16 frames of 32 ms
HOP_MS = 512
MANIFEST = json.loads((reference.MODELS / "sound_v1.json").read_text())
CLASSES: list[str] = MANIFEST["classes"]
# host-sound.yaml sets no alarm_events and no alarm_code: the component's defaults for the sound model at its
# default hop, events from the alarm-code detector (the node's dump_config lists them;
# test_bad_replay_file_is_reported_and_ignored reads it back)
SMOKE, CO = CLASSES.index("smoke_alarm"), CLASSES.index("co_alarm")
EVENT_RULES = (EventRule(SMOKE, 1, 19), EventRule(CO, 1, 19))  # held 9.7 s without the code
# make_clips.py's class clips (one per class, drawn with seeds of their own and the event at the clip's start)
CLASS_CLIPS = ("appliance_beep", "background", "co_alarm", "doorbell", "knock", "smoke_alarm", "water_running")
# what the shipped sound-v1 misses at the node's 512 ms hop, by model hash: none. The shipped ffe76419 (corpus
# v7), 88fcfb78 (corpus v6) and 8424c08e (corpus v5) hear every clip; a8793edb (corpus v4) missed corpus v4's
# running-water clip (background in every window) and heard corpus v5's, whose water is bubbles at their physical
# frequencies; f5a533f8 (corpus v3) missed the doorbell.
MISSED_CLIPS: dict[str, str] = {}


async def connect() -> Node:
    return await connect_node(16053)


def clip_names(clips: Path) -> list[str]:
    """The class clips, then the alarm-event clips."""
    labels, events = (json.loads((clips / name).read_text()) for name in ("labels.json", "events.json"))
    return sorted(labels) + list(events)


def expected_reports(windows: list[reference.Window]) -> list[reference.Report]:
    """What host-sound.yaml's node sends for a clip's windows: every class reported (background too), detection
    interval 0 s, an escalation limit the clips never reach, the default alarm events from the code detector, a
    doorbell detected on its second window in a row (the component's default `confirm_windows`)."""
    stream = [(w.class_idx, w.escalate, (-1, SMOKE, CO)[w.code]) for w in windows]
    return reference.route_codes(
        stream, EVENT_RULES, set(range(len(CLASSES))), 0, HOP_MS, None, confirmed_classes(CLASSES)
    )


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
        alarms = {e.object_id: e.device_class for e in by_type[BinarySensorInfo]}
        assert alarms == {"smoke_alarm": "smoke", "co_alarm": "carbon_monoxide"}
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
    node = await connect()
    try:
        expected_total = 0
        per_clip: dict[str, list[reference.Window]] = {}
        sent: list[tuple[reference.Report, NodeMessage]] = []
        by_code: set[tuple[str, int]] = set()
        for name in clip_names(clips):
            windows = reference.windows(model, cfg, clips / name, HOP_FRAMES)
            reports = expected_reports(windows)
            per_clip[name] = windows
            # a window that reports an alarm's code is not an escalation, whatever its margin
            by_code.update((name, r.window) for r in reports if r.code_class is not None)
            start = len(node.events)
            await node.call("replay", file=str(clips / name))
            expected_total += len(reports)
            events = await node.wait_events(expected_total)
            got = events[start:]
            assert len(got) == len(reports), f"{name}: {len(got)} messages for {len(reports)} reports"
            for call, report in zip(got, reports, strict=True):
                ref = windows[report.window]
                where = f"{name} window {report.window}"
                assert call.is_event
                kind = report.kind
                assert call.service == f"esphome.binmoe_{kind}", where
                msg = NodeMessage.model_validate(call.data)  # the protocol's own schema (string forms coerced)
                assert msg.kind == kind and msg.node_id == "binmoe-host-sound" and msg.task == "sound"
                assert msg.scores == ref.scores, where  # the node's integer logits == the reference's
                reported = ref.class_idx if report.code_class is None else report.code_class
                assert msg.class_idx == reported and msg.margin == ref.margin, where
                assert msg.class_ == manifest["classes"][reported]
                assert msg.model == manifest["model_id"] and msg.model_hash == manifest["model_hash"][:8]
                if report.code_class is None:
                    assert msg.confidence == pytest.approx(ref.confidence, abs=1e-4) and msg.alarm_code is None
                else:  # an alarm recognised by its temporal code
                    assert msg.confidence == 1.0 and msg.alarm_code == ("T3" if reported == SMOKE else "T4"), where
                event = (report.event_windows, report.event_span * HOP_MS) if report.event_span else (None, None)
                assert (msg.event_windows, msg.event_span_ms) == event, where
                assert msg.alarm_active is report.alarm_active is not None, where  # the default sound node has rules
                if kind == "escalation":
                    assert msg.reason == "low_margin"
                    assert msg.feature_shape == f"{cfg.frames}x{cfg.bands}"
                    feats = np.frombuffer(base64.b64decode(msg.features or ""), dtype=np.int8)
                    assert np.array_equal(feats.reshape(cfg.frames, cfg.bands), ref.features), where
                sent.append((report, msg))
        seqs = [int(call.data["seq"]) for call in node.events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gaps
        assert len({call.data["boot"] for call in node.events}) == 1
        # an alarm class's windows were held back (reported only as events), and events were reported
        assert sum(len(w) for w in per_clip.values()) > len(sent) and any(r.event_span for r, _m in sent)
        # Sensors (update_interval 1 s): escalation rate over the windows so far, inference time, confidence.
        await asyncio.sleep(2.5)
        all_windows = [w for name in clip_names(clips) for w in per_clip[name]]
        escalated = [
            w.escalate and (name, i) not in by_code for name in clip_names(clips) for i, w in enumerate(per_clip[name])
        ]
        keys = {e.object_id: e.key for e in node.entities if isinstance(e, SensorInfo)}
        last = {s.key: s.state for s in node.states if isinstance(s, SensorState)}
        assert last[keys["escalation_rate"]] == pytest.approx(100 * np.mean(escalated), abs=0.05)
        assert 0 < last[keys["inference_time"]] < 100_000
        assert last[keys["confidence"]] == pytest.approx(100 * all_windows[-1].confidence, abs=0.05)
        # The YAML's on_detection (smoke/CO alarm filter) ran on the node itself, once per such detection.
        alarms = [m for _r, m in sent if m.kind == "detection" and m.class_ in ("smoke_alarm", "co_alarm")]
        local = [line for line in node.logs if "local action: alarm" in line]
        assert alarms and len(local) == len(alarms)
        # The event entity fired for detections, with the detected classes.
        fired = [s.event_type for s in node.states if isinstance(s, EventState)]
        assert fired and set(fired) <= set(manifest["classes"])
    finally:
        await node.client.disconnect()


@pytest.mark.parametrize("label", CLASS_CLIPS)
def test_the_model_finds_each_clips_class(clips: Path, label: str, request: pytest.FixtureRequest) -> None:
    """The model is good, not perfect: a class clip has at least one window of its class (the reference's
    windows, which the node reproduces exactly, test above). The clips the shipped model misses are named."""
    if MANIFEST["model_hash"].startswith(MISSED_CLIPS.get(label, "-")):
        reason = f"the shipped sound model ({MANIFEST['model_hash'][:8]}) misses the {label} clip"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    assert json.loads((clips / "labels.json").read_text())[f"{label}.wav"] == label
    model, cfg, manifest = reference.load_model("sound_v1")
    found = {
        manifest["classes"][w.class_idx] for w in reference.windows(model, cfg, clips / f"{label}.wav", HOP_FRAMES)
    }
    assert label in found, found


async def smoke_sensor_settles(node: Node, on_seen: bool, seconds: float = 10.0) -> bool:
    """Whether the node's smoke alarm binary sensor has been on (if `on_seen`) and is off now, within `seconds`."""
    (key,) = [e.key for e in node.entities if isinstance(e, BinarySensorInfo) and e.object_id == "smoke_alarm"]
    for _ in range(int(seconds * 10)):
        states = [s.state for s in node.states if isinstance(s, BinarySensorState) and s.key == key]
        if states and states[-1] is False and (True in states or not on_seen):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_an_alarm_is_one_event_and_a_beep_is_none(sound_node: Path, clips: Path) -> None:
    """A smoke alarm sounding its T3 pattern for 12 s is one smoke event, reported within 10 s of the clip's start
    (the node's other smoke messages repeat it while the alarm goes on: its detection interval is 0 s); one short
    high beep is no smoke message at all. (Routing by detection interval: test_events.py.)"""
    model, cfg, _manifest = reference.load_model("sound_v1")
    node = await connect()
    try:
        smoke: dict[str, list[tuple[reference.Report, NodeMessage]]] = {}
        for name in ("t3_12s.wav", "single_beep.wav"):
            windows = reference.windows(model, cfg, clips / name, HOP_FRAMES)
            reports = expected_reports(windows)
            start = len(node.events)
            await node.call("replay", file=str(clips / name))
            got = (await node.wait_events(start + len(reports)))[start:]
            assert len(got) == len(reports), name
            messages = [NodeMessage.model_validate(call.data) for call in got]
            assert [m.scores for m in messages] == [windows[r.window].scores for r in reports], name
            smoke[name] = [(r, m) for r, m in zip(reports, messages, strict=True) if m.class_ == "smoke_alarm"]
            if name == "t3_12s.wav":  # the smoke alarm's binary sensor: on with the event, off when the clip ends
                assert await smoke_sensor_settles(node, on_seen=True), "smoke alarm sensor: no on, then off"
        assert smoke["single_beep.wav"] == []
        alarm = smoke["t3_12s.wav"]
        (first, message), *repeats = alarm
        assert first.event_start and sum(r.event_start for r, _m in alarm) == 1
        assert (first.window * HOP_FRAMES + cfg.frames) * cfg.frame / cfg.sample_rate <= 10.0
        assert message.event_span_ms == 19 * HOP_MS and 1 <= (message.event_windows or 0) <= 19
        assert message.alarm_code == "T3" and message.confidence == 1.0
        assert message.alarm_active and all(m.alarm_active for _r, m in repeats)
        assert all(m.event_span_ms == 19 * HOP_MS and r.window > first.window for r, m in repeats)
        binary = {e.object_id: e.key for e in node.entities if isinstance(e, BinarySensorInfo)}
        co_states = [s.state for s in node.states if isinstance(s, BinarySensorState) and s.key == binary["co_alarm"]]
        assert co_states and True not in co_states[1:], co_states  # the T3 alarm is no CO alarm
    finally:
        await node.client.disconnect()


async def test_forced_escalation(sound_node: Path, clips: Path) -> None:
    model, cfg, _manifest = reference.load_model("sound_v1")
    node = await connect()
    try:
        # a clip in which no window escalates by itself, so `forced` is the only reason the first one does
        for label in (label for label in CLASS_CLIPS if label not in ("smoke_alarm", "co_alarm")):
            clip = clips / f"{label}.wav"
            windows = reference.windows(model, cfg, clip, HOP_FRAMES)
            if not any(w.escalate for w in windows):
                break
        else:
            pytest.fail("every class clip has a window that escalates by itself")
        await node.call("force_escalation")
        await node.call("replay", file=str(clip))
        events = await node.wait_events(len(windows))
        assert len(events) == len(windows)
        first = NodeMessage.model_validate(events[0].data)
        assert first.kind == "escalation" and first.reason == "forced"
        assert first.scores == windows[0].scores
        assert [e.service for e in events[1:]] == ["esphome.binmoe_detection"] * (len(windows) - 1)
    finally:
        await node.client.disconnect()


async def test_messages_made_while_no_hub_listens_are_sent_later_in_order(sound_node: Path, clips: Path) -> None:
    """Store and forward (docs/protocol.md): a client that only reads the log and calls the replay action has not
    subscribed to the node's states, so no hub listens and the node keeps its messages; the next client that
    subscribes gets them all, oldest first, with their own seq, `queued_ms`, and what the reference routes."""
    model, cfg, _manifest = reference.load_model("sound_v1")
    name = "water_running.wav"
    windows = reference.windows(model, cfg, clips / name, HOP_FRAMES)
    reports = expected_reports(windows)
    assert 2 <= len(reports) <= 8  # host-sound.yaml keeps the default outbox of 8: nothing dropped
    caller = APIClient("127.0.0.1", 16053, None)
    await caller.connect(login=True)
    logs: list[str] = []
    try:
        _entities, services = await caller.list_entities_services()
        (replay,) = (s for s in services if s.name == "replay")
        caller.subscribe_logs(lambda msg: logs.append(msg.message.decode(errors="replace")), LogLevel.LOG_LEVEL_DEBUG)
        await caller.execute_service(replay, {"file": str(clips / name)})
        for _ in range(600):  # the node logs each message it keeps
            if sum("Queued message" in line for line in logs) >= len(reports):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await caller.disconnect()
    assert sum("Queued message" in line for line in logs) == len(reports), "\n".join(logs[-20:])
    node = await connect()
    try:
        events = await node.wait_events(len(reports))
        assert len(events) == len(reports)
        for call, report in zip(events, reports, strict=True):
            msg = NodeMessage.model_validate(call.data)
            assert call.service == f"esphome.binmoe_{report.kind}"
            assert msg.scores == windows[report.window].scores
            assert msg.queued_ms is not None and msg.queued_ms >= 250  # at least the settle time after subscribing
            assert msg.features is None  # too large to keep: a queued escalation goes without them
        assert [NodeMessage.model_validate(e.data).seq for e in events] == list(range(len(reports)))
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
        assert "Alarm event: smoke_alarm, 1 of 19 windows" in log and "Alarm event: co_alarm, 1 of 19 windows" in log
        assert "Alarm code: T3 -> smoke_alarm, T4 -> co_alarm" in log
        assert "Alarm tone: T3 and T4, codes on a smoke or CO sounder's pitch only" in log  # the defaults
    finally:
        await node.client.disconnect()


async def test_no_heap_allocation_in_the_components_loop(sound_node_under_dhat: Any, clips: Path) -> None:
    """Run the node under valgrind's DHAT and replay clips: every heap allocation made below
    BinMoEComponent::loop() must be ESPHome's API layer sending a message (its send buffer growing), never the
    component's own code, and fewer than one per message (the buffer is reused)."""
    model, cfg, _manifest = reference.load_model("sound_v1")
    node = await connect()
    names = ["smoke_alarm.wav", "co_alarm.wav", "knock.wav", "t3_12s.wav"]
    expected = 0
    for name in names:
        expected += len(expected_reports(reference.windows(model, cfg, clips / name, HOP_FRAMES)))
        await node.call("replay", file=str(clips / name))
        await node.wait_events(expected, seconds=60)
    sent = len(node.events)
    assert sent == expected >= 3 * len(names)
    await node.client.disconnect()
    not_api, api_blocks = heap_in_loop(sound_node_under_dhat())
    assert not_api == [], "\n".join("\n".join(stack) for stack in not_api)
    assert api_blocks < sent, f"{api_blocks} allocations for {sent} messages"
