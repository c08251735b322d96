"""The Secret an ExternalSecret produces, computed here from the provider's values (e.g. a local `KEY=value` file).

Follows external-secrets 1.x: `spec.data` entries fetch `remoteRef.key` into `secretKey`; a key the provider does not
have fails the sync (no Secret at all). With `target.template` (engine v2), each `template.data` entry is rendered
with the fetched data as `.`; `mergePolicy: Replace` (the default) keeps only the template's keys, `Merge` adds them
to the fetched data. Features this tree does not use (`dataFrom`, `templateFrom`, `remoteRef.property`, engine v1)
are refused with an error rather than approximated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ocw.errors import OcwError
from ocw.externalsecrets import gotemplate


@dataclass(frozen=True)
class SecretSource:
    """The fetch step: which provider key lands in which data key."""

    name: str
    remote_keys: dict[str, str]  # secretKey -> remoteRef.key


def _spec(external_secret: Mapping[str, Any]) -> dict[str, Any]:
    return dict(external_secret.get("spec") or {})


def _name(external_secret: Mapping[str, Any]) -> str:
    return str((external_secret.get("metadata") or {}).get("name", "?"))


def _unsupported(name: str, what: str) -> OcwError:
    return OcwError(
        f"ExternalSecret {name} uses {what}, which ocw cannot render locally",
        hint="use spec.data with remoteRef.key and a target.template (engineVersion v2) of {{ .KEY }} pipelines",
    )


def secret_source(external_secret: Mapping[str, Any]) -> SecretSource:
    name = _name(external_secret)
    spec = _spec(external_secret)
    if spec.get("dataFrom"):
        raise _unsupported(name, "spec.dataFrom")
    remote_keys: dict[str, str] = {}
    for entry in spec.get("data") or []:
        ref = entry.get("remoteRef") or {}
        if ref.get("property") or ref.get("version") or entry.get("sourceRef"):
            raise _unsupported(name, f"remoteRef.property/version or sourceRef (secretKey {entry.get('secretKey')})")
        remote_keys[str(entry["secretKey"])] = str(ref["key"])
    return SecretSource(name, remote_keys)


def fetch(source: SecretSource, provider: Mapping[str, str], provider_name: str) -> dict[str, str]:
    """The fetched data, or the error external-secrets would report: every remote key must exist."""
    missing = sorted({remote for remote in source.remote_keys.values() if remote not in provider})
    if missing:
        raise OcwError(
            f"{provider_name} lacks {', '.join(missing)}, which ExternalSecret {source.name} fetches "
            "(in the cluster the ExternalSecret would fail to sync and the pod would not start)",
            hint=f"add {' and '.join(missing)} to {provider_name} (an empty value is allowed: KEY=)",
        )
    return {secret_key: provider[remote] for secret_key, remote in source.remote_keys.items()}


def template_data(external_secret: Mapping[str, Any]) -> dict[str, list[gotemplate.Node]]:
    """Target Secret key -> parsed template, checked for what the local renderer supports."""
    name = _name(external_secret)
    target = _spec(external_secret).get("target") or {}
    template = target.get("template")
    if template is None:
        return {}
    if template.get("templateFrom"):
        raise _unsupported(name, "target.template.templateFrom")
    engine = template.get("engineVersion", "v2")
    if engine != "v2":
        raise _unsupported(name, f"template engineVersion {engine}")
    return {
        str(key): gotemplate.parse(str(text), f"ExternalSecret {name} target.template.data.{key}")
        for key, text in (template.get("data") or {}).items()
    }


def render_secret(
    external_secret: Mapping[str, Any], data: Mapping[str, str], only: set[str] | None = None
) -> dict[str, str]:
    """The target Secret's string data. `only` renders just those template keys (the caller leaves the rest out)."""
    name = _name(external_secret)
    templates = template_data(external_secret)
    if not templates:
        return dict(data)
    rendered = {
        key: gotemplate.execute(nodes, data, f"ExternalSecret {name} target.template.data.{key}")
        for key, nodes in templates.items()
        if only is None or key in only
    }
    template = (_spec(external_secret).get("target") or {}).get("template") or {}
    if template.get("mergePolicy", "Replace") == "Merge":
        return {**data, **rendered}
    return rendered
