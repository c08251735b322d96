"""Flux's graph, followed the way the controllers follow it: from the entry point, build each Kustomization in its
source's artifact (ocw.flux.sources), take the Kustomization objects each build yields (with the namespace, patches
and substitution their parent gave them) and build those in turn, until nothing new appears.

Variables for `postBuild.substituteFrom` come from the ConfigMaps and Secrets the graph creates, in the
Kustomization's namespace. Kubernetes semantics are applied last: a cluster-scoped object has no namespace, a
namespaced one needs one, and no two Kustomizations may apply the same object.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ocw.apis import RepositoryCRDs, group_of, scope_of
from ocw.findings import Finding, Severity
from ocw.flux.artifact import Artifact, Workspace
from ocw.flux.bootstrap import (
    LOOKED_FOR,
    Bootstrap,
    Document,
    Source,
    choose,
    entry_point,
    fallback_entries,
    find,
    source_of,
)
from ocw.flux.build import BuiltKustomization, Manifest, Prepared, RawBuild, build_many, prepare
from ocw.flux.build_cache import BuildCache
from ocw.flux.fields import mapping
from ocw.flux.kustomization import FluxKustomization, is_flux_kustomization
from ocw.flux.postbuild import post_build
from ocw.flux.repo_vars import RepoVars, SourceRef
from ocw.flux.sources import Sources

MAX_LISTED = 12
PRUNE_KEY = "kustomize.toolkit.fluxcd.io/prune"
PRUNE_DISABLED = "disabled"


class NothingToFollow(Exception):
    """No bootstrap and no Flux Kustomization: there is nothing Flux would apply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Entry:
    roots: list[FluxKustomization]
    sources: list[Source] = field(default_factory=list)
    bootstrap: Bootstrap | None = None
    findings: list[Finding] = field(default_factory=list)
    # Folders the other clusters' bootstraps build: their Kustomizations are not "unreached".
    elsewhere: list[PurePosixPath] = field(default_factory=list)
    # Without a bootstrap, a source the repository does not define is taken to be the repository itself.
    lenient_sources: bool = False
    # Entry points for folders, built only when the graph reaches none of the Kustomizations written in them.
    deferred: list[FluxKustomization] = field(default_factory=list)
    # With --path, what the check looks after: Kustomizations elsewhere are not "unreached".
    within: PurePosixPath | None = None


@dataclass
class Graph:
    kustomizations: list[FluxKustomization]
    built: list[BuiltKustomization]
    findings: list[Finding]
    repo_vars: RepoVars
    crds: RepositoryCRDs
    bootstrap: Bootstrap | None
    repository_urls: list[str]  # the URLs this repository is known by (normalised)


def entry_for(
    repo: Path,
    documents: Sequence[Document],
    files: Iterable[PurePosixPath] = (),
    *,
    cluster: str | None = None,
    path: PurePosixPath | None = None,
) -> Entry:
    """Where to start: --path, else the bootstrap (--cluster picks one), else the Kustomizations as written.
    Raises NothingToFollow when the repository holds neither a bootstrap nor a Flux Kustomization."""
    bootstraps = find(documents, files)
    if path is not None:
        if not (repo / path).is_dir():
            raise NothingToFollow(f"--path {path}: expected a folder of the repository, found none at {repo / path}")
        return Entry([entry_point(path)], lenient_sources=True, within=path)
    chosen = choose(bootstraps, cluster)
    if chosen is not None:
        others = [p for b in bootstraps if b is not chosen for p in b.paths]
        return Entry(list(chosen.roots), list(chosen.sources), chosen, elsewhere=others)
    folders, lone = fallback_entries(repo, documents)
    if not folders and not lone:
        raise NothingToFollow(
            "found no Flux bootstrap and no Flux Kustomization in the repository. Looked for: "
            + "; ".join(LOOKED_FOR)
            + "; and for Kustomization objects (kustomize.toolkit.fluxcd.io) in any YAML file"
        )
    # Kustomizations no kustomization lists are applied as written; a folder that lists some is built only when
    # none of them is reached from those (it is then applied by something the repository does not show).
    roots = [
        FluxKustomization.from_object(d.obj, Path(d.file), namespace="flux-system")
        for d in documents
        if d.file in lone and is_flux_kustomization(d.obj)
    ]
    sources = [s for d in documents if d.file in lone and (s := source_of(d.obj, str(d.file), "flux-system"))]
    where = ", ".join(str(p) for p in [*lone, *folders][:MAX_LISTED])
    finding = Finding(
        str([*lone, *folders][0]),
        "flux-bootstrap",
        "-",
        f"no Flux bootstrap found ({'; '.join(LOOKED_FOR)}): checking the Flux Kustomizations from where they are "
        f"written, as if applied from {where}. Pass --cluster NAME or --path DIR to start where Flux starts",
        severity=Severity.WARNING,
    )
    deferred = [entry_point(folder) for folder in folders]
    return Entry(roots, sources, None, [finding], lenient_sources=True, deferred=deferred)


def follow(
    repo: Path,
    entry: Entry,
    documents: Sequence[Document],
    file_vars: Mapping[str, str],
    workspace: Workspace,
    *,
    files: Sequence[PurePosixPath] | None = None,
) -> Graph:
    """Flux's graph from entry; `files` are the repository's (repository_files), listed here unless given."""
    walk = _Walk(repo, entry, file_vars, workspace, files)
    walk.run(entry.roots)
    for folder_root in entry.deferred:
        written = [
            d
            for d in documents
            if is_flux_kustomization(d.obj) and d.file.is_relative_to(folder_root.path.removeprefix("./"))
        ]
        if not any(walk.reached(d) for d in written):
            walk.run([folder_root])
    walk.close()
    built_all: list[BuiltKustomization] = []
    for ks_id in walk.order:
        raw = walk.raws[ks_id]
        first = walk.discovered[ks_id]
        variables, unknown = _variables(raw.kustomization, walk.repo_vars, file_vars)
        same = variables == first.variables and unknown == first.unknown_sources
        built_all.append(first if same else post_build(raw, variables, unknown))
    findings = [*entry.findings, *walk.sources.skipped_findings()]
    findings.extend(apply_scopes(built_all, walk.crds))
    findings.extend(_duplicates(built_all))
    visible = [d for d in documents if walk.sources.visible(d.file) and not walk.reached(d)]
    findings.extend(_unreached(visible, entry))
    reached = [b.kustomization for b in built_all]
    return Graph(reached, built_all, findings, walk.repo_vars, walk.crds, entry.bootstrap, walk.sources.urls)


class _Walk:
    """The breadth-first walk: each round builds, in parallel, every Kustomization the previous round yielded."""

    def __init__(
        self,
        repo: Path,
        entry: Entry,
        file_vars: Mapping[str, str],
        workspace: Workspace,
        files: Sequence[PurePosixPath] | None,
    ) -> None:
        self.sources = Sources(repo, workspace, entry, files)
        self.file_vars = file_vars
        self.workspace = workspace
        self.repo_vars = RepoVars(root=repo)
        self.crds = RepositoryCRDs()
        self.raws: dict[str, RawBuild] = {}
        self.discovered: dict[str, BuiltKustomization] = {}
        self.order: list[str] = []
        self._queued: set[str] = set()
        self._written: set[tuple[str, str]] = set()  # (file, name as written) of every Kustomization reached
        self._pool = ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2))
        self.build_cache = BuildCache()

    def close(self) -> None:
        self._pool.shutdown()
        if self.build_cache.stored:
            self.build_cache.prune()

    def reached(self, document: Document) -> bool:
        name = str(mapping(document.obj, "metadata").get("name", ""))
        return (str(document.file), name) in self._written

    def run(self, roots: Iterable[FluxKustomization]) -> None:
        pending = [ks for ks in roots if self._queue(ks, ks.name)]
        while pending:
            resolved = [(ks, self.sources.resolve(ks, final=False)) for ks in pending]
            if all(r is None for _, r in resolved):
                resolved = [(ks, self.sources.resolve(ks, final=True)) for ks, _ in resolved]
            ready = [(ks, r) for ks, r in resolved if r is not None]
            pending = [ks for ks, r in resolved if r is None]
            results = self._build(ready)
            for raw in results:
                self.raws[raw.kustomization.id] = raw
                self.order.append(raw.kustomization.id)
                _register(raw, self.sources, self.repo_vars, self.crds)
            for raw in results:
                built = _finish(raw, self.repo_vars, self.file_vars)
                self.discovered[raw.kustomization.id] = built
                for manifest in built.manifests:
                    if not is_flux_kustomization(manifest.obj):
                        continue
                    child = FluxKustomization.from_object(
                        manifest.obj, Path(manifest.file), applied_by=raw.kustomization.id
                    )
                    written = str(mapping(manifest.raw, "metadata").get("name", child.name))
                    if self._queue(child, written):
                        pending.append(child)

    def _build(self, ready: Sequence[tuple[FluxKustomization, Artifact | str]]) -> list[RawBuild]:
        """The round's builds, in order: what the build cache holds, and a few kustomize processes in parallel, each
        building a share of the others."""
        results: dict[str, RawBuild] = {}
        prepared: list[Prepared] = []
        keys: dict[str, str] = {}
        for ks, source in ready:
            if isinstance(source, str):
                results[ks.id] = _unbuilt(ks, source)
                continue
            item = prepare(ks, source, self.workspace, view=False)  # a cached build needs no overlay
            if isinstance(item, RawBuild):
                results[ks.id] = item
                continue
            key = self.build_cache.key(item)
            cached = self.build_cache.load(key, item) if key is not None else None
            if cached is not None:
                results[ks.id] = cached
                continue
            if key is not None:
                keys[ks.id] = key
            prepared.append(item)
        for item in prepared:  # here, one by one: an overlay may change the artifact's folders above it
            item.make_view(self.workspace)
        for chunk in self._pool.map(lambda chunk: build_many(chunk, self.workspace), _batches(prepared)):
            for raw in chunk:
                results[raw.kustomization.id] = raw
                if raw.kustomization.id in keys:
                    self.build_cache.store(keys[raw.kustomization.id], raw)
        return [results[ks.id] for ks, _ in ready]

    def _queue(self, ks: FluxKustomization, written_name: str) -> bool:
        self._written.add((str(ks.source_file), written_name))
        if ks.id in self._queued:
            return False
        self._queued.add(ks.id)
        return True


def _batches(prepared: Sequence[Prepared]) -> list[list[Prepared]]:
    """The builds of a round in batches for one kustomize process each: at least one per CPU, and never two
    Kustomizations of the same targetNamespace in one batch (templates give their objects the same names before
    substitution, `${APP}`, which kustomize refuses to hold twice)."""
    by_namespace: dict[str | None, list[Prepared]] = {}
    for item in prepared:
        by_namespace.setdefault(item.kustomization.target_namespace, []).append(item)
    alone = by_namespace.pop(None, [])
    count = max([1, min(len(prepared), os.cpu_count() or 1), *(len(group) for group in by_namespace.values())])
    batches: list[list[Prepared]] = [[] for _ in range(count)]
    for group in by_namespace.values():
        for index, item in enumerate(group):
            batches[index].append(item)
    for item in alone:
        min(batches, key=len).append(item)
    return [batch for batch in batches if batch]


def _unbuilt(ks: FluxKustomization, reason: str) -> RawBuild:
    raw = RawBuild(ks)
    if reason != "its source is not this repository":  # that one is a warning of the source's
        raw.findings.append(
            Finding(
                str(ks.source_file), "flux-source", f"Kustomization/{ks.namespace}/{ks.name}", f"not built: {reason}"
            )
        )
    return raw


def _register(raw: RawBuild, sources: Sources, repo_vars: RepoVars, crds: RepositoryCRDs) -> None:
    """What the build creates that other builds read: sources, substituteFrom ConfigMaps and Secrets, CRDs."""
    for item in raw.objects:
        obj = item.obj
        namespace = mapping(obj, "metadata").get("namespace")
        crds.add(obj, item.file)
        if (
            namespace
            and obj.get("kind") == "ArtifactGenerator"
            and str(obj.get("apiVersion", "")).startswith("source.extensions.fluxcd.io/")
        ):
            sources.add_generator(obj, str(namespace), item.file)
        if namespace:
            repo_vars.add(obj, str(namespace), item.file)
            source = source_of(obj, item.file)
            if source is not None:
                sources.add(source)


def _variables(
    ks: FluxKustomization, repo_vars: RepoVars, file_vars: Mapping[str, str]
) -> tuple[dict[str, str], list[SourceRef]]:
    if not ks.has_post_build:
        return {}, []
    own, unknown = repo_vars.resolve(ks.namespace, ks.substitute_from)
    # postBuild.substitute wins over substituteFrom, as in kustomize-controller; --vars stand in between.
    return {**own, **file_vars, **ks.substitute}, unknown


def _finish(raw: RawBuild, repo_vars: RepoVars, file_vars: Mapping[str, str]) -> BuiltKustomization:
    variables, unknown = _variables(raw.kustomization, repo_vars, file_vars)
    return post_build(raw, variables, unknown)


def apply_scopes(built: Iterable[BuiltKustomization], crds: RepositoryCRDs) -> list[Finding]:
    """A cluster-scoped object has no namespace (the API server drops what kustomize stamped on it); a namespaced
    one without a namespace fails the apply ("namespace not specified"). Run again once the charts' CRDs are known:
    it changes only what they tell, and repeats the same findings."""
    findings: list[Finding] = []
    for item in built:
        for manifest in item.manifests:
            scope = scope_of(manifest.api_version, manifest.kind, crds)
            if scope == "Cluster" and manifest.namespace is not None:
                metadata = mapping(manifest.obj, "metadata")
                metadata.pop("namespace", None)
                manifest.obj = {**manifest.obj, "metadata": metadata}
            elif scope == "Namespaced" and not manifest.namespace:
                ks = item.kustomization
                findings.append(
                    Finding(
                        manifest.file,
                        "flux-namespace",
                        manifest.ref,
                        f"{manifest.kind} is namespaced and the object has no namespace, nor does Kustomization "
                        f'{ks.name} ({ks.source_file}) give one with targetNamespace: Flux fails with "namespace not '
                        f'specified". Set metadata.namespace, a namespace in its kustomization.yaml, or the '
                        f"Kustomization's targetNamespace",
                    )
                )
    return findings


def _duplicates(built: Iterable[BuiltKustomization]) -> list[Finding]:
    owners: dict[tuple[str, str, str, str], list[tuple[FluxKustomization, Manifest]]] = {}
    for item in built:
        for manifest in item.manifests:
            key = (group_of(manifest.api_version), manifest.kind, manifest.namespace or "", manifest.name)
            owners.setdefault(key, []).append((item.kustomization, manifest))
    findings: list[Finding] = []
    for entries in owners.values():
        distinct = {ks.id: (ks, m) for ks, m in entries}
        if len(distinct) < 2:
            continue
        first = next(iter(distinct.values()))[1]
        names = " and ".join(f"Kustomization {ks.id} ({m.file}, via {ks.source_file})" for ks, m in distinct.values())
        same = all(m.obj == first.obj for _, m in distinct.values())
        # Flux never deletes an object that carries the prune guard (label or annotation), whoever pruned it.
        guarded = all(_prune_disabled(m) for _, m in distinct.values())
        pruning = (
            "its prune guard keeps either from deleting it"
            if guarded
            else "pruning the Kustomization whose label it carries deletes it from under the other"
        )
        findings.append(
            Finding(
                first.file,
                "flux-duplicate",
                first.ref,
                f"applied by {names}{' (identical copies)' if same else ''}: each reconcile rewrites its "
                f"kustomize.toolkit.fluxcd.io/name label{'' if same else ' and its spec'}, and {pruning}. Keep it in "
                f"one Kustomization that the others dependOn",
            )
        )
    return findings


def _prune_disabled(manifest: Manifest) -> bool:
    return PRUNE_DISABLED in (manifest.labels.get(PRUNE_KEY), manifest.annotations.get(PRUNE_KEY))


def _unreached(missed_documents: Sequence[Document], entry: Entry) -> list[Finding]:
    missed = [
        d
        for d in missed_documents
        if is_flux_kustomization(d.obj)
        and not any(d.file.is_relative_to(p) for p in entry.elsewhere)
        and (entry.within is None or d.file.is_relative_to(entry.within))
    ]
    if not missed:
        return []
    listed = [f"{mapping(d.obj, 'metadata').get('name')} ({d.file})" for d in missed]
    more = f" and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED else ""
    return [
        Finding(
            str(missed[0].file),
            "flux-unreached",
            "-",
            f"{len(missed)} Flux Kustomization(s) in the repository that nothing deploys (no build of the graph "
            f"yields them): {', '.join(listed[:MAX_LISTED])}{more}. A folder's kustomization.yaml must list them, or "
            f"a build above failed",
            severity=Severity.WARNING,
        )
    ]
