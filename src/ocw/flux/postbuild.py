"""What kustomize-controller does with each object a build yields (its `build()` after kustomize): decryption,
postBuild substitution (only when `spec.postBuild` is set, and only with variables), then `commonMetadata`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ocw.findings import Finding, Severity
from ocw.flux.build import BuiltKustomization, Manifest, RawBuild, RawObject, strip_marker, strip_origin
from ocw.flux.fields import mapping
from ocw.flux.kustomization import FluxKustomization
from ocw.flux.repo_vars import SourceRef
from ocw.flux.sops import is_sops_encrypted, without_sops
from ocw.flux.substitution import SubstitutionError, is_disabled, substitute
from ocw.yamlio import load_all_fast


def post_build(
    raw: RawBuild,
    variables: Mapping[str, str],
    unknown_sources: Sequence[SourceRef] = (),
) -> BuiltKustomization:
    """Decryption, substitution and commonMetadata on every object, as kustomize-controller applies them."""
    ks = raw.kustomization
    built = BuiltKustomization(ks, variables=dict(variables), unknown_sources=list(unknown_sources))
    built.findings.extend(raw.findings)
    strategy = str(mapping(ks.spec, "postBuild").get("substituteStrategy") or "WithVariables")
    substitutes = ks.has_post_build and (bool(variables) or strategy == "Always")
    for item in raw.objects:
        obj = item.obj
        ref = _ref(obj)
        if not obj.get("apiVersion") or not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
            built.findings.append(
                Finding(item.file, "kustomize-build", ref, "failed to decode Kubernetes apiVersion, kind and name")
            )
            continue
        if is_sops_encrypted(obj):
            if not ks.spec.get("decryption"):
                built.findings.append(
                    Finding(
                        item.file,
                        "flux-decryption",
                        ref,
                        f"the object is SOPS-encrypted but {ks.source_file} (Kustomization {ks.name}) sets no "
                        f"spec.decryption: Flux applies it as written and the API server refuses its `sops` field. "
                        f"Add spec.decryption (provider: sops) to the Kustomization",
                    )
                )
            obj = without_sops(obj)
        elif substitutes and not is_disabled(obj):
            obj = _substituted(item, obj, variables, built)
        built.manifests.append(
            Manifest(obj=_with_common_metadata(obj, ks), kustomization=ks.name, file=item.file, raw=item.obj)
        )
    return built


def _ref(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)  # noqa: S101 - narrowed above
    namespace = metadata.get("namespace")
    name = metadata.get("name")
    return f"{obj.get('kind')}/{namespace}/{name}" if namespace else f"{obj.get('kind')}/{name}"


def _with_common_metadata(raw: dict[str, Any], ks: FluxKustomization) -> dict[str, Any]:
    common = mapping(ks.spec, "commonMetadata")
    if not common:
        return raw
    obj = dict(raw)
    metadata = mapping(obj, "metadata")
    for section in ("labels", "annotations"):
        if mapping(common, section):
            metadata[section] = {**mapping(metadata, section), **mapping(common, section)}
    obj["metadata"] = metadata
    return obj


def _substituted(
    item: RawObject, raw: dict[str, Any], variables: Mapping[str, str], built: BuiltKustomization
) -> dict[str, Any]:
    ks = built.kustomization
    # Substitution works on the text kustomize emitted, as kustomize-controller does: a `${VAR}` that becomes
    # `false` or `5` is then a boolean or a number, exactly as it will be in the cluster.
    try:
        result = substitute(item.text, variables)
    except SubstitutionError as exc:
        built.findings.append(Finding(item.file, "flux-substitution", _ref(raw), str(exc)))
        return raw
    if result.text == item.text:
        return raw  # nothing to substitute: the object as parsed already
    try:
        loaded = load_all_fast(result.text)
    except yaml.YAMLError as exc:
        message = f"the object is no longer valid YAML after substitution: {exc}"
        built.findings.append(Finding(item.file, "flux-substitution", _ref(raw), message))
        return raw
    if not loaded or not isinstance(loaded[0], dict):
        return raw
    substituted: dict[str, Any] = loaded[0]
    strip_origin(substituted, keep=item.keep_origin)
    strip_marker(substituted)
    ref = _ref(substituted)  # what the object is called in the cluster
    undefined = sorted(set(result.undefined))
    if undefined:
        built.blanks[(item.file, ref)] = _paths_using(raw, undefined)
    for name in undefined:
        if built.unknown_sources:
            # The variable may well come from a source the cluster creates (e.g. through an ExternalSecret).
            sources = ", ".join(str(s) for s in built.unknown_sources)
            built.findings.append(
                Finding(
                    item.file,
                    "flux-undefined-variable",
                    ref,
                    f"${{{name}}} is not defined in the repository; {ks.source_file} also substitutes from "
                    f"{sources}, which the repository does not create, so it may be defined there. Pass --vars "
                    f"with its variables to check it",
                    severity=Severity.WARNING,
                )
            )
            continue
        built.findings.append(
            Finding(
                item.file,
                "flux-undefined-variable",
                ref,
                f"${{{name}}} is defined neither in {ks.source_file} postBuild.substitute nor in its substituteFrom "
                f"sources (nor --vars): Flux would silently substitute an empty string. Define it, give a default "
                f"(${{{name}:=value}}), or escape it as $${{{name}}}",
            )
        )
    return substituted


def _paths_using(obj: Any, names: Sequence[str], prefix: str = "") -> set[str]:
    """The paths of string values (and keys) that use one of the variables."""
    found: set[str] = set()
    markers = tuple(f"${{{name}" for name in names)
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            path = f"{prefix}/{key}" if prefix else str(key)
            if any(m in str(key) for m in markers):
                found.add(path)
            found |= _paths_using(value, names, path)
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found |= _paths_using(value, names, f"{prefix}/{index}" if prefix else str(index))
    elif isinstance(obj, str) and any(m in obj for m in markers):
        found.add(prefix)
    return found
