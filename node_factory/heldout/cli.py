"""Command line: write held-out sets as WAV files plus one JSON line of metadata per file.

python -m node_factory.heldout sound --out DIR --seed S --per-class N [--seconds 4]
python -m node_factory.heldout vibration --rate 3200|16000 --out DIR --seed S --per-class N [--seconds 4]
python -m node_factory.heldout scenes --out DIR --seed S --n N          (alarm scenes + the same scenes without alarm)
python -m node_factory.heldout machine-runs --rate 3200 --out DIR --seed S --machines N --hours H
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .common import Clip, to_jsonable, write_jsonl_line, write_wav
from .sound import generate_alarm_events, generate_negative_scenes, generate_sound_clips
from .vibration import generate_machine_runs, generate_vibration_clips


def write_clips(out: Path, clips: Iterable[Clip], subdir_by_label: bool = True, prefix: str = "") -> int:
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with (out / "meta.jsonl").open("a", encoding="utf-8") as fh:
        for clip in clips:
            cid = str(clip.meta.get("id", f"clip-{count:05d}"))
            rel = Path(prefix) / (clip.label if subdir_by_label else "") / f"{cid}.wav"
            write_wav(out / rel, clip.audio, clip.sample_rate)
            write_jsonl_line(
                fh,
                {"id": cid, "path": str(rel), "label": clip.label, "sample_rate": clip.sample_rate, "meta": clip.meta},
            )
            count += 1
    return count


def _cmd_sound(a: argparse.Namespace) -> int:
    return write_clips(Path(a.out), generate_sound_clips(a.seed, a.per_class, a.seconds))


def _cmd_vibration(a: argparse.Namespace) -> int:
    return write_clips(Path(a.out), generate_vibration_clips(a.seed, a.per_class, a.rate, a.seconds))


def _cmd_scenes(a: argparse.Namespace) -> int:
    out = Path(a.out)
    n = write_clips(out, generate_alarm_events(a.seed, a.n), subdir_by_label=False, prefix="alarm")
    return n + write_clips(out, generate_negative_scenes(a.seed, a.n), subdir_by_label=False, prefix="negative")


def _cmd_runs(a: argparse.Namespace) -> int:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = generate_machine_runs(a.seed, a.machines, a.rate, a.hours, chunk_seconds=a.chunk_seconds)
    for run in runs:
        (out / f"{run.machine_id}.json").write_text(json.dumps(to_jsonable(run.describe()), indent=1, sort_keys=True))
        with (
            wave.open(str(out / f"{run.machine_id}.wav"), "wb") as w,
            (out / f"{run.machine_id}.chunks.jsonl").open("w") as fh,
        ):
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(run.sample_rate)
            for chunk in run.chunks():
                w.writeframes(np.ascontiguousarray(chunk.audio, dtype="<i2").tobytes())
                write_jsonl_line(
                    fh,
                    {
                        "start_s": chunk.start_s,
                        "samples": len(chunk.audio),
                        "labels": chunk.labels,
                        "rpm_mean": chunk.rpm_mean,
                        "rpm_min": chunk.rpm_min,
                        "rpm_max": chunk.rpm_max,
                    },
                )
    return len(runs)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m node_factory.heldout", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sound", help="labelled 16 kHz home-sound clips")
    s.add_argument("--per-class", type=int, default=100)
    s.add_argument("--seconds", type=float, default=4.0)
    s.set_defaults(func=_cmd_sound)
    v = sub.add_parser("vibration", help="labelled machine-vibration clips")
    v.add_argument("--rate", type=int, default=3200)
    v.add_argument("--per-class", type=int, default=100)
    v.add_argument("--seconds", type=float, default=4.0)
    v.set_defaults(func=_cmd_vibration)
    sc = sub.add_parser("scenes", help="30-40 s alarm scenes and the same scenes without the alarm")
    sc.add_argument("--n", type=int, default=20)
    sc.set_defaults(func=_cmd_scenes)
    r = sub.add_parser("machine-runs", help="long healthy runs followed by seeded faults, streamed to WAV")
    r.add_argument("--rate", type=int, default=3200)
    r.add_argument("--machines", type=int, default=2)
    r.add_argument("--hours", type=float, default=1.0)
    r.add_argument("--chunk-seconds", type=float, default=10.0)
    r.set_defaults(func=_cmd_runs)
    for sp in (s, v, sc, r):
        sp.add_argument("--out", required=True)
        sp.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    start = time.perf_counter()
    count = args.func(args)
    print(f"wrote {count} item(s) to {args.out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0
