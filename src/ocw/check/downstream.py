"""Findings that are only the consequence of another: an undefined variable that Flux (and so the check) replaced by
an empty string breaks whatever field held it. The variable is reported once, as `flux-undefined-variable`; the
schema and link findings about the blanked fields of that object are left out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ocw.findings import Finding
from ocw.flux.build import BuiltKustomization

SCHEMA_RULES = frozenset({"schema-core", "schema-crd", "schema-values", "schema-pod"})
LINK_PREFIX = "link-"


def _path(message: str) -> str:
    """The object path a schema finding names ("spec/x: ...", "spec.values: x/y: ..."), the top level as ""."""
    prefix = ""
    if message.startswith("spec.values: "):
        message = message.removeprefix("spec.values: ")
        prefix = "spec/values"
    head = message.split(": ", 1)[0]
    if head == "(top level)":
        return prefix
    return f"{prefix}/{head}" if prefix else head


def _related(path: str, blanked: Iterable[str]) -> bool:
    return any(path == b or path.startswith(b + "/") or b.startswith(path + "/") or not path for b in blanked)


def without_consequences(findings: Sequence[Finding], built: Iterable[BuiltKustomization]) -> list[Finding]:
    blanks: dict[tuple[str, str], set[str]] = {}
    for item in built:
        for key, paths in item.blanks.items():
            blanks.setdefault(key, set()).update(paths)
    if not blanks:
        return list(findings)
    kept: list[Finding] = []
    for finding in findings:
        ref = finding.object.split(" ", 1)[0]
        blanked = blanks.get((finding.file, ref))
        if blanked and finding.rule in SCHEMA_RULES and _related(_path(finding.message), blanked):
            continue
        if blanked and finding.rule.startswith(LINK_PREFIX):
            continue
        kept.append(finding)
    return kept
