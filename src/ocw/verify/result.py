"""What one check saw: pass, fail (expected / seen / next thing to try) or skip (why), with its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ocw.verify.registry import Criterion

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    evidence: tuple[str, ...] = ()
    expected: str | None = None
    seen: str | None = None
    next_step: str | None = None
    reason: str | None = None  # why a check was skipped


def passed(*evidence: str) -> Outcome:
    return Outcome("pass", tuple(evidence))


def failed(expected: str, seen: str, next_step: str, *evidence: str) -> Outcome:
    return Outcome("fail", tuple(evidence), expected=expected, seen=seen, next_step=next_step)


def skipped(reason: str, *evidence: str) -> Outcome:
    return Outcome("skip", tuple(evidence), reason=reason)


def with_evidence(outcome: Outcome, *evidence: str) -> Outcome:
    return replace(outcome, evidence=(*outcome.evidence, *evidence))


@dataclass(frozen=True)
class CheckResult:
    criterion: Criterion
    workspace: str | None
    outcome: Outcome
    notes: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.criterion.id

    @property
    def status(self) -> Status:
        return self.outcome.status

    def to_json(self) -> dict[str, Any]:
        o = self.outcome
        document: dict[str, Any] = {
            "id": self.id,
            "name": self.criterion.name,
            "phase": self.criterion.phase,
            "title": self.criterion.title,
            "workspace": self.workspace,
            "status": o.status,
            "evidence": list(o.evidence),
        }
        if o.status == "fail":
            document.update(expected=o.expected, seen=o.seen, next=o.next_step)
        if o.status == "skip":
            document["reason"] = o.reason
        return document
