"""Build Flux Kustomizations as kustomize-controller does (its `build()`): the kustomization it generates, built by
kustomize in the source's artifact, each object with the file it came from. What follows the build, object by
object, is ocw.flux.postbuild: it needs the variables, which come from ConfigMaps and Secrets other builds create.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ocw import kustomize
from ocw.findings import Finding, Severity
from ocw.flux.artifact import Artifact, Workspace
from ocw.flux.fields import items
from ocw.flux.generator import GeneratorError, generate, kustomization_file, listed_paths
from ocw.flux.kustomization import FluxKustomization
from ocw.flux.repo_vars import SourceRef
from ocw.kube.manifest import Manifest
from ocw.yamlio import load_all_fast

__all__ = ["BuiltKustomization", "Manifest", "RawBuild", "RawObject", "build_many", "prepare"]

ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
# Put on every object of a build (and taken off again): tells which Kustomization of a batch build made it.
MARKER = "build.ocw.invalid/kustomization"


@dataclass
class RawObject:
    text: str  # the document as kustomize emitted it (origin annotation included)
    obj: dict[str, Any]  # parsed, origin annotation taken off unless the Kustomization asked for it
    file: str  # the repository file holding it
    keep_origin: bool = False  # the Kustomization asked for origin annotations itself


@dataclass
class RawBuild:
    kustomization: FluxKustomization
    objects: list[RawObject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class BuiltKustomization:
    kustomization: FluxKustomization
    manifests: list[Manifest] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    # substituteFrom sources this Kustomization reads that the repository does not create (made in the cluster).
    unknown_sources: list[SourceRef] = field(default_factory=list)
    # (file, object ref) -> paths ("spec/x/0/y") whose value an undefined variable turned blank.
    blanks: dict[tuple[str, str], set[str]] = field(default_factory=dict)


def _finding(ks: FluxKustomization, rule: str, message: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(str(ks.source_file), rule, f"Kustomization/{ks.namespace}/{ks.name}", message, severity=severity)


@dataclass
class Prepared:
    """A Kustomization ready for kustomize: the kustomization Flux generates for it, to be written in an overlay of
    its source's artifact (make_view) once it is built rather than taken from the build cache."""

    kustomization: FluxKustomization
    artifact: Artifact
    folder: PurePosixPath  # spec.path in the artifact
    keep_origin: bool
    marker: str  # the value of the MARKER annotation its build puts on every object
    file_name: str = ""  # the kustomization file written in the view
    text: str = ""  # what it holds
    _view: Path | None = None

    def make_view(self, workspace: Workspace) -> Path:
        """The overlay folder standing for the Kustomization's folder, made on the first call. Not thread-safe: it
        may change the artifact's folders above it."""
        if self._view is None:
            self._view = self.artifact.overlay(workspace, self.folder, self.file_name, self.text)
        return self._view

    @property
    def view(self) -> Path:
        if self._view is None:
            raise RuntimeError(f"no overlay made for {self.folder} yet: call make_view first")
        return self._view


def prepare(
    ks: FluxKustomization, artifact: Artifact, workspace: Workspace, *, view: bool = True
) -> Prepared | RawBuild:
    """What kustomize needs to build ks, with the overlay to build it in unless `view` is False (a build the cache
    may hold needs none), or a RawBuild holding why it cannot be built."""
    result = RawBuild(ks)
    relative = PurePosixPath(posixpath.normpath(ks.path.strip() or ".").lstrip("/"))
    if not ks.path or relative.parts[:1] == ("..",) or not artifact.has_dir(relative):
        result.findings.append(
            _finding(ks, "flux-path", f"spec.path {ks.path!r} is not a folder of its source ({ks.source})")
        )
        return result
    marker = str(workspace.number())
    try:
        generated = generate(artifact.root / relative, ks.spec, relative, (MARKER, marker))
    except GeneratorError as exc:
        file = artifact.repository_file(exc.file) if exc.file else str(ks.source_file)
        result.findings.append(Finding(file, "kustomize-build", _object(ks), f"kustomize build failed: {exc}"))
        return result
    if generated.remote:
        result.findings.append(
            _finding(
                ks,
                "kustomize-build",
                f"{relative}/{generated.file_name} builds {', '.join(generated.remote)} from the network; ocw check "
                f"works offline and fetches nothing, so this Kustomization is not checked",
                Severity.WARNING,
            )
        )
        return result
    prepared = Prepared(ks, artifact, relative, generated.origin_requested, marker, generated.file_name, generated.text)
    if view:
        prepared.make_view(workspace)
    return prepared


def build_many(prepared: Sequence[Prepared], workspace: Workspace) -> list[RawBuild]:
    """Build several Kustomizations with one kustomize process: starting kubectl costs far more than a build. A
    wrapper kustomization lists their overlays (with no transformer of its own, so each builds exactly as alone);
    when the whole fails (a build error, or two of them making the same object) the halves are built apart, down to
    single builds that report their own error."""
    if len(prepared) == 1:
        return [_build_one(prepared[0], workspace)]
    wrapper = workspace.new_folder("batch")
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(item.view, wrapper) for item in prepared],
        "buildMetadata": ["originAnnotations"],
    }
    (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        stream = kustomize.build(wrapper)
    except kustomize.KustomizeError as exc:
        # kustomize names the entry it failed on: build that one alone and the others again; else halve.
        entries = dict(zip(document["resources"], prepared, strict=True))
        failed = next((entries[m.group(1)] for m in _FAILED_ENTRY.finditer(str(exc)) if m.group(1) in entries), None)
        if failed is not None:
            others = [item for item in prepared if item is not failed]
            built = {r.kustomization.id: r for r in [*build_many(others, workspace), _build_one(failed, workspace)]}
            return [built[item.kustomization.id] for item in prepared]
        half = len(prepared) // 2
        return [*build_many(prepared[:half], workspace), *build_many(prepared[half:], workspace)]
    by_marker = {item.marker: item for item in prepared}
    results = {item.kustomization.id: RawBuild(item.kustomization) for item in prepared}
    for text, obj, origin in _documents(stream):
        item = by_marker.get(str(strip_marker(obj)))
        if item is None:  # an object the batch cannot attribute: build each alone
            return [_build_one(one, workspace) for one in prepared]
        path = PurePosixPath(posixpath.normpath(str(wrapper / origin))) if origin else None
        file = str(item.kustomization.source_file)
        if path is not None and path.is_relative_to(item.artifact.root):
            file = item.artifact.repository_file(str(path.relative_to(item.artifact.root)))
        elif path is not None and path.is_relative_to(item.view):  # the artifact's root, seen through a view
            file = item.artifact.repository_file(str(path.relative_to(item.view)))
        _append(results[item.kustomization.id], item, text, obj, file)
    return [results[item.kustomization.id] for item in prepared]


_FAILED_ENTRY = re.compile(r"accumulating resources from '([^']+)'")


def _build_one(item: Prepared, workspace: Workspace) -> RawBuild:
    result = RawBuild(item.kustomization)
    try:
        stream = kustomize.build(item.view)
    except kustomize.KustomizeError as exc:
        message = workspace.repository_paths(str(exc))
        file = _failing_file(message, item)
        result.findings.append(
            Finding(file, "kustomize-build", _object(item.kustomization), f"kustomize build failed: {message}")
        )
        return result
    for text, obj, origin in _documents(stream):
        strip_marker(obj)
        file = str(item.kustomization.source_file)
        if origin:
            file = item.artifact.repository_file(posixpath.normpath(str(item.folder / origin)))
        _append(result, item, text, obj, file)
    return result


def strip_marker(node: Any) -> str | None:
    """Take the batch marker off every annotations map of the object (commonAnnotations puts it on pod templates
    too); returns its value."""
    found: str | None = None
    if isinstance(node, dict):
        annotations = node.get("annotations")
        if isinstance(annotations, dict) and MARKER in annotations:
            found = str(annotations.pop(MARKER))
            if not annotations:
                del node["annotations"]
        for value in node.values():
            inner = strip_marker(value)
            found = found or inner
    elif isinstance(node, list):
        for value in node:
            inner = strip_marker(value)
            found = found or inner
    return found


def _documents(stream: str) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    for document in kustomize.split_documents(stream):
        loaded = load_all_fast(document)
        if loaded and isinstance(loaded[0], dict):
            yield document, loaded[0], _origin_path(loaded[0])


def _append(result: RawBuild, item: Prepared, text: str, obj: dict[str, Any], file: str) -> None:
    strip_origin(obj, keep=item.keep_origin)
    result.objects.append(RawObject(text, obj, file, item.keep_origin))


def _object(ks: FluxKustomization) -> str:
    return f"Kustomization/{ks.namespace}/{ks.name}"


_PATH_IN_MESSAGE = re.compile(r"[\w.-]+(?:/[\w.-]+)+")


def _failing_file(message: str, item: Prepared) -> str:
    """The file a build error is about: the kustomization (or the Flux Kustomization, for its spec.components) that
    lists a path the message names and the artifact lacks; else the innermost kustomization the message names; else
    the Flux Kustomization's own file."""
    root = item.artifact.root
    paths = [PurePosixPath(posixpath.normpath(m.group(0))) for m in _PATH_IN_MESSAGE.finditer(message)]
    paths = [p for p in paths if p.parts[:1] != ("..",)]
    holders: list[PurePosixPath] = []
    for path in paths:
        for folder in (path, *path.parents):
            if str(folder) != "." and folder not in holders and kustomization_file(root / folder) is not None:
                holders.append(folder)
    holders.sort(key=lambda folder: -len(folder.parts))
    for missing in (p for p in paths if not (root / p).exists()):
        for folder in [*holders, item.folder]:
            file = kustomization_file(root / folder)
            if file is not None and missing in listed_paths(file, folder):
                return item.artifact.repository_file(str(folder / file.name))
        components = [str(c) for c in items(item.kustomization.spec, "components")]
        if missing in {PurePosixPath(posixpath.normpath(str(item.folder / c))) for c in components}:
            return str(item.kustomization.source_file)
    if holders:
        file = kustomization_file(root / holders[0])
        assert file is not None  # noqa: S101 - holders have one
        return item.artifact.repository_file(str(holders[0] / file.name))
    return str(item.kustomization.source_file)


def strip_origin(obj: dict[str, Any], *, keep: bool) -> None:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else None
    annotations = (metadata or {}).get("annotations")
    if metadata is not None and isinstance(annotations, dict) and not keep:
        annotations.pop(ORIGIN_ANNOTATION, None)
        if not annotations:
            metadata.pop("annotations")


def _origin_path(obj: dict[str, Any]) -> str | None:
    """Where kustomize read the object (its origin annotation: a file, or the kustomization of a generator), relative
    to the folder built; None for a remote origin or none."""
    annotations = (obj.get("metadata") or {}).get("annotations") if isinstance(obj.get("metadata"), dict) else None
    text = annotations.get(ORIGIN_ANNOTATION) if isinstance(annotations, dict) else None
    try:
        origin = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        origin = None
    if isinstance(origin, dict) and not origin.get("repo"):
        where = origin.get("path") or origin.get("configuredIn")
        if isinstance(where, str) and where:
            return where
    return None
