"""References between objects, checked the way the controllers resolve them: the Secrets, ConfigMaps and claims a
rendered pod reads, chart sources, dependsOn, secret stores and issuers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ocw.check.inventory import Inventory, Release
from ocw.findings import Finding, about
from ocw.flux.kustomization import FluxKustomization
from ocw.install.host import HostCluster
from ocw.kube.manifest import Manifest, mapping, mappings
from ocw.kube.pod import Workload

CERTIFICATE_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})


def check_references(inventory: Inventory, kustomizations: list[FluxKustomization], host: HostCluster) -> list[Finding]:
    findings: list[Finding] = []
    for release in inventory.releases:
        for work in release.workloads:
            findings.extend(_pod_reads(inventory, release, work))
            findings.extend(_claims(inventory, release, work))
    findings.extend(_chart_refs(inventory))
    findings.extend(_depends_on(inventory, kustomizations, host))
    findings.extend(_stores_and_issuers(inventory, host))
    return findings


def secret_keys(inventory: Inventory, namespace: str | None, name: str) -> tuple[Manifest | None, set[str] | None]:
    """The producer of a Secret and the keys it will hold (None when they cannot be known offline)."""
    external = inventory.external_secret(namespace, name)
    if external is not None:
        spec = external.spec
        template = mapping(mapping(spec.get("target")).get("template"))
        if template.get("templateFrom") or (spec.get("dataFrom") and not template.get("data")):
            return external, None
        if template.get("data"):
            return external, {str(k) for k in mapping(template["data"])}
        return external, {str(d.get("secretKey")) for d in mappings(spec.get("data"))}
    secret = inventory.get("Secret", namespace, name)
    if secret is not None:
        return secret, {str(k) for k in [*mapping(secret.obj.get("data")), *mapping(secret.obj.get("stringData"))]}
    for certificate in inventory.of_kind("Certificate"):  # cert-manager writes the key pair to spec.secretName
        if certificate.namespace == namespace and certificate.spec.get("secretName") == name:
            return certificate, set(CERTIFICATE_KEYS)
    return None, None


@dataclass(frozen=True)
class Read:
    """A Secret or ConfigMap a pod needs to start: its kind, name, the key (None: the whole object) and where."""

    kind: str
    name: str
    key: str | None
    where: str


def reads(work: Workload) -> list[Read]:
    """What the kubelet must find before the pod starts; `optional` references are left out."""
    found: list[Read] = []
    for container in work.all_containers:
        for variable in container.env:
            for kind, ref in (("Secret", variable.secret_ref), ("ConfigMap", variable.config_map_ref)):
                if ref is not None and not ref.optional:
                    found.append(Read(kind, ref.name, ref.key, f"{container.name} env {variable.name}"))
        for source in container.env_from:
            if not source.optional:
                found.append(Read(source.kind, source.name, None, f"{container.name} envFrom"))
    for volume in work.volumes:
        if volume.type in ("secret", "configMap") and not volume.optional and volume.source:
            kind = "Secret" if volume.type == "secret" else "ConfigMap"
            keys: list[str | None] = [key for key, _ in volume.items] or [None]
            found.extend(Read(kind, volume.source, key, f"volume {volume.name}") for key in keys)
    return found


def _pod_reads(inventory: Inventory, release: Release, work: Workload) -> Iterator[Finding]:
    namespace = work.namespace
    subject = f"{release.helmrelease.ref} {work.kind} {work.name}"
    for read in reads(work):
        if read.kind == "Secret":
            source, keys = secret_keys(inventory, namespace, read.name)
            if source is None:
                yield about(
                    release.helmrelease,
                    "link-secret-ref",
                    f"{read.where} reads Secret {read.name}, which no ExternalSecret in {namespace} produces "
                    f"(spec.target.name) and the tree does not create: the pod would stay in "
                    f"CreateContainerConfigError. Fix the name or add the ExternalSecret",
                    label=subject,
                )
            elif read.key is not None and keys is not None and read.key not in keys:
                yield about(
                    release.helmrelease,
                    "link-secret-ref",
                    f"{read.where} reads key {read.key} of Secret {read.name}, but {source.ref} gives it only "
                    f"{', '.join(sorted(keys)) or 'no keys'}: add {read.key} to its target.template.data (or "
                    f"data[].secretKey), or read an existing key",
                    label=subject,
                )
            continue
        configmap = inventory.get("ConfigMap", namespace, read.name)
        if configmap is None:
            yield about(
                release.helmrelease,
                "link-configmap",
                f"{read.where} reads ConfigMap {read.name}, which the tree does not create in {namespace}: fix the "
                f"name or add the ConfigMap (e.g. a configMapGenerator)",
                label=subject,
            )
            continue
        data_keys = {*mapping(configmap.obj.get("data")), *mapping(configmap.obj.get("binaryData"))}
        if read.key is not None and read.key not in data_keys:
            yield about(
                release.helmrelease,
                "link-configmap",
                f"{read.where} reads key {read.key} of ConfigMap {read.name}, which has only "
                f"{', '.join(sorted(str(k) for k in data_keys))}",
                label=subject,
            )


def _claims(inventory: Inventory, release: Release, work: Workload) -> Iterator[Finding]:
    for volume in work.volumes:
        if volume.type != "persistentVolumeClaim" or not volume.source:
            continue
        if inventory.get("PersistentVolumeClaim", work.namespace, volume.source) is None:
            claims = ", ".join(m.name for m in inventory.of_kind("PersistentVolumeClaim")) or "none"
            yield about(
                release.helmrelease,
                "link-pvc",
                f"{work.kind} {work.name} volume {volume.name} claims {volume.source}, which is not a PVC the tree "
                f"creates in {work.namespace} (PVCs: {claims}): the pod would stay Pending",
            )


def _chart_refs(inventory: Inventory) -> Iterator[Finding]:
    for helmrelease in (m for m in inventory.tree if m.kind == "HelmRelease"):
        ref = helmrelease.spec.get("chartRef")
        if not isinstance(ref, dict):
            continue
        kind = str(ref.get("kind"))
        namespace = str(ref.get("namespace") or helmrelease.namespace)
        if inventory.get(kind, namespace, str(ref.get("name"))) is None:
            known = ", ".join(m.name for m in inventory.of_kind(kind) if m.namespace == namespace) or "none"
            yield about(
                helmrelease,
                "link-chart-ref",
                f"chartRef names {kind} {namespace}/{ref.get('name')}, which the tree does not create ({kind}s in "
                f"{namespace}: {known})",
            )


def _depends_on(inventory: Inventory, kustomizations: list[FluxKustomization], host: HostCluster) -> Iterator[Finding]:
    known = {(ks.namespace, ks.name) for ks in kustomizations} | {("flux-system", n) for n in host.kustomizations}
    hint = f" Host Kustomizations: {', '.join(sorted(host.kustomizations))}" if host.kustomizations else ""
    for ks in kustomizations:
        for ks_namespace, name in ks.depends_on_refs:
            if (ks_namespace, name) not in known:
                yield Finding(
                    str(ks.source_file),
                    "link-depends-on",
                    f"Kustomization/{ks.namespace}/{ks.name}",
                    f"dependsOn {ks_namespace}/{name}: no Flux Kustomization of that name and namespace in the graph"
                    f"{' or the host cluster' if host.kustomizations else ''}, so this one would wait forever.{hint}",
                    owner=ks.name,
                )
    for helmrelease in (m for m in inventory.tree if m.kind == "HelmRelease"):
        for dependency in mappings(helmrelease.spec.get("dependsOn")):
            namespace = dependency.get("namespace") or helmrelease.namespace
            if inventory.get("HelmRelease", namespace, str(dependency.get("name"))) is None:
                yield about(
                    helmrelease,
                    "link-depends-on",
                    f"dependsOn HelmRelease {namespace}/{dependency.get('name')}, which the tree does not create",
                )


def _stores_and_issuers(inventory: Inventory, host: HostCluster) -> Iterator[Finding]:
    # Only a described cluster has a store and an issuer to suggest.
    store = "the host's store is ClusterSecretStore doppler-secrets" if host.repository else None
    issuer = "the host's issuer is ClusterIssuer letsencrypt-production" if host.repository else None
    for manifest in inventory.tree:
        # secretStoreRef is optional: data and dataFrom entries may name their own store or a generator.
        if manifest.kind == "ExternalSecret" and isinstance(manifest.spec.get("secretStoreRef"), dict):
            yield from _scoped_ref(inventory, manifest, ("secretStoreRef", "SecretStore"), "link-secret-store", store)
    for manifest in inventory.of_kind("Certificate"):
        yield from _scoped_ref(inventory, manifest, ("issuerRef", "Issuer"), "link-issuer", issuer)


def _scoped_ref(
    inventory: Inventory, manifest: Manifest, reference: tuple[str, str], rule: str, known: str | None
) -> Iterator[Finding]:
    """A reference (spec field, default kind) to a namespaced kind or its cluster-scoped `Cluster<kind>`."""
    field, kind = reference
    ref = mapping(manifest.spec.get(field))
    named = str(ref.get("kind", kind))
    namespace = None if named == f"Cluster{kind}" else manifest.namespace
    if inventory.get(named, namespace, str(ref.get("name"))) is None:
        hint = f" ({known})" if known else ""
        yield about(manifest, rule, f"{field} names {named} {ref.get('name')}, which does not exist{hint}")
