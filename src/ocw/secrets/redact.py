"""Keeping secret values out of anything ocw prints: messages from other programs pass through here first."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
# Shorter values (empty strings, "true") would redact ordinary words and are no secret anyway.
_MIN_SECRET_LENGTH = 6


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        # A JSON document also appears escaped inside other JSON (an API error echoing a request).
        escaped = secret.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
    return text
