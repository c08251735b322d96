"""Which ExternalSecret makes a Secret: the one in the Secret's namespace whose `spec.target.name` (by default its
own name) is the Secret's. The one place every caller (the link and workspace rules, `ocw up`, `ocw verify`)
looks it up."""

from __future__ import annotations

from collections.abc import Iterable

from ocw.kube.manifest import Manifest, mapping


def target_name(external_secret: Manifest) -> str:
    return str(mapping(external_secret.spec.get("target")).get("name") or external_secret.name)


def producer(manifests: Iterable[Manifest], namespace: str | None, secret: str) -> Manifest | None:
    return next(
        (m for m in manifests if m.kind == "ExternalSecret" and m.namespace == namespace and target_name(m) == secret),
        None,
    )
