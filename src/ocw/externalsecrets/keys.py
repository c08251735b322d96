"""Which provider keys (Doppler variable names) an ExternalSecret reads: `data[].remoteRef.key`,
`dataFrom[].extract.key`, the names `dataFrom[].find` selects (`path` as a name prefix, `name.regexp`), and the names
its template uses (`{{ .NAME }}`: with `find`, the fetched keys keep their provider names).

A `find` selects whatever exists; only a name written out (a remote key, a template reference) shows that the
variable is expected to exist."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KeyReads:
    keys: frozenset[str]
    prefixes: frozenset[str]
    patterns: tuple[str, ...]
    referenced: frozenset[str] = frozenset()

    def names(self, key: str) -> bool:
        """The key is written out: a remote key, or a template reference."""
        return key in self.keys or key in self.referenced

    def selects(self, key: str) -> bool:
        """The key would be fetched if it existed."""
        return (
            key in self.keys
            or any(key.startswith(prefix) for prefix in self.prefixes)
            or any(_search(pattern, key) for pattern in self.patterns)
        )

    def describe(self) -> list[str]:
        return sorted(self.keys | self.referenced)


def _search(pattern: str, key: str) -> bool:
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return False


def key_reads(external_secret: Mapping[str, Any]) -> KeyReads:
    spec = external_secret.get("spec") if isinstance(external_secret.get("spec"), Mapping) else {}
    keys: set[str] = set()
    prefixes: set[str] = set()
    patterns: list[str] = []
    for entry in (spec or {}).get("data") or []:
        key = ((entry or {}).get("remoteRef") or {}).get("key") if isinstance(entry, Mapping) else None
        if key:
            keys.add(str(key))
    for entry in (spec or {}).get("dataFrom") or []:
        if not isinstance(entry, Mapping):
            continue
        extract = entry.get("extract") or {}
        if isinstance(extract, Mapping) and extract.get("key"):
            keys.add(str(extract["key"]))
        find = entry.get("find") or {}
        if isinstance(find, Mapping):
            if find.get("path"):
                prefixes.add(str(find["path"]))
            regexp = (find.get("name") or {}).get("regexp") if isinstance(find.get("name"), Mapping) else None
            if regexp:
                patterns.append(str(regexp))
    referenced = {
        dotted or indexed
        for text in template_data(external_secret).values()
        for dotted, indexed in _REFERENCE.findall(text)
    }
    return KeyReads(frozenset(keys), frozenset(prefixes), tuple(patterns), frozenset(referenced))


# `{{ .NAME }}`, `{{ .NAME | b64dec }}`, `{{ index . "NAME" }}`.
_REFERENCE = re.compile(r"\{\{-?\s*(?:\.([A-Za-z_][A-Za-z0-9_]*)|index\s+\.\s+\"([A-Za-z_][A-Za-z0-9_]*)\")")


def template_data(external_secret: Mapping[str, Any]) -> dict[str, str]:
    """Target Secret key -> template text (`spec.target.template.data`)."""
    spec = external_secret.get("spec") if isinstance(external_secret.get("spec"), Mapping) else {}
    target = (spec or {}).get("target") or {}
    data = (target.get("template") or {}).get("data") if isinstance(target, Mapping) else None
    return {str(k): str(v) for k, v in (data or {}).items()} if isinstance(data, Mapping) else {}
