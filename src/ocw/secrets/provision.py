"""The values `ocw secrets init` creates: a generated password, a GitHub token the user types or pipes in."""

from __future__ import annotations

import getpass
import secrets
import string
from collections.abc import Callable, Sequence
from typing import TextIO

from ocw.errors import OcwError

PASSWORD_LENGTH = 32
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """Letters and digits only: safe inside a Basic-auth header, a URL and a shell, ~190 bits at 32 characters."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def check_github_token(token: str, workspace: str) -> str:
    token = token.strip()
    if not token:
        raise OcwError(
            f"the GitHub token for {workspace} is empty",
            hint="create a fine-grained token with read access to the workspace repository and enter or pipe it in",
        )
    if any(ch.isspace() for ch in token) or not token.isprintable() or not token.isascii():
        raise OcwError(
            f"the GitHub token for {workspace} contains spaces or unprintable characters "
            f"({len(token)} characters read); a token is one word such as github_pat_… or ghp_…",
            hint="give one token per line on stdin, in the order of the workspaces listed",
        )
    return token


def read_github_tokens(
    workspaces: Sequence[str],
    stdin: TextIO,
    *,
    prompt: Callable[[str], str] = getpass.getpass,
) -> dict[str, str]:
    """One token per workspace: a hidden prompt on a terminal, else lines on stdin (one line serves them all)."""
    if not workspaces:
        return {}
    if stdin.isatty():
        return {ws: check_github_token(prompt(f"GitHub token for {ws} (input hidden): "), ws) for ws in workspaces}
    lines = [line.strip() for line in stdin.read().splitlines() if line.strip()]
    if not lines:
        raise OcwError(
            f"no GitHub token on stdin: one is needed for {', '.join(workspaces)}",
            hint="run in a terminal to be prompted, or pipe the token in (one line per workspace, or one for all)",
        )
    if len(lines) == 1:
        return {ws: check_github_token(lines[0], ws) for ws in workspaces}
    if len(lines) != len(workspaces):
        raise OcwError(
            f"expected {len(workspaces)} GitHub token line(s) on stdin (for {', '.join(workspaces)}) "
            f"or one for all, found {len(lines)}",
            hint="pipe one token per line in that order, or one token for every workspace",
        )
    return {ws: check_github_token(line, ws) for ws, line in zip(workspaces, lines, strict=True)}
