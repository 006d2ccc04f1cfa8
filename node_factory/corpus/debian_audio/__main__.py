"""python -m node_factory.corpus.debian_audio fetch|list|screen --purpose eval|train|positive|all --cache DIR"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

from scipy.io import wavfile

from .debian import FetchError
from .fetch import PackageResult, fetch_packages, load_clips
from .manifest import MANIFEST, PURPOSES, packages
from .screen import alarm_score


def _summary(purpose: str, results: list[PackageResult]) -> list[str]:
    lines = [f"== {purpose}", f"{'package':34} {'version':28} {'files':>6} {'skipped':>7} {'hours':>6}  content"]
    by_content: dict[str, float] = defaultdict(float)
    for r in results:
        for clip in r.clips:
            by_content[clip.content] += clip.seconds
        kinds = ",".join(r.spec.content_types)
        lines.append(
            f"{r.spec.name:34} {r.version:28} {len(r.clips):6d} {len(r.skipped):7d} {r.seconds / 3600:6.2f}  {kinds}"
        )
    lines.append("by content: " + ", ".join(f"{k} {v / 3600:.2f} h" for k, v in sorted(by_content.items())))
    total = sum(r.seconds for r in results)
    lines.append(f"total {purpose}: {sum(len(r.clips) for r in results)} files, {total / 3600:.2f} h")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node_factory.corpus.debian_audio", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("fetch", help="download, unpack and decode a set into the cache")
    get.add_argument("--purpose", choices=[*PURPOSES, "all"], required=True)
    get.add_argument("--cache", type=Path, required=True)
    get.add_argument("--jobs", type=int, default=None, help="parallel decoders (default: CPU count)")
    get.add_argument("--keep-debs", action="store_true", help="keep the downloaded .deb files in CACHE/debs")
    sub.add_parser("list", help="print the manifest")
    scr = sub.add_parser("screen", help="list cached files with steady 2-4.5 kHz tones, for a person to check")
    scr.add_argument("--purpose", choices=PURPOSES, required=True)
    scr.add_argument("--cache", type=Path, required=True)
    scr.add_argument("--min-seconds", type=float, default=0.3, help="report files with at least this much tone")
    args = parser.parse_args(argv)

    if args.command == "screen":
        try:
            clips = load_clips(args.purpose, args.cache)
        except FetchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        scored = [(alarm_score(wavfile.read(c.path)[1]), c) for c in clips]
        flagged = sorted(((s, c) for s, c in scored if s >= args.min_seconds), key=lambda sc: -sc[0])
        for score, clip in flagged:
            print(f"{score:6.2f} s tone in {clip.seconds:7.1f} s  {clip.content:8} {clip.package}: {clip.source}")
        print(f"{len(flagged)} of {len(clips)} files have >= {args.min_seconds} s of steady 2-4.5 kHz tone")
        return 0

    if args.command == "list":
        for spec in MANIFEST:
            print(f"{spec.purpose:5} {spec.name:34} {spec.version:28} {','.join(spec.content_types):22} {spec.licence}")
        for spec in packages("positive"):
            print(f"positive {spec.name:34} {len(spec.include)} files")
        return 0

    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {message}", flush=True)

    report: list[str] = []
    purposes = PURPOSES if args.purpose == "all" else (args.purpose,)
    # Sets share packages (positives come from both): keep each .deb until the last set is built.
    keep = args.keep_debs or len(purposes) > 1
    try:
        for purpose in purposes:
            results = fetch_packages(purpose, args.cache, progress, jobs=args.jobs, keep_debs=keep)
            report += _summary(purpose, results)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep_debs:
            for deb in (args.cache / "debs").glob("*.deb"):
                deb.unlink()
    print("\n".join(report))
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
