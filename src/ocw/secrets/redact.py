"""Keeping secret values out of anything ocw prints: messages from other programs pass through here first."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ocw import secret_values

REDACTED = "[redacted]"
# GitHub token shapes: classic, OAuth, user-to-server, server-to-server and refresh tokens (`gh[opsur]_` and at least 30
# characters; GitHub's are 36), and fine-grained PATs (`github_pat_`, then 22 characters, `_` and 59 more: the
# shortest prefix that is still unmistakable is enough to catch one cut short).
GITHUB_TOKEN = re.compile(r"\b(gh[opsur]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")
# Shorter values (empty strings, "true") would redact ordinary words and are no secret anyway.
_MIN_SECRET_LENGTH = secret_values.MIN_LENGTH


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        # A JSON document also appears escaped inside other JSON (an API error echoing a request).
        escaped = secret.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
    return text


def mask_tokens(text: str) -> str:
    """The text with every GitHub-token-shaped string cut to its first four characters: a report can name where a
    token sits without carrying it."""
    return GITHUB_TOKEN.sub(lambda m: m.group(0)[:4] + "…(redacted)", text)
