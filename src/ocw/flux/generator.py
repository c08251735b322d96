"""The kustomization kustomize-controller builds for a Flux Kustomization (fluxcd/pkg `kustomize.Generator`).

The controller takes the folder's own kustomization file (`kustomization.yaml`, `kustomization.yml` or
`Kustomization`), or generates one when there is none: every `.yaml`/`.yml` file below the folder that decodes as
Kubernetes objects, and every subfolder holding a kustomization file as a whole (not descended into). It then sets or
appends what the Flux Kustomization asks for: `targetNamespace` as `namespace`, `namePrefix`, `nameSuffix`,
`patches`, `components` (local paths only; missing ones skipped with `ignoreMissingComponents`),
`patchesStrategicMerge`, `patchesJson6902`, `images` (merged by name) and `buildMetadata`.

Here `originAnnotations` is always added to `buildMetadata`, so that each built object names the file it came from;
the build takes the annotation off again unless the Kustomization asked for it.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ocw.flux.fields import items, mapping
from ocw.yamlio import YamlError, dump, load_all_fast

OVERLAY_PREFIX = ".ocw-overlay-"  # ocw.flux.artifact's overlays, beside the folders they stand for
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATIONS = "originAnnotations"
EMPTY_NAMESPACE = "_placeholder"
_REMOTE_PREFIXES = ("git::", "gh:", "ssh://", "https://", "http://", "git@", "github.com:", "github.com/")


class GeneratorError(Exception):
    """The kustomization cannot be made: the message names the file and says why."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file


@dataclass(frozen=True)
class Generated:
    file_name: str  # the kustomization file to write in the folder
    text: str
    created: bool  # the folder had none: Flux generated it
    origin_requested: bool  # the Kustomization itself asked for originAnnotations
    remote: tuple[str, ...]  # resources or components kustomize would download


def kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def is_local_relative(path: str) -> bool:
    """fluxcd/pkg IsLocalRelativePath: not a git/http reference and not absolute."""
    lowered = path.lower()
    if any(len(prefix) < len(path) and lowered.startswith(prefix) for prefix in _REMOTE_PREFIXES):
        return False
    return not (Path(path).is_absolute() or Path(lowered.removeprefix("file://")).is_absolute())


def generate(
    folder: Path, spec: Mapping[str, Any], relative: PurePosixPath, marker: tuple[str, str] | None = None
) -> Generated:
    """The kustomization Flux builds in folder (relative: the folder's path in the artifact, for messages). A marker
    (annotation key, value) is added to every object it builds, for a batch build to tell whose each object is."""
    existing = kustomization_file(folder)
    if existing is not None:
        file_name = existing.name
        document = _read(existing, str(relative / file_name))
        created = False
    else:
        file_name = KUSTOMIZATION_FILES[0]
        document = _scan(folder, relative)
        created = True
    result = dict(document)
    result.setdefault("apiVersion", "kustomize.config.k8s.io/v1beta1")
    result.setdefault("kind", "Kustomization")
    _apply_spec(result, spec, folder)
    if marker is not None:
        result["commonAnnotations"] = {**mapping(result, "commonAnnotations"), marker[0]: marker[1]}
    requested = items(result, "buildMetadata")
    origin_requested = ORIGIN_ANNOTATIONS in requested
    if not origin_requested:
        result["buildMetadata"] = [*requested, ORIGIN_ANNOTATIONS]
    remote = tuple(
        entry
        for key in ("resources", "components")
        for entry in items(result, key)
        if isinstance(entry, str) and not is_local_relative(entry)
    )
    return Generated(file_name, dump(result), created, origin_requested, remote)


def _read(path: Path, shown: str) -> dict[str, Any]:
    try:
        documents = load_all_fast(path.read_text())
    except (OSError, UnicodeDecodeError, YamlError, yaml.YAMLError) as exc:
        raise GeneratorError(f"{shown} cannot be read: {exc}", shown) from exc
    if not documents or documents[0] is None:
        return {}
    if not isinstance(documents[0], dict):
        raise GeneratorError(f"{shown} is not a kustomization (a YAML map was expected)", shown)
    return dict(documents[0])


def _scan(folder: Path, relative: PurePosixPath) -> dict[str, Any]:
    """What Flux generates: every manifest file and kustomization folder below folder, in Go's walk order."""
    resources: list[str] = []

    def walk(current: Path, prefix: PurePosixPath) -> None:
        for path in sorted(current.iterdir(), key=lambda p: p.name):
            shown = prefix / path.name
            if path.name.startswith(OVERLAY_PREFIX):
                continue  # a build's own overlay, not part of the source
            if path.is_dir():  # the artifact links folders it holds whole: follow them
                if kustomization_file(path) is not None:
                    resources.append(f"./{shown}")
                else:
                    walk(path, shown)
                continue
            if path.suffix not in (".yaml", ".yml"):
                continue
            _decodes(path, str(relative / shown))
            resources.append(f"./{shown}")

    walk(folder, PurePosixPath())
    if not resources:
        return {"namespace": EMPTY_NAMESPACE}
    return {"resources": resources}


def _decodes(path: Path, shown: str) -> None:
    """kustomize's resource factory: every non-empty document needs a kind and (unless a List) metadata.name."""
    try:
        documents = load_all_fast(path.read_text())
    except (OSError, UnicodeDecodeError, YamlError, yaml.YAMLError) as exc:
        raise GeneratorError(f"failed to decode Kubernetes YAML from {shown}: {exc}", shown) from exc
    for document in documents:
        if document is None or document == {}:
            continue
        if not isinstance(document, dict):
            raise GeneratorError(f"failed to decode Kubernetes YAML from {shown}: a document is not a map", shown)
        kind = document.get("kind")
        if not kind:
            raise GeneratorError(
                f"failed to decode Kubernetes YAML from {shown}: missing kind. Flux generates a kustomization.yaml "
                f"for this folder from every .yaml file in it; give the folder a kustomization.yaml listing its "
                f"manifests, or move files that are not Kubernetes objects elsewhere",
                shown,
            )
        name = (document.get("metadata") or {}).get("name") if isinstance(document.get("metadata"), dict) else None
        if not str(kind).endswith("List") and not name:
            raise GeneratorError(f"failed to decode Kubernetes YAML from {shown}: missing metadata.name", shown)


def _apply_spec(result: dict[str, Any], spec: Mapping[str, Any], folder: Path) -> None:
    for field, key in (("targetNamespace", "namespace"), ("namePrefix", "namePrefix"), ("nameSuffix", "nameSuffix")):
        if isinstance(spec.get(field), str):
            result[key] = spec[field]
    for patch in items(spec, "patches"):
        if isinstance(patch, dict):
            entry: dict[str, Any] = {"patch": patch.get("patch", "")}
            if isinstance(patch.get("target"), dict):
                entry["target"] = patch["target"]
            result["patches"] = [*(result.get("patches") or []), entry]
    ignore_missing = bool(spec.get("ignoreMissingComponents"))
    for entry in items(spec, "components"):
        component = str(entry)
        if not is_local_relative(component):
            raise GeneratorError(f"component path '{component}' must be local and relative")
        if ignore_missing and not (folder / component).exists():
            continue
        result["components"] = [*(result.get("components") or []), component]
    for patch in items(spec, "patchesStrategicMerge"):
        result["patchesStrategicMerge"] = [*(result.get("patchesStrategicMerge") or []), json.dumps(patch)]
    for patch in items(spec, "patchesJson6902"):
        if isinstance(patch, dict):
            entry = {"patch": json.dumps(patch.get("patch")), "target": mapping(patch, "target")}
            result["patchesJson6902"] = [*(result.get("patchesJson6902") or []), entry]
    for image in items(spec, "images"):
        if isinstance(image, dict):
            _merge_image(result, image)
    if items(spec, "buildMetadata"):
        result["buildMetadata"] = [str(option) for option in items(spec, "buildMetadata")]


def _merge_image(result: dict[str, Any], image: Mapping[str, Any]) -> None:
    images: list[dict[str, Any]] = [dict(i) for i in result.get("images") or [] if isinstance(i, dict)]
    existing = next((i for i in images if i.get("name") == image.get("name")), None)
    if existing is None:
        images.append({k: image[k] for k in ("name", "newName", "newTag", "digest") if image.get(k)})
    else:
        if image.get("newName"):
            existing["newName"] = image["newName"]
        if image.get("newTag") or image.get("digest"):
            existing.pop("newTag", None)
            existing.pop("digest", None)
            existing.update({k: image[k] for k in ("newTag", "digest") if image.get(k)})
    result["images"] = images


def listed_paths(file: Path, folder: PurePosixPath) -> set[PurePosixPath]:
    """The paths a kustomization file in folder lists (resources, components, patches, generator sources),
    relative to the root folder is given from."""
    try:
        documents = load_all_fast(file.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    spec = documents[0] if documents and isinstance(documents[0], dict) else {}
    entries: list[str] = []
    for key in ("resources", "components", "bases", "crds", "patchesStrategicMerge", "configurations"):
        entries.extend(str(e) for e in spec.get(key) or [] if isinstance(e, str))
    for key in ("patches", "patchesJson6902"):
        entries.extend(str(e["path"]) for e in spec.get(key) or [] if isinstance(e, dict) and e.get("path"))
    for key in ("configMapGenerator", "secretGenerator"):
        for generator in spec.get(key) or []:
            if isinstance(generator, dict):
                for source in [*(generator.get("files") or []), *(generator.get("envs") or [])]:
                    entries.append(str(source).split("=", 1)[-1])
                if generator.get("env"):
                    entries.append(str(generator["env"]))
    return {PurePosixPath(posixpath.normpath(str(folder / entry))) for entry in entries}
