"""Download, unpack and decode a set of packages into a cache, once.

Layout under cache_dir:
    debs/PKG_VERSION_ARCH.deb                  while a package is being built (kept with keep_debs)
    PURPOSE/PKG/index.json                     written last: its presence with the right key means "done"
    PURPOSE/PKG/audio/<path in package>.wav    16 kHz mono int16
A package is built in PURPOSE/.PKG.partial and renamed into place, so an interrupted run leaves no package
that looks complete; every WAV is written to a .part file first and renamed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import decode
from .debian import Candidate, FetchError, apt_download, extract
from .manifest import MANIFEST, PackageSpec, Purpose, check_disjoint, check_positives_excluded, packages

Progress = Callable[[str], None]
Downloader = Callable[[str, Path], tuple[Path, Candidate]]
MAX_BROKEN_SHARE = 0.1  # more undecodable files than this (and than 2) means a broken decoder or package


@dataclass(frozen=True)
class Clip:
    path: Path
    package: str
    content: str
    seconds: float
    source: str  # path inside the package


@dataclass(frozen=True)
class PackageResult:
    spec: PackageSpec
    version: str
    clips: tuple[Clip, ...]
    skipped: tuple[tuple[str, str], ...]  # (path inside the package, reason)
    cached: bool

    @property
    def seconds(self) -> float:
        return sum(clip.seconds for clip in self.clips)


def spec_key(spec: PackageSpec) -> str:
    """Changes whenever the file rules or the decoder change (not the descriptive fields), so the package is rebuilt."""
    rules = [dataclasses.asdict(rule) for rule in spec.include]
    fields = [spec.name, spec.purpose, rules, spec.exclude, spec.min_seconds, decode.DECODER_VERSION]
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def fetch(
    purpose: Purpose,
    cache_dir: Path,
    progress: Progress | None = None,
    *,
    manifest: Sequence[PackageSpec] = MANIFEST,
    download: Downloader | None = None,
    jobs: int | None = None,
    keep_debs: bool = False,
) -> list[Path]:
    """The decoded WAV files of one set (eval, train or positive), building what the cache lacks."""
    results = fetch_packages(
        purpose, cache_dir, progress, manifest=manifest, download=download, jobs=jobs, keep_debs=keep_debs
    )
    return [clip.path for result in results for clip in result.clips]


def fetch_packages(
    purpose: Purpose,
    cache_dir: Path,
    progress: Progress | None = None,
    *,
    manifest: Sequence[PackageSpec] = MANIFEST,
    download: Downloader | None = None,
    jobs: int | None = None,
    keep_debs: bool = False,
) -> list[PackageResult]:
    check_disjoint(manifest)
    check_positives_excluded(manifest)
    say = progress or (lambda _msg: None)
    get = download or (lambda name, deb_dir: apt_download(name, deb_dir))
    results = []
    for spec in packages(purpose, manifest):
        result = load_package(spec, cache_dir)
        if result is None:
            result = build_package(spec, cache_dir, say, get, jobs or os.cpu_count() or 1, keep_debs)
        say(
            f"{spec.name}: {len(result.clips)} files, {result.seconds / 3600:.2f} h"
            + (" (cached)" if result.cached else f", {len(result.skipped)} skipped")
        )
        results.append(result)
    return results


def load_clips(purpose: Purpose, cache_dir: Path, manifest: Sequence[PackageSpec] = MANIFEST) -> list[Clip]:
    """The clips of a set already in the cache (no network); FetchError when a package is missing or stale."""
    clips: list[Clip] = []
    for spec in packages(purpose, manifest):
        result = load_package(spec, cache_dir)
        if result is None:
            raise FetchError(f"{spec.name}: not in {cache_dir} (or built with other rules): run fetch first")
        clips.extend(result.clips)
    return clips


def _package_dir(spec: PackageSpec, cache_dir: Path) -> Path:
    return cache_dir / spec.purpose / spec.name


def load_package(spec: PackageSpec, cache_dir: Path) -> PackageResult | None:
    final = _package_dir(spec, cache_dir)
    try:
        index = json.loads((final / "index.json").read_text())
    except (OSError, ValueError):
        return None
    if index.get("key") != spec_key(spec):
        return None
    clips = tuple(
        Clip(final / c["file"], spec.name, c["content"], float(c["seconds"]), c["source"]) for c in index["clips"]
    )
    if not all(clip.path.exists() for clip in clips):
        return None
    skipped = tuple((s["source"], s["reason"]) for s in index["skipped"])
    return PackageResult(spec, index["version"], clips, skipped, cached=True)


def selected_files(spec: PackageSpec, root: Path) -> list[tuple[str, str]]:
    """(path inside the package, content type) of every regular audio file the rules take."""
    chosen = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = Path(folder) / name
            if full.is_symlink() or full.suffix.lower() not in decode.AUDIO_SUFFIXES:
                continue
            rel = full.relative_to(root).as_posix()
            content = spec.content_of(rel)
            if content is not None:
                chosen.append((rel, content))
    return sorted(chosen)


def _record(clip: Clip, package_dir: Path) -> dict[str, object]:
    file = clip.path.relative_to(package_dir).as_posix()
    return {"file": file, "source": clip.source, "content": clip.content, "seconds": round(clip.seconds, 4)}


def build_package(
    spec: PackageSpec, cache_dir: Path, say: Progress, download: Downloader, jobs: int, keep_debs: bool
) -> PackageResult:
    """Build the package in a hidden folder and rename it into place; on any failure remove that folder."""
    final = _package_dir(spec, cache_dir)
    partial = final.with_name(f".{spec.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        return _build(spec, final, partial, cache_dir, say, download, jobs, keep_debs)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _build(
    spec: PackageSpec,
    final: Path,
    partial: Path,
    cache_dir: Path,
    say: Progress,
    download: Downloader,
    jobs: int,
    keep_debs: bool,
) -> PackageResult:
    say(f"{spec.name}: downloading")
    deb, got = download(spec.name, cache_dir / "debs")
    if got.version != spec.version:
        say(f"{spec.name}: note: apt gives version {got.version}, the manifest was measured on {spec.version}")
    root = partial / "root"
    extract(deb, root)
    files = selected_files(spec, root)
    if not files:
        raise FetchError(f"{spec.name} {got.version}: no file matches the manifest's rules")
    missing = decode.missing_tools({Path(rel).suffix.lower() for rel, _ in files})
    if missing:
        raise FetchError(f"{spec.name}: decoding needs {', '.join(missing)} (apt-get install them)")
    say(f"{spec.name}: decoding {len(files)} files")

    def one(item: tuple[str, str]) -> Clip | decode.Unusable:
        rel, content = item
        out = partial / "audio" / (rel + ".wav")
        try:
            seconds = decode.decode(root / rel, out, spec.min_seconds)
        except decode.Unusable as why:
            return why
        return Clip(final / "audio" / (rel + ".wav"), spec.name, content, seconds, rel)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(one, files))
    clips = tuple(o for o in outcomes if isinstance(o, Clip))
    skipped = tuple((rel, str(o)) for (rel, _), o in zip(files, outcomes, strict=True) if not isinstance(o, Clip))
    for rel, reason in skipped:
        say(f"{spec.name}: skipped {rel}: {reason}")
    broken = [
        f"{rel}: {o}"
        for (rel, _), o in zip(files, outcomes, strict=True)
        if isinstance(o, decode.Unusable) and o.broken
    ]
    if broken and (len(broken) == len(files) or len(broken) > max(2, MAX_BROKEN_SHARE * len(files))):
        raise FetchError(f"{spec.name}: {len(broken)} of {len(files)} files failed to decode, first: {broken[0]}")
    index = {
        "key": spec_key(spec),
        "package": spec.name,
        "version": got.version,
        "deb_sha256": got.sha256,
        "purpose": spec.purpose,
        "clips": [_record(clip, final) for clip in clips],
        "skipped": [{"source": rel, "reason": reason} for rel, reason in skipped],
    }
    shutil.rmtree(root)
    (partial / "index.json.part").write_text(json.dumps(index, indent=1))
    (partial / "index.json.part").replace(partial / "index.json")
    shutil.rmtree(final, ignore_errors=True)
    partial.replace(final)
    if not keep_debs:
        deb.unlink(missing_ok=True)
    return PackageResult(spec, got.version, clips, skipped, cached=False)
