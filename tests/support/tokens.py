"""Secrets for tests: made at run time, shaped like the real ones (so that a scanner or a redaction that looks for
the shape sees them), valid nowhere."""

from __future__ import annotations

import json
import secrets
import string

ALPHANUMERICS = string.ascii_letters + string.digits


def random_text(prefix: str = "", length: int = 36) -> str:
    """`prefix` and `length` random letters and digits: a GitHub token with prefix `ghp_`, a password without."""
    return prefix + "".join(secrets.choice(ALPHANUMERICS) for _ in range(length))


def copilot_document(token: str) -> str:
    """OpenCode's auth.json holding a GitHub Copilot login with `token`."""
    entry = {"access": token, "expires": 0, "refresh": token, "type": "oauth"}
    return json.dumps({"github-copilot": entry}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
