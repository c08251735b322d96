"""What the store holds for each workspace variable, without showing a value: presence, length, last change,
whether the Copilot document is one the init step accepts and, when asked, whether GitHub still accepts its token."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ocw.errors import OcwError
from ocw.password import password_problem
from ocw.secrets.base import SecretStore
from ocw.secrets.copilot import parse_auth_document
from ocw.secrets.copilot_check import TokenCheck, check_token
from ocw.secrets.targets import COPILOT_AUTH_JSON, PASSWORD, Variable, WorkspaceVariables, shared_variables


@dataclass(frozen=True)
class VariableStatus:
    variable: Variable
    present: bool
    length: int | None
    last_changed: str | None
    content_problem: str | None = None
    token_check: TokenCheck | None = None

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.present:
            found.append("missing")
        if self.content_problem:
            found.append(self.content_problem)
        if self.token_check and self.token_check.verdict == "rejected":
            found.append(self.token_check.detail)
        return found

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "workspace": self.variable.workspace,
            "role": self.variable.role,
            "name": self.variable.name,
            "present": self.present,
            "length": self.length,
            "last_changed": self.last_changed,
            "problems": self.problems,
        }
        if self.variable.role == COPILOT_AUTH_JSON:
            data["copilot_entry_valid"] = self.present and self.content_problem is None
            if self.token_check:
                data["github"] = {"verdict": self.token_check.verdict, "detail": self.token_check.detail}
        return data


def collect_status(
    store: SecretStore,
    workspaces: Sequence[WorkspaceVariables],
    *,
    online: bool,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[VariableStatus], str | None]:
    """Status per variable, and a note when the change log could not be read (times are then unknown)."""
    variables = [*(v for ws in workspaces for v in ws.variables()), *shared_variables(workspaces)]
    values = store.get_many(v.name for v in variables)
    history_note: str | None = None
    try:
        changed = store.last_changed(v.name for v in variables)
    except OcwError as exc:
        changed, history_note = {}, f"last-changed times unavailable: {exc.message}"
    result: list[VariableStatus] = []
    for variable in variables:
        value = values.get(variable.name)
        problem: str | None = None
        check: TokenCheck | None = None
        if value is not None and variable.role == PASSWORD and (weak := password_problem(value)) is not None:
            problem = f"the password {weak}: the workspace refuses to start with it (ocw secrets init replaces it)"
        if value is not None and variable.role == COPILOT_AUTH_JSON:
            try:
                auth = parse_auth_document(value, "the stored document")
            except OcwError as exc:
                problem = exc.message
            else:
                if online:
                    check = check_token(auth, environ)
        result.append(
            VariableStatus(
                variable=variable,
                present=value is not None,
                length=len(value) if value is not None else None,
                last_changed=changed.get(variable.name),
                content_problem=problem,
                token_check=check,
            )
        )
    return result, history_note
