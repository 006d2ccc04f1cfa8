"""Bad arguments to the host node's actions (`replay`, `force_escalation`): malformed, truncated and mutated
WAV files, paths that are no files, and native-API calls with wrong argument types, counts and keys. The
node must log and ignore each, stay connected, and afterwards classify a good clip exactly as the reference."""

from __future__ import annotations

import asyncio
import random
import struct
import wave
from pathlib import Path

import reference
from aioesphomeapi.api_pb2 import ExecuteServiceArgument, ExecuteServiceRequest
from test_host_node import HOP_FRAMES, Node, connect, expected_reports

from gpu_backend.protocol import NodeMessage


def _odd_wavs(folder: Path, clip: Path) -> list[Path]:
    """Hand-made bad WAVs (each one a way a header can lie) plus seeded random mutations of a good header."""
    good = clip.read_bytes()
    riff = b"RIFF" + struct.pack("<I", 36) + b"WAVE"

    def fmt(size: int, fields: bytes) -> bytes:
        return b"fmt " + struct.pack("<I", size) + fields

    pcm = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    cases = {
        "empty": b"",
        "riff_only": riff,
        "fmt_too_short": riff + fmt(8, pcm[:8]),
        "fmt_huge_size": riff + fmt(0xFFFFFFFF, pcm),
        "chunk_huge_size": riff + b"junk" + struct.pack("<I", 0xFFFFFFFF) + b"x" * 16,
        "no_data_chunk": riff + fmt(16, pcm),
        "data_before_fmt": riff + b"data" + struct.pack("<I", 4) + b"\0\0\0\0",
        "8_bit": riff + fmt(16, struct.pack("<HHIIHH", 1, 1, 16000, 16000, 1, 8)) + b"data\4\0\0\0abcd",
        "float": riff + fmt(16, struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)) + b"data\4\0\0\0abcd",
        "data_size_lies": riff + fmt(16, pcm) + b"data" + struct.pack("<I", 0xFFFFFFFF) + good[44:2044],
        "odd_data_size": riff + fmt(16, pcm) + b"data" + struct.pack("<I", 3) + b"\1\2\3",
        "truncated_clip": good[: len(good) // 3 + 1],
    }
    rng = random.Random(18)
    for i in range(40):  # random bytes of the first 64 (the header), random truncation
        data = bytearray(good[: rng.randrange(0, 4000)])
        for _ in range(rng.randrange(1, 6)):
            if data[:64]:
                data[rng.randrange(min(64, len(data)))] = rng.randrange(256)
        cases[f"mutated_{i}"] = bytes(data)
    paths = []
    for name, data in cases.items():
        path = folder / f"{name}.wav"
        path.write_bytes(data)
        paths.append(path)
    return paths


async def _good_clip_still_matches(node: Node, clips: Path) -> None:
    model, cfg, _manifest = reference.load_model("sound_v1")
    clip = clips / "smoke_alarm.wav"
    windows = reference.windows(model, cfg, clip, HOP_FRAMES)
    reports = expected_reports(windows)  # an alarm's windows are held back until they make an event
    await asyncio.sleep(1.0)  # whatever the odd files played (speed 0: at once) has been sent
    start = len(node.events)
    await node.call("replay", file=str(clip))
    events = await node.wait_events(start + len(reports))
    got = [NodeMessage.model_validate(e.data) for e in events[start:]]
    assert [m.scores for m in got] == [windows[r.window].scores for r in reports]


async def test_bad_files_and_paths_are_ignored(sound_node: Path, clips: Path, tmp_path: Path) -> None:
    node = await connect()
    try:
        bad = _odd_wavs(tmp_path, clips / "smoke_alarm.wav")
        for path in [*bad, tmp_path, Path("/dev/null"), Path(""), Path("/" + "x" * 4000)]:
            await node.call("replay", file=str(path))
        # the 44.1 kHz case of test_host_node.py, with a stereo 16 kHz one
        stereo = tmp_path / "stereo.wav"
        with wave.open(str(stereo), "wb") as f:
            f.setnchannels(2)
            f.setsampwidth(2)
            f.setframerate(16000)
            f.writeframes(b"\0\0" * 32000)
        await node.call("replay", file=str(stereo))
        await asyncio.sleep(1.0)
        log = "\n".join(node.logs)
        for name in ("empty", "riff_only", "fmt_too_short", "no_data_chunk", "data_before_fmt"):
            assert f"{tmp_path / name}.wav is not a PCM WAV file" in log, name
        assert "8_bit.wav is format 1, 1 channel(s), 8 bit" in log and "float.wav is format 3" in log
        assert "stereo.wav is format 1, 2 channel(s), 16 bit, 16000 Hz" in log
        assert "cannot open" in log
        await _good_clip_still_matches(node, clips)
    finally:
        await node.client.disconnect()


async def test_wrong_argument_types_counts_and_keys(sound_node: Path, clips: Path) -> None:
    """Native-API calls no client library would send: the node must not act on them, nor crash."""
    node = await connect()
    try:
        replay, force = node.services["replay"], node.services["force_escalation"]
        connection = node.client._get_connection()  # raw messages: the client library checks its arguments
        wrong = [
            ExecuteServiceRequest(key=replay.key, args=[ExecuteServiceArgument(int_=5)]),  # an int for `file`
            ExecuteServiceRequest(key=replay.key, args=[ExecuteServiceArgument(float_=1.5, bool_=True)]),
            ExecuteServiceRequest(key=replay.key, args=[ExecuteServiceArgument(string_array=["a", "b"])]),
            ExecuteServiceRequest(key=replay.key, args=[]),  # too few
            ExecuteServiceRequest(key=replay.key, args=[ExecuteServiceArgument(string_="x")] * 3),  # too many
            ExecuteServiceRequest(key=force.key, args=[ExecuteServiceArgument(string_="x")]),
            ExecuteServiceRequest(key=0xDEADBEEF, args=[]),  # no such action
        ]
        for request in wrong:
            connection.send_message(request)
        await asyncio.sleep(1.0)
        assert node.events == []  # nothing was replayed or escalated
        await _good_clip_still_matches(node, clips)
    finally:
        await node.client.disconnect()
