"""Writing wanted values to the store only where they differ, and saying exactly what happened.

The current values are read first, in one request; a value equal to the wanted one is not written. Writes go one
variable at a time, so when one fails the error lists what was written, what failed and what was not attempted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from ocw.errors import OcwError
from ocw.secrets.base import SecretStore
from ocw.secrets.targets import Variable

Before = Literal["missing", "different", "same"]


@dataclass(frozen=True)
class Change:
    variable: Variable
    before: Before

    @property
    def needs_write(self) -> bool:
        return self.before != "same"


def plan_changes(store: SecretStore, wanted: Mapping[Variable, str]) -> list[Change]:
    current = store.get_many(v.name for v in wanted)
    changes: list[Change] = []
    for variable, value in wanted.items():
        if variable.name not in current:
            before: Before = "missing"
        elif current[variable.name] == value:
            before = "same"
        else:
            before = "different"
        changes.append(Change(variable, before))
    return changes


def apply_changes(
    store: SecretStore,
    changes: list[Change],
    wanted: Mapping[Variable, str],
    progress: Callable[[str], None] = lambda _message: None,
) -> list[Change]:
    """Write every change that needs it; returns those written. A failure names what was and was not written."""
    pending = [c for c in changes if c.needs_write]
    written: list[Change] = []
    for index, change in enumerate(pending):
        progress(f"writing {change.variable.name} ({change.variable.workspace})")
        try:
            store.set(change.variable.name, wanted[change.variable])
        except OcwError as exc:
            raise _partial_failure(written, change, pending[index + 1 :], exc) from exc
        written.append(change)
    return written


def _label(change: Change) -> str:
    return f"{change.variable.name} ({change.variable.workspace})"


def _partial_failure(written: list[Change], failed: Change, skipped: list[Change], cause: OcwError) -> OcwError:
    parts = [f"failed to write {_label(failed)}: {cause.message}"]
    parts.append("already written: " + (", ".join(_label(c) for c in written) if written else "nothing"))
    if skipped:
        parts.append("not attempted: " + ", ".join(_label(c) for c in skipped))
    hint = cause.hint or "fix the cause"
    return OcwError(
        "; ".join(parts),
        hint=f"{hint}; then run the same command again (values already written compare equal and are skipped)",
        exit_code=cause.exit_code,
    )
