"""Load and check the knowledge base at start-up: every error names its file and field."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from .schema import Cause, ClassEntry, KnowledgeFile

BUNDLED_DIR = Path(__file__).parents[1] / "data" / "knowledge"


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is unreadable or invalid; the message names the file and the field."""


@dataclass(frozen=True)
class KnownClass:
    """One class's entry with what it refers to, resolved from the file it came from."""

    task: str
    name: str
    entry: ClassEntry
    actions: dict[str, str]
    sources: dict[str, str]
    origin: Path

    def action_text(self, cause: Cause) -> str:
        return self.actions[cause.action]

    def references(self, cause: Cause) -> list[str]:
        return [self.sources[s] for s in cause.sources]


@dataclass(frozen=True)
class KnowledgeBase:
    classes: dict[tuple[str, str], KnownClass]

    def lookup(self, task: str, name: str) -> KnownClass | None:
        return self.classes.get((task, name))

    def match_question(self, question: str, task: str | None = None) -> KnownClass | None:
        """The class whose keywords a question mentions most (by matched length); critical classes win ties."""
        text = question.lower()
        best: tuple[int, int, str] | None = None
        found: KnownClass | None = None
        for known in self.classes.values():
            if task is not None and known.task != task:
                continue
            score = sum(len(k) for k in known.entry.keywords if re.search(rf"\b{re.escape(k.lower())}", text))
            if score == 0:
                continue
            rank = (score, int(known.entry.critical), known.name)
            if best is None or rank > best:
                best, found = rank, known
        return found


def load_file(path: Path) -> KnowledgeFile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise KnowledgeBaseError(f"{path}: cannot read: {err}") from err
    try:
        parsed = KnowledgeFile.model_validate(data)
    except ValidationError as err:
        lines = [f"{path}: {'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in err.errors()]
        raise KnowledgeBaseError("\n".join(lines)) from err
    if problems := parsed.cross_reference_errors():
        raise KnowledgeBaseError("\n".join(f"{path}: {field}: {msg}" for field, msg in problems))
    return parsed


def load_knowledge_base(*extra_dirs: Path) -> KnowledgeBase:
    """The bundled files, then each extra directory's: a later directory's class replaces an earlier one's,
    two files of one directory must not both define a class."""
    classes: dict[tuple[str, str], KnownClass] = {}
    for directory in (BUNDLED_DIR, *extra_dirs):
        if not directory.is_dir():
            raise KnowledgeBaseError(f"{directory}: not a directory")
        files = sorted(directory.glob("*.toml"))
        if not files:
            raise KnowledgeBaseError(f"{directory}: no *.toml knowledge-base files")
        seen: dict[tuple[str, str], Path] = {}
        for path in files:
            parsed = load_file(path)
            for name, entry in parsed.entries.items():
                key = (parsed.task, name)
                if key in seen:
                    raise KnowledgeBaseError(f"{path}: class.{name}: already defined for {parsed.task} in {seen[key]}")
                seen[key] = path
                classes[key] = KnownClass(parsed.task, name, entry, parsed.actions, parsed.sources, path)
    return KnowledgeBase(classes)
