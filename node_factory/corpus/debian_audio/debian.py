"""Getting a package's .deb with apt and unpacking it with dpkg-deb, without installing anything."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class FetchError(RuntimeError):
    """Something outside our control failed; the message names the package or file."""


@dataclass(frozen=True)
class Candidate:
    package: str
    version: str
    sha256: str
    filename: str  # the .deb's name as apt-get download writes it


def _run(args: Sequence[str], what: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise FetchError(f"{what}: {args[0]} is not installed") from exc
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise FetchError(f"{what}: `{' '.join(args)}` exited {done.returncode}: {tail}")
    return done.stdout


def candidate(package: str, apt_options: Sequence[str] = ()) -> Candidate:
    """The version apt would download now, with its checksum (apt-cache show of the candidate)."""
    text = _run(
        ["apt-cache", *apt_options, "show", "--no-all-versions", package],
        f"{package}: not in the apt lists (run apt-get update; bookworm main must be a source)",
    )
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in ("Package", "Version", "SHA256", "Architecture") and key not in fields:
            fields[key] = value.strip()
    if fields.get("Package") != package or "Version" not in fields or "SHA256" not in fields:
        raise FetchError(f"{package}: apt-cache show gave no usable record")
    version = fields["Version"]
    filename = f"{package}_{version.replace(':', '%3a')}_{fields.get('Architecture', 'all')}.deb"
    return Candidate(package, version, fields["SHA256"], filename)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def apt_download(package: str, deb_dir: Path, apt_options: Sequence[str] = ()) -> tuple[Path, Candidate]:
    """The candidate's .deb in deb_dir, reused when its checksum matches, else fetched by apt-get download."""
    want = candidate(package, apt_options)
    deb_dir.mkdir(parents=True, exist_ok=True)
    target = deb_dir / want.filename
    if target.exists() and sha256_of(target) == want.sha256:
        return target, want
    with tempfile.TemporaryDirectory(dir=deb_dir, prefix=f".{package}-") as tmp:
        args = ["apt-get", *apt_options, "-q", "download", f"{package}={want.version}"]
        _run(args, f"{package}: download", Path(tmp))
        got = sorted(Path(tmp).glob(f"{package}_*.deb"))
        if len(got) != 1:
            raise FetchError(f"{package}: apt-get download left {len(got)} .deb files, expected one")
        if sha256_of(got[0]) != want.sha256:
            raise FetchError(f"{package}: downloaded {got[0].name} does not match the SHA256 in the apt lists")
        got[0].replace(target)
    return target, want


def extract(deb: Path, dest: Path) -> None:
    """Unpack the .deb's files under dest (dpkg-deb -x: no maintainer scripts run, nothing installed)."""
    dest.mkdir(parents=True, exist_ok=True)
    _run(["dpkg-deb", "-x", str(deb), str(dest)], f"{deb.name}: dpkg-deb -x")
