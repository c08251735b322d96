"""Status conditions as controllers write them (`type`, `status`, `reason`, `message`, `observedGeneration`)."""

from __future__ import annotations

from typing import Any


def condition(obj: dict[str, Any], kind: str, conditions: list[Any] | None = None) -> dict[str, Any] | None:
    source = conditions if conditions is not None else (obj.get("status") or {}).get("conditions")
    for entry in source or []:
        if isinstance(entry, dict) and entry.get("type") == kind:
            return entry
    return None


def is_true(entry: dict[str, Any] | None) -> bool:
    return bool(entry) and str((entry or {}).get("status")) == "True"


def describe(kind: str, entry: dict[str, Any] | None) -> str:
    if not entry:
        return f"no {kind} condition"
    text = f"{kind}={entry.get('status')}"
    if entry.get("reason"):
        text += f" ({entry['reason']})"
    if entry.get("message"):
        text += f": {entry['message']}"
    return text


def current_generation(obj: dict[str, Any]) -> tuple[bool, str]:
    """Whether the controller has seen the latest spec (status.observedGeneration >= metadata.generation)."""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is None or observed is None:
        return True, ""
    if int(observed) >= int(generation):
        return True, f"generation {generation} observed"
    return False, f"generation {generation} not yet observed (status is for {observed})"
