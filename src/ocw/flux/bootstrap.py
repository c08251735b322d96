"""Where Flux starts in a repository: the Kustomization applied from outside the repository's own graph.

Three forms are recognised, as Flux users set clusters up:

- `flux bootstrap`: `<dir>/flux-system/gotk-sync.yaml` holds the GitRepository (or OCIRepository) `flux-system` and
  the Kustomization `flux-system` that builds `<dir>` (one `<dir>` per cluster, e.g. `clusters/<name>`);
- the Flux Operator: a FluxInstance (or the `flux-instance` chart's HelmRelease, whose `values.instance` is the
  FluxInstance spec) whose `spec.sync` makes a source and a Kustomization, both named after the FluxInstance's
  namespace (or `sync.name`), that build `sync.path`;
- a Kustomization together with the source it names, both in files under a `flux/` folder (`kubernetes/flux/`,
  applied once by hand or by a bootstrap task).

A bootstrap whose files another bootstrap's path holds is part of that one's cluster. Several that remain are several
clusters: `--cluster NAME` picks one. Without any, the Flux Kustomizations found in the repository's files are
entry points of their own (see `fallback_entries`), and `--path DIR` names an entry point outright.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ocw.errors import OcwError
from ocw.flux.fields import mapping
from ocw.flux.generator import kustomization_file, listed_paths
from ocw.flux.kustomization import FluxKustomization, is_flux_kustomization
from ocw.inputs import decode
from ocw.yamlio import YamlError, load_all_strict

SOURCE_KINDS = frozenset({"GitRepository", "OCIRepository", "Bucket", "ExternalArtifact"})
SOURCE_GROUP = "source.toolkit.fluxcd.io/"
FLUX_INSTANCE_GROUP = "fluxcd.controlplane.io/"
LOOKED_FOR = (
    "clusters/<name>/flux-system/gotk-sync.yaml (flux bootstrap)",
    "a FluxInstance with spec.sync.path (Flux Operator, or the flux-instance chart's HelmRelease)",
    "a Flux Kustomization with the GitRepository or OCIRepository it names under a flux/ folder (kubernetes/flux/)",
)
THIS_REPOSITORY = "<this repository>"  # the source of entry points: the repository being checked
_MARKERS = (
    "kind: Kustomization",
    "kind: FluxInstance",
    "instance:",
    "kind: GitRepository",
    "kind: OCIRepository",
    "kind: ArtifactGenerator",
)


@dataclass(frozen=True)
class Document:
    file: PurePosixPath
    obj: dict[str, Any]


@dataclass
class Source:
    """A Flux source object: GitRepository, OCIRepository, Bucket or ExternalArtifact."""

    kind: str
    namespace: str
    name: str
    spec: dict[str, Any]
    file: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.namespace, self.name

    @property
    def url(self) -> str:
        return str(self.spec.get("url") or "")


@dataclass
class Bootstrap:
    form: str  # "flux bootstrap", "FluxInstance" or "flux/ folder"
    file: PurePosixPath  # the file that defines it
    roots: list[FluxKustomization]
    sources: list[Source] = field(default_factory=list)

    @property
    def paths(self) -> list[PurePosixPath]:
        return [PurePosixPath(ks.path.strip().removeprefix("./").rstrip("/") or ".") for ks in self.roots]

    @property
    def label(self) -> str:
        return ", ".join(str(p) for p in self.paths) or str(self.file.parent)

    def names(self) -> set[str]:
        """What --cluster may call it: its path(s), their folders, and the folders of its file."""
        names = {self.label, *(str(p) for p in self.paths)}
        for path in (*self.paths, self.file.parent):
            names.update(part for part in path.parts if part not in (".", "flux-system", "flux"))
        return names

    def holds(self, file: PurePosixPath) -> bool:
        return any(p == PurePosixPath(".") or file.is_relative_to(p) for p in self.paths)


def scan(repo: Path, files: Iterable[PurePosixPath]) -> list[Document]:
    """Every YAML document of the given files that may matter to the bootstrap or the graph (a quick text filter,
    then a strict read; files that do not parse are reported by the YAML rule, not here). Such a file that is not
    UTF-8 is an OcwError naming it: kustomize cannot read it, and no graph followed without it would be Flux's."""
    found: list[Document] = []
    for relative in files:
        if relative.suffix not in (".yaml", ".yml"):
            continue
        try:
            data = (repo / relative).read_bytes()
        except OSError:
            continue
        if not any(marker in data.decode("utf-8", "replace") for marker in _MARKERS):
            continue
        text = decode(data, repo / relative, "YAML file")
        try:
            documents = load_all_strict(text)
        except YamlError:
            continue
        found.extend(Document(relative, doc) for doc in documents if isinstance(doc, dict))
    return found


def source_of(doc: Mapping[str, Any], file: str, namespace: str | None = None) -> Source | None:
    if doc.get("kind") not in SOURCE_KINDS or not str(doc.get("apiVersion", "")).startswith(SOURCE_GROUP):
        return None
    metadata = mapping(doc, "metadata")
    spec = mapping(doc, "spec")
    return Source(
        str(doc["kind"]),
        str(metadata.get("namespace") or namespace or "default"),
        str(metadata.get("name", "")),
        dict(spec or {}),
        file,
    )


def find(documents: Sequence[Document], files: Iterable[PurePosixPath] = ()) -> list[Bootstrap]:
    """Every bootstrap in the documents (files: the repository's files, for `flux bootstrap`'s placeholders)."""
    found = [*_gotk_sync(documents, files), *_flux_instances(documents), *_flux_folders(documents)]
    # A bootstrap whose file another one's path holds is applied by that one: the same cluster.
    kept = [b for b in found if not any(o is not b and o.holds(b.file) and not b.holds(o.file) for o in found)]
    unique: list[Bootstrap] = []
    for bootstrap in kept:
        if not any(u.paths == bootstrap.paths for u in unique):
            unique.append(bootstrap)
    return unique


def _gotk_sync(documents: Sequence[Document], files: Iterable[PurePosixPath]) -> Iterable[Bootstrap]:
    placeholders = {f for f in files if f.name == "gotk-sync.yaml" and f.parent.name == "flux-system"}
    by_file: dict[PurePosixPath, list[Document]] = {}
    for doc in documents:
        if doc.file.name == "gotk-sync.yaml" and doc.file.parent.name == "flux-system":
            by_file.setdefault(doc.file, []).append(doc)
    for file, docs in sorted(by_file.items()):
        roots = [
            FluxKustomization.from_object(d.obj, Path(file), namespace="flux-system")
            for d in docs
            if is_flux_kustomization(d.obj)
        ]
        sources = [s for d in docs if (s := source_of(d.obj, str(file), "flux-system")) is not None]
        if roots:
            yield Bootstrap("flux bootstrap", file, roots, sources)
    for file in sorted(placeholders - set(by_file)):
        # A placeholder (`flux bootstrap` writes the real file when it runs): what `--path=<dir>` makes.
        folder = file.parent.parent
        root = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {
                "path": f"./{folder}",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            },
        }
        source = Source("GitRepository", "flux-system", "flux-system", {}, str(file))
        yield Bootstrap("flux bootstrap", file, [FluxKustomization.from_object(root, Path(file))], [source])


def _flux_instances(documents: Sequence[Document]) -> Iterable[Bootstrap]:
    for doc in documents:
        obj = doc.obj
        namespace = str(mapping(obj, "metadata").get("namespace") or "flux-system")
        if obj.get("kind") == "FluxInstance" and str(obj.get("apiVersion", "")).startswith(FLUX_INSTANCE_GROUP):
            sync = mapping(obj, "spec", "sync")
        elif obj.get("kind") == "HelmRelease" and _is_flux_instance_chart(obj):
            sync = mapping(obj, "spec", "values", "instance", "sync")
        elif "kind" not in obj:
            # The flux-instance chart's values file (its valuesFrom ConfigMap, or a bootstrap's helmfile values).
            sync = mapping(obj, "instance", "sync")
        else:
            continue
        if not sync.get("path"):
            continue
        name = str(sync.get("name") or namespace)
        kind = str(sync.get("kind") or "GitRepository")
        root = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"path": str(sync["path"]), "prune": True, "sourceRef": {"kind": kind, "name": name}},
        }
        source = Source(
            kind, namespace, name, {"url": str(sync.get("url") or ""), "ref": sync.get("ref")}, str(doc.file)
        )
        yield Bootstrap("FluxInstance", doc.file, [FluxKustomization.from_object(root, Path(doc.file))], [source])


def _is_flux_instance_chart(obj: Mapping[str, Any]) -> bool:
    chart = mapping(obj, "spec", "chart", "spec").get("chart")
    reference = mapping(obj, "spec", "chartRef").get("name")
    return "flux-instance" in (str(chart or ""), str(reference or "")) or str(reference or "").endswith("flux-instance")


def _flux_folder(file: PurePosixPath) -> PurePosixPath | None:
    parts = file.parts
    if "flux" not in parts[:-1]:
        return None
    index = len(parts) - 1 - parts[:-1][::-1].index("flux") - 1
    return PurePosixPath(*parts[: index + 1])


def _flux_folders(documents: Sequence[Document]) -> Iterable[Bootstrap]:
    sources: dict[PurePosixPath, list[Source]] = {}
    for doc in documents:
        folder = _flux_folder(doc.file)
        source = source_of(doc.obj, str(doc.file), "flux-system") if folder is not None else None
        if folder is not None and source is not None:
            sources.setdefault(folder, []).append(source)
    for doc in documents:
        folder = _flux_folder(doc.file)
        if folder is None or folder not in sources or not is_flux_kustomization(doc.obj):
            continue
        ks = FluxKustomization.from_object(doc.obj, Path(doc.file), namespace="flux-system")
        if ks.source is not None and any(
            s.key == (ks.source.kind, ks.source.namespace, ks.source.name) for s in sources[folder]
        ):
            yield Bootstrap("flux/ folder", doc.file, [ks], sources[folder])


def choose(bootstraps: Sequence[Bootstrap], cluster: str | None) -> Bootstrap | None:
    """The bootstrap to follow: the only one, or the one --cluster names. Raises OcwError when that is ambiguous."""
    if cluster is not None:
        matches = [b for b in bootstraps if cluster in b.names()]
        if len(matches) == 1:
            return matches[0]
        known = "; ".join(f"{b.label} ({b.file})" for b in bootstraps) or "none"
        what = "several" if matches else "no"
        raise OcwError(
            f"--cluster {cluster!r} names {what} Flux bootstrap{'s' if matches else ''} of the repository; its "
            f"bootstraps: {known}",
            hint="name one cluster by a folder of its path, or pass --path DIR to start from a folder",
        )
    if len(bootstraps) > 1:
        known = "; ".join(f"{b.label} ({b.file})" for b in bootstraps)
        raise OcwError(
            f"the repository bootstraps {len(bootstraps)} clusters: {known}",
            hint="pick one with --cluster NAME (a folder of its path, e.g. the cluster's folder name)",
        )
    return bootstraps[0] if bootstraps else None


def entry_point(folder: PurePosixPath) -> FluxKustomization:
    """A Kustomization standing for an entry point Flux is not shown: it builds folder from this repository."""
    doc = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": str(folder), "namespace": "flux-system"},
        "spec": {"path": f"./{folder}", "sourceRef": {"kind": "GitRepository", "name": THIS_REPOSITORY}},
    }
    return FluxKustomization.from_object(doc, Path(folder))


def fallback_entries(repo: Path, documents: Sequence[Document]) -> tuple[list[PurePosixPath], list[PurePosixPath]]:
    """Without a bootstrap: the outermost kustomization folders that hold the repository's Flux Kustomizations
    (following the `resources` of the kustomization files above them), and the files no kustomization lists."""
    holders = sorted({doc.file for doc in documents if is_flux_kustomization(doc.obj)})
    listed = _Listings(repo)
    entries = {listed.outermost(file) for file in holders}
    folders = sorted(e for e in entries if (repo / e).is_dir())
    files = sorted(e for e in entries if not (repo / e).is_dir() and not any(e.is_relative_to(f) for f in folders))
    folders = [f for f in folders if not any(f != o and f.is_relative_to(o) for o in folders)]
    return folders, files


class _Listings:
    """The paths each folder's kustomization file lists as resources or components, normalised."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._cache: dict[PurePosixPath, set[PurePosixPath]] = {}

    def of(self, folder: PurePosixPath) -> set[PurePosixPath]:
        if folder not in self._cache:
            self._cache[folder] = self._read(folder)
        return self._cache[folder]

    def _read(self, folder: PurePosixPath) -> set[PurePosixPath]:
        file = kustomization_file(self.repo / folder)
        return listed_paths(file, folder) if file is not None else set()

    def outermost(self, path: PurePosixPath) -> PurePosixPath:
        """Climb to the kustomization folder that lists path (or a folder listing it), as far as it goes."""
        current = path
        while True:
            holder = next((a for a in current.parents if current in self.of(a)), None)
            if holder is None:
                return current
            current = holder
