"""What the workspace's OpenCode container accepts as its server password (OPENCODE_SERVER_PASSWORD).

OpenCode serves everyone when the variable is empty ("server is unsecured"), and a short password falls to guessing
through the gateway. The container's start script (the component's scripts/opencode-serve) refuses to start with
one shorter than MIN_LENGTH; `ocw up` and `ocw secrets` apply the same rule before anything starts or is stored.
"""

from __future__ import annotations

MIN_LENGTH = 16


def password_problem(value: str | None) -> str | None:
    """Why the server would refuse this password, or None when it is accepted."""
    if not value:
        return "is empty"
    if len(value.encode()) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    return None
