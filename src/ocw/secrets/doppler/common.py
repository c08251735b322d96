"""What the two Doppler transports share: the public API host, value checks, reading secrets documents and the
config change log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ocw.errors import OcwError

DEFAULT_API_HOST = "https://api.doppler.com"


def require_value(name: str, value: str) -> None:
    if not value:
        raise OcwError(f"refusing to write an empty value to {name}: the workspace would start without it")


def changes_from_logs(logs: Any, names: Iterable[str]) -> dict[str, str]:
    """Newest change time per secret name from a config log list (newest first); only names and times are read."""
    wanted = set(names)
    found: dict[str, str] = {}
    for entry in logs if isinstance(logs, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("created_at"), str):
            continue
        for change in entry.get("diff") or []:
            name = change.get("name") if isinstance(change, dict) else None
            if isinstance(name, str) and name in wanted and name not in found:
                found[name] = entry["created_at"]
    return found


def values_from_secrets(document: Any, wanted: Iterable[str]) -> dict[str, str]:
    """Name -> value from a secrets document (`{NAME: {"raw": ..., "computed": ...}}`), for the wanted names only."""
    names = set(wanted)
    values: dict[str, str] = {}
    for name, entry in (document if isinstance(document, dict) else {}).items():
        if name in names and isinstance(entry, dict):
            value = entry.get("raw", entry.get("computed"))
            if isinstance(value, str):
                values[name] = value
    return values
