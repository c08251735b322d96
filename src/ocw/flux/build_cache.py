"""What kustomize built, kept between runs: a check of an unchanged repository runs no kustomize at all.

One entry is the build of one Flux Kustomization (its objects as kustomize emitted them, each with the repository
file it came from and, when JSON holds it exactly, the object as parsed), keyed by everything that decides it: the
builder (its resolved binary, size, modification time and version), the build flags, the kustomization Flux generates
for the folder (the batch marker left out), the folder and the Flux Kustomization's own file, and every path the build
can read with its content.

kustomize reads only what a kustomization names: files (resources, patches, generator sources, ...) and folders,
of which it reads the kustomization file, and so on down. The fields that name them are those kustomize loads files
from (sigs.k8s.io/kustomize api/types/kustomization.go); a field it never loads from (labels, images, an inline
patch, ...) adds nothing, and every string of a field this does not know is taken as such a path (most are not,
which only adds paths to the key). Each path that names a file of the source's artifact enters the key with its
content, each folder with its kustomization files (which are followed in turn), and each that names nothing with its
absence. A build is not cached when a path is remote, absolute or above the artifact's root, names something of the
repository the artifact leaves out, or when a kustomization lists generator, transformer or validator
configurations by file (whose own paths this does not follow).

Only builds that succeeded are kept; a failing build runs again and reports exactly as before. Entries are written
whole under a temporary name then renamed (several ocw processes may fill the cache at once); an entry that cannot
be read is built again; entries unused for 30 days are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ocw import kustomize, toolchain
from ocw.flux.artifact import Artifact
from ocw.flux.build import MARKER, Prepared, RawBuild, RawObject, strip_marker, strip_origin
from ocw.flux.generator import KUSTOMIZATION_FILES, is_local_relative
from ocw.paths import replace_whole, source_digest, user_cache_dir
from ocw.yamlio import YamlError, load_all_fast

FORMAT = 2
# ocw's code that decides an entry (the kustomization it generates, which file each object came from): an edited one
# never reads an entry of the previous.
_CODE = ("flux/build.py", "flux/build_cache.py", "flux/artifact.py", "flux/generator.py", "kustomize.py")
CACHE_DAYS = 30
PRUNE_EVERY_SECONDS = 86400
# Fields of a kustomization naming files whose own content names further files (generator/transformer configs).
_CONFIG_FIELDS = ("generators", "transformers", "validators")


def build_cache_dir() -> Path:
    return user_cache_dir() / "builds"


@cache
def code_digest() -> str:
    return source_digest(_CODE, salt=str(FORMAT))


class BuildCache:
    """The build cache of one run: each artifact's files are hashed and its kustomizations parsed once."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = build_cache_dir() if directory is None else directory
        self._indexes: dict[int, _Index] = {}
        self._builder: str | None = None
        self.stored = 0

    def key(self, item: Prepared) -> str | None:
        """The entry's key, or None when this build is not cached."""
        if item.keep_origin:
            return None  # its objects keep origin annotations naming this run's scratch folders
        written = f"{MARKER}: '{item.marker}'\n"
        if item.text.count(written) != 1:
            return None
        index = self._indexes.get(id(item.artifact))
        if index is None or index.artifact is not item.artifact:
            index = self._indexes[id(item.artifact)] = _Index(item.artifact)
        text = item.text.replace(written, f"{MARKER}: ''\n")
        try:
            reads = index.reads(item.folder, load_all_fast(text))
        except (YamlError, yaml.YAMLError):
            return None
        if reads is None:
            return None
        document = {
            **self._builder_key(),
            "folder": str(item.folder),
            "file": item.file_name,
            "kustomization": text,
            "source": str(item.kustomization.source_file),
            "reads": reads,
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def load(self, key: str, item: Prepared) -> RawBuild | None:
        """The cached build, or None when there is none (or it cannot be read)."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text())
            objects = _objects(entry)
        except (OSError, UnicodeDecodeError, ValueError, YamlError, yaml.YAMLError):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used: kept by prune
        return RawBuild(item.kustomization, objects)

    def store(self, key: str, raw: RawBuild) -> None:
        if raw.findings:
            return  # only successes: a failure builds again and reports as it does now
        objects = [[o.text, o.file, _exactly_json(o.obj)] for o in raw.objects]
        self._write(self._path(key), {"format": FORMAT, "objects": objects})

    def prune(self, max_age_seconds: float = CACHE_DAYS * 86400) -> None:
        """Entries unused for a month go (each edit of a repository leaves builds behind); looked for at most daily."""
        stamp = self.directory / ".pruned"
        now = time.time()
        with contextlib.suppress(OSError):
            if now - stamp.stat().st_mtime < PRUNE_EVERY_SECONDS:
                return
        with contextlib.suppress(OSError):
            stamp.touch()
        for path in self.directory.glob("*/*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < now - max_age_seconds:
                    path.unlink()

    def build_folder(self, repo: Path, folder: Path) -> str:
        """`kustomize.build(repo / folder)` of a repository's own folder (not an artifact: whatever is on disk), from
        the cache when nothing it can read changed."""
        root = repo.resolve()
        directory = (repo / folder).resolve()
        reads = None
        if directory.is_relative_to(root):
            reads = _Index(None, root).reads(PurePosixPath(directory.relative_to(root).as_posix()), [""])
        if reads is None:
            return kustomize.build(repo / folder)
        document = {**self._builder_key(), "folder": True, "reads": reads}
        key = hashlib.sha256(json.dumps(document, sort_keys=True).encode())
        path = self._path(key.hexdigest())
        try:
            entry = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError):
            entry = None
        if isinstance(entry, dict) and entry.get("format") == FORMAT and isinstance(entry.get("stream"), str):
            with contextlib.suppress(OSError):
                os.utime(path)
            return str(entry["stream"])
        stream = kustomize.build(repo / folder)
        self._write(path, {"format": FORMAT, "stream": stream})
        return stream

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            replace_whole(path, json.dumps(entry))
        except OSError:
            return  # a cache that cannot be written only costs the next run a build
        self.stored += 1

    def _builder_key(self) -> dict[str, Any]:
        """What every entry's key holds: the cache's format, ocw's build code, the builder and its flags."""
        return {
            "format": FORMAT,
            "code": code_digest(),
            "builder": self._builder_identity(),
            "flags": list(kustomize.BUILD_FLAGS),
        }

    def _builder_identity(self) -> str:
        if self._builder is None:
            builder = toolchain.kustomizer()
            resolved = builder.path.resolve()
            stat = resolved.stat()
            self._builder = json.dumps(
                [str(resolved), stat.st_size, stat.st_mtime_ns, list(builder.subcommand), builder.version]
            )
        return self._builder


class _Index:
    """The files a build can read, their digests and parsed kustomizations, each made once: an artifact's (files
    listed: a repository file it leaves out cannot be read), or, without an artifact, a folder's on disk."""

    def __init__(self, artifact: Artifact | None, root: Path | None = None) -> None:
        self.artifact = artifact
        found = artifact.origin if artifact is not None else root.resolve() if root is not None else None
        assert found is not None  # noqa: S101 - one of them is given
        self.root: Path = found
        listed = artifact.files if artifact is not None else {}
        self.files = {str(path): str(source) for path, source in listed.items()}
        self.folders = {str(parent) for path in listed for parent in path.parents}
        self._digests: dict[str, str] = {}
        self._parsed: dict[str, list[Any] | None] = {}

    def reads(self, folder: PurePosixPath, documents: list[Any]) -> list[list[str]] | None:
        """What a build of the kustomization `documents` in folder can read: [path, state] pairs; None when that
        cannot be told."""
        states: dict[str, str] = {}
        pending = [(str(folder), documents)]
        while pending:
            here, current = pending.pop()
            spec = current[0] if current and isinstance(current[0], dict) else {}
            if any(isinstance(entry, str) for field in _CONFIG_FIELDS for entry in spec.get(field) or []):
                return None
            for value in _named_paths(current):
                for candidate in {value, value.split("=", 1)[-1]}:
                    if not is_local_relative(candidate):
                        return None
                    path = posixpath.normpath(posixpath.join(here, candidate))
                    if path.split("/", 1)[0] == "..":
                        return None
                    if path in states:
                        continue
                    found = self._state(path)
                    if found is None:
                        return None
                    states[path], inner = found
                    if inner is not None:
                        pending.append((path, inner))
        return [[path, state] for path, state in sorted(states.items())]

    def _state(self, path: str) -> tuple[str, list[Any] | None] | None:
        """A path's state (a file's digest, a folder's kustomization files, or absent) and, for a folder with one
        kustomization file, that kustomization; None when the path is in the repository but not in the artifact."""
        if self.artifact is None:
            return self._state_on_disk(path)
        return self._listed_state(path)

    def _listed_state(self, path: str) -> tuple[str, list[Any] | None] | None:
        if path in self.files:
            digest = self._digest(path)
            return (f"file {digest}", None) if digest is not None else None
        if path in self.folders:
            names = [name for name in KUSTOMIZATION_FILES if _join(path, name) in self.files]
            digests = [(name, self._digest(_join(path, name))) for name in names]
            if any(digest is None for _, digest in digests):
                return None
            inner = self._kustomization(_join(path, names[0])) if len(names) == 1 else []
            if inner is None:
                return None
            return "folder " + " ".join(f"{name}={digest}" for name, digest in digests), inner
        if os.path.lexists(self.root / path):
            return None  # kustomize resolves folders to where they are: it may find what the artifact leaves out
        return "absent", None

    def _state_on_disk(self, path: str) -> tuple[str, list[Any] | None] | None:
        full = self.root / path
        if os.path.realpath(full) != str(full):
            # Through a link (kustomize resolves folders to where they are): not what the path says, not cached.
            return None if os.path.lexists(full) else ("absent", None)
        if full.is_file():
            self.files.setdefault(path, path)
        elif full.is_dir():
            self.folders.add(path)
            for name in KUSTOMIZATION_FILES:
                if (full / name).is_file():
                    self.files.setdefault(_join(path, name), _join(path, name))
        elif os.path.lexists(full):
            return None
        else:
            return "absent", None
        return self._listed_state(path)

    def _digest(self, path: str) -> str | None:
        if path not in self._digests:
            try:
                data = (self.root / self.files[path]).read_bytes()
            except OSError:
                return None
            self._digests[path] = hashlib.sha256(data).hexdigest()
        return self._digests[path]

    def _kustomization(self, path: str) -> list[Any] | None:
        if path not in self._parsed:
            try:
                self._parsed[path] = load_all_fast((self.root / self.files[path]).read_text())
            except (OSError, UnicodeDecodeError, YamlError, yaml.YAMLError):
                self._parsed[path] = None
        return self._parsed[path]


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"


# Fields of a kustomization kustomize never loads a file from.
_NO_FILES = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "images",
        "replicas",
        "vars",
        "generatorOptions",
        "buildMetadata",
        "sortOptions",
    }
)
# Fields listing items whose `path` names a file; these other fields of an item are inline (a patch, a target, a
# replacement) and name none.
_INLINE_ITEMS = {
    "patches": frozenset({"patch", "target", "options"}),
    "patchesJson6902": frozenset({"patch", "target"}),
    "replacements": frozenset({"source", "targets"}),
}
# The fields of a configMapGenerator or secretGenerator that name no file (`files`, `envs` and `env` do).
_GENERATOR_INLINE = frozenset({"name", "namespace", "behavior", "literals", "options", "type"})


def _named_paths(documents: list[Any]) -> Iterator[str]:
    """The strings of a kustomization's documents that kustomize may load as a file or folder: those of the fields
    that name files, and every string of a field or item this does not know."""
    for document in documents:
        if not isinstance(document, dict):
            yield from _strings(document)
            continue
        for field, value in document.items():
            if field in _NO_FILES:
                continue
            if field in _INLINE_ITEMS and isinstance(value, list):
                yield from _item_paths(value, _INLINE_ITEMS[field])
            elif field in ("configMapGenerator", "secretGenerator") and isinstance(value, list):
                yield from _item_paths(value, _GENERATOR_INLINE)
            elif field == "openapi" and isinstance(value, dict):
                yield from _item_paths([value], frozenset({"version"}))
            else:
                # Lists of paths (resources, components, crds, ...; a patchesStrategicMerge entry kustomize tries as
                # a path before it takes it as an inline patch) and any field this does not know: all their strings.
                yield from _strings(value)


def _item_paths(items: list[Any], inline: frozenset[str]) -> Iterator[str]:
    """Every string of the items but those of their inline fields."""
    for item in items:
        if not isinstance(item, dict):
            yield from _strings(item)
            continue
        for key, value in item.items():
            if key not in inline:
                yield from _strings(value)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _exactly_json(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The parsed object, when JSON gives it back exactly (not a date, a binary value, a number as a key, a part
    shared through a YAML alias, ...): then a cached build is read without parsing YAML. None: the object is parsed
    from its text again."""
    try:
        same = json.loads(json.dumps(obj)) == obj and not _shares_parts(obj, set())
    except (TypeError, ValueError, RecursionError):
        return None
    return obj if same else None


def _shares_parts(node: Any, seen: set[int]) -> bool:
    """Whether a mapping or list occurs twice in the object (an alias of an anchor)."""
    if not isinstance(node, (dict, list)):
        return False
    if id(node) in seen:
        return True
    seen.add(id(node))
    return any(_shares_parts(value, seen) for value in (node.values() if isinstance(node, dict) else node))


def _objects(entry: Any) -> list[RawObject]:
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or not isinstance(entry.get("objects"), list):
        raise ValueError("not a build cache entry")
    objects: list[RawObject] = []
    for item in entry["objects"]:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(part, str) for part in item[:2])):
            raise ValueError("not a build cache entry")
        text, file, obj = item
        if not isinstance(obj, dict):
            loaded = load_all_fast(text)
            if not loaded or not isinstance(loaded[0], dict):
                raise ValueError("not an object")
            obj = loaded[0]
            strip_marker(obj)
            strip_origin(obj, keep=False)
        objects.append(RawObject(text, obj, file, False))
    return objects
