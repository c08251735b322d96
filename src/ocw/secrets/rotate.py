"""`ocw secrets set WORKSPACE KEY`: the new value of one secret of one workspace, read from stdin or a hidden
prompt (never from the command line, where `ps` and the shell history would show it) and held to the same rules as
`ocw secrets init`."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Final, TextIO

from ocw.errors import OcwError
from ocw.password import MIN_LENGTH, password_problem
from ocw.secrets.copilot import default_auth_file, parse_auth_document, read_auth_file
from ocw.secrets.provision import check_github_token, generate_password
from ocw.secrets.targets import COPILOT_AUTH_JSON, GITHUB_PAT, PASSWORD, WorkspaceVariables

# What KEY may say for each role, besides the role itself and the workspace's Doppler variable name.
KEY_NAMES: Final = {
    "password": PASSWORD,
    "github-pat": GITHUB_PAT,
    "pat": GITHUB_PAT,
    "copilot": COPILOT_AUTH_JSON,
    "copilot-auth-json": COPILOT_AUTH_JSON,
}
Prompt = Callable[[str], str]


def role_of(key: str, workspace: WorkspaceVariables) -> str:
    """The role KEY names: `password`, `github-pat` (`pat`), `copilot-auth-json` (`copilot`), the role in capitals,
    or the workspace's own Doppler variable name."""
    wanted = key.strip()
    for role, name in workspace.by_role.items():
        if wanted in (role, name) or wanted.upper().replace("-", "_") == role:
            return role
    named = KEY_NAMES.get(wanted.lower())
    if named is None:
        known = ", ".join(sorted({*KEY_NAMES, *workspace.by_role.values()}))
        raise OcwError(f"no secret {key!r} in workspace {workspace.workspace}", hint=f"KEY is one of: {known}")
    return named


def _line_from(stdin: TextIO) -> str:
    return stdin.read().rstrip("\r\n")


def new_password(stdin: TextIO, *, generate: bool, workspace: str, prompt: Prompt = getpass.getpass) -> str:
    if generate:
        return generate_password()
    if stdin.isatty():
        value = prompt(f"new server password for {workspace} (input hidden): ")
        if prompt("again: ") != value:
            raise OcwError("the two passwords differ; nothing was written", hint="run the command again")
    else:
        value = _line_from(stdin)
    problem = password_problem(value)
    if problem is not None:
        raise OcwError(
            f"the new password for {workspace} {problem}: the workspace refuses to start with a password under "
            f"{MIN_LENGTH} characters. Nothing was written",
            hint="give a longer one, or pass --generate for a random one of 32 characters",
        )
    return value


def new_github_token(stdin: TextIO, *, workspace: str, prompt: Prompt = getpass.getpass) -> str:
    text = prompt(f"GitHub token for {workspace} (input hidden): ") if stdin.isatty() else _line_from(stdin)
    return check_github_token(text, workspace)


def new_copilot_login(stdin: TextIO, *, auth_file: Path | None) -> str:
    """The Copilot entry of an auth.json piped in, else of --auth-file (default OpenCode's own)."""
    if auth_file is None and not stdin.isatty():
        text = stdin.read()
        if text.strip():
            return parse_auth_document(text, "stdin").document()
    return read_auth_file(auth_file or default_auth_file()).document()
