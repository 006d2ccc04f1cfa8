"""Keep docs/benchmarks.md up to date: each benchmark owns one marked section and rewrites only that.

Used by every benchmark script (node model, backend, router, voice) so their numbers land in one page,
each with the command that reproduces it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO_ROOT / "docs" / "benchmarks.md"
BENCHMARKS_DIR = REPO_ROOT / "docs" / "benchmarks"
_HEADER = (
    "# Benchmarks\n\n"
    "Every number on this page was printed by the command shown above it, on the machine named with it.\n"
    "Re-run the command to reproduce it; each script rewrites only its own section.\n"
)


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def machine_description() -> str:
    """One line naming the machine a benchmark ran on."""
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.release()}"


def now_stamp() -> str:
    """The time a benchmark's figures were measured, as every section states it."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_section(
    name: str, title: str, command: str, body_markdown: str, path: Path = BENCHMARKS_MD, keep_stamp: bool = False
) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md. `keep_stamp`: keep the section's
    "Measured ... on ..." line (a section re-rendered from stored figures, some of them measured earlier)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    found = pattern.search(text)
    measured = f"Measured {now_stamp()} on {machine_description()}."
    if keep_stamp and found:
        kept = re.search(r"^Measured .*$", found.group(0), re.MULTILINE)
        measured = kept.group(0) if kept else measured
    section = f"{begin}\n## {title}\n\nReproduce: `{command}`  \n{measured}\n\n{body_markdown.strip()}\n{end}"
    text = pattern.sub(lambda _m: section, text) if found else text.rstrip() + "\n\n" + section
    atomic_write_text(path, text.rstrip() + "\n")


def read_json(name: str) -> dict[str, Any]:
    """docs/benchmarks/<name>.json as the last run left it, or {} if there is none yet."""
    path = BENCHMARKS_DIR / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return data


def write_json(name: str, data: dict[str, Any]) -> Path:
    """Write docs/benchmarks/<name>.json atomically and return its path."""
    path = BENCHMARKS_DIR / f"{name}.json"
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
