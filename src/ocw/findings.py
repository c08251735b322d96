"""A finding: one problem found in the tree, with a stable rule id, a message that says how to fix it, and the Flux
Kustomization that owns the object it is about."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    rule: str
    object: str
    message: str
    severity: Severity = Severity.ERROR
    line: int | None = None
    # The tree's Flux Kustomization that applies the object (None: a file, the host cluster, the whole run).
    owner: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


class Subject(Protocol):
    """What a finding can be about: an object with its file, its name for people, and its owner."""

    @property
    def file(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def owner(self) -> str | None: ...


def about(
    subject: Subject, rule: str, message: str, *, severity: Severity = Severity.ERROR, label: str | None = None
) -> Finding:
    """A finding about an object, attributed to the file that holds it and the Kustomization that applies it."""
    return Finding(subject.file, rule, label or subject.label, message, severity, owner=subject.owner)
