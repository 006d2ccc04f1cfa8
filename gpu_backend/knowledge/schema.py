"""The format of a knowledge-base file (gpu_backend/data/knowledge/*.toml), validated at start-up.

A file covers one task's classes: which classes it knows (`class_names`), the literature it cites
(`[sources]`), the actions it may recommend (`[actions]`), and per class (`[class.<name>]`) a label, question
keywords and ranked causes. A cause holds when all its conditions on the evidence hold; the first that
holds is the diagnosis, and the last cause of every class has no conditions, so there is always one.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..protocol import ACTION_MAX_CHARS, Severity
from .facts import FACTS, FactKind, fact_kind

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SUMMARY_FIELDS = {"label", "where"}  # a summary names the class and where it was heard
# an action becomes the diagnosis's `recommended_action` (protocol.DiagnoseResponse)
ActionText = Annotated[str, Field(min_length=1, max_length=ACTION_MAX_CHARS)]


class Condition(BaseModel):
    """One test on one fact; a fact the request does not carry makes the condition false."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fact: str
    min: float | None = None
    max: float | None = None
    is_: bool | None = Field(default=None, alias="is")
    any_of: list[str] | list[int] | None = Field(default=None, min_length=1)

    @field_validator("fact")
    @classmethod
    def _known_fact(cls, value: str) -> str:
        if value not in FACTS:
            raise ValueError(f"unknown fact {value!r}; known: {', '.join(FACTS)}")
        return value

    @model_validator(mode="after")
    def _fits_the_fact(self) -> Condition:
        kind = fact_kind(self.fact)
        ranged = self.min is not None or self.max is not None
        if kind is FactKind.NUMBER:
            if self.is_ is not None or not (ranged or self.any_of):
                raise ValueError(f"{self.fact} is a number: give min and/or max, or any_of")
            if self.any_of and any(isinstance(v, str) for v in self.any_of):
                raise ValueError(f"{self.fact} is a number: any_of must list numbers")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError("min is above max")
        elif kind is FactKind.FLAG:
            if self.is_ is None or ranged or self.any_of:
                raise ValueError(f"{self.fact} is true or false: give only `is`")
        elif self.any_of is None or ranged or self.is_ is not None:
            raise ValueError(f"{self.fact} is text: give only any_of")
        return self

    def holds(self, value: Any) -> bool:
        if value is None:
            return False
        kind = fact_kind(self.fact)
        if kind is FactKind.FLAG:
            return bool(value) is self.is_
        if kind is FactKind.WORDS:
            text = str(value).lower()
            return any(re.search(rf"\b{re.escape(str(p).lower())}", text) for p in self.any_of or ())
        if kind is FactKind.NAME:
            return str(value) in {str(v) for v in self.any_of or ()}
        number = float(value)
        if self.any_of is not None and number not in {float(v) for v in self.any_of}:
            return False
        return (self.min is None or number >= self.min) and (self.max is None or number <= self.max)


class Cause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Identifier
    cause: str = Field(min_length=1, max_length=120)  # short: it becomes Home Assistant's sensor state
    severity: Severity
    action: Identifier  # a key of the file's [actions]
    confidence: float = Field(ge=0.0, le=1.0)  # how sure this cause is, given its conditions and a certain class
    when: list[Condition] = Field(default_factory=list)
    # when its conditions hold, no cause ranked below it is admissible: an LLM cannot swap it for a lower one
    # (which may be more severe, e.g. an alarm's default "is sounding" for a "possible alarm, check")
    final: bool = False
    reasoning: str = Field(min_length=1, max_length=400)
    summary: str = Field(min_length=1, max_length=300)
    sources: list[Identifier] = Field(min_length=1)  # keys of the file's [sources]

    @field_validator("summary")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as err:
            raise ValueError(f"not a valid template: {err}") from err
        if unknown := used - SUMMARY_FIELDS:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: {{label}}, {{where}}")
        if missing := SUMMARY_FIELDS - used:
            raise ValueError(f"must name {', '.join('{' + m + '}' for m in sorted(missing))}")
        return value


class ClassEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=64)  # how people call it; 64 like a class name
    critical: bool = False  # a life-safety class: its answer is never downgraded below critical
    keywords: list[str] = Field(default_factory=list)  # phrases that point a question at this class
    causes: list[Cause] = Field(min_length=1)

    @field_validator("causes")
    @classmethod
    def _ranked_with_default(cls, causes: list[Cause]) -> list[Cause]:
        ids = [c.id for c in causes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"cause ids repeat: {ids}")
        if causes[-1].when:
            raise ValueError(f"the last cause ({causes[-1].id}) is the default: it must have no conditions")
        if unconditional := [c.id for c in causes[:-1] if not c.when]:
            raise ValueError(f"only the last cause may have no conditions, not {unconditional}")
        if causes[-1].final:
            raise ValueError(f"the default cause ({causes[-1].id}) is last already: `final` means nothing there")
        return causes

    @model_validator(mode="after")
    def _critical_default(self) -> ClassEntry:
        if self.critical and self.causes[-1].severity != "critical":
            raise ValueError("a critical class's default cause must be critical")
        return self

    @property
    def default(self) -> Cause:
        return self.causes[-1]


class KnowledgeFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    task: Literal["sound", "vibration"]
    class_names: list[Identifier] = Field(min_length=1)  # the classes this file covers (a model's list)
    sources: dict[Identifier, str] = Field(min_length=1)
    actions: dict[Identifier, ActionText] = Field(min_length=1)
    entries: dict[str, ClassEntry] = Field(alias="class")

    def cross_reference_errors(self) -> list[tuple[str, str]]:
        """(field path, message) for every class, action and source that does not resolve."""
        errors: list[tuple[str, str]] = []
        if len(set(self.class_names)) != len(self.class_names):
            errors.append(("class_names", "names repeat"))
        for name in self.entries:
            if name not in self.class_names:
                errors.append((f"class.{name}", f"unknown class {name!r}: not in class_names"))
        for name in self.class_names:
            if name not in self.entries:
                errors.append((f"class.{name}", "missing: every name in class_names needs a [class.<name>] table"))
        for name, entry in self.entries.items():
            for i, cause in enumerate(entry.causes):
                where = f"class.{name}.causes.{i}"
                if cause.action not in self.actions:
                    errors.append((f"{where}.action", f"unknown action {cause.action!r}: not in [actions]"))
                for source in cause.sources:
                    if source not in self.sources:
                        errors.append((f"{where}.sources", f"unknown source {source!r}: not in [sources]"))
        return errors
