"""Source artifacts on disk, as kustomize-controller sees them: the files of a source, and nothing else, under one
root that a build may not leave.

source-controller hands kustomize-controller a tarball of the repository's files minus the ignored ones; the
controller extracts it to a fresh folder and builds `spec.path` inside it. Here the artifact is a folder of symlinks
to the repository's own files (kustomize reads a file through a symlink but resolves folders to where they are, so
folders are real and files are links): cheap to make, and a file that source-controller leaves out is not there.

A build that changes a folder's kustomization (Flux appends its `targetNamespace`, `patches`, `components`, ...)
gets its own overlay: the artifact's folders on the way to that folder are real, everything else links into the
artifact, and the changed kustomization file sits in place of the original.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ocw import toolchain
from ocw.flux.generator import OVERLAY_PREFIX
from ocw.flux.sourceignore import ArtifactFilter

GIT_TIMEOUT_SECONDS = 60
_OVERLAY = re.compile(re.escape(OVERLAY_PREFIX) + r"\d+-(.+)$")


def _overlaid(part: str) -> str:
    match = _OVERLAY.match(part)
    return match.group(1) if match else part


_PRUNED = frozenset({".git"})


def repository_files(repo: Path) -> list[PurePosixPath]:
    """The files a commit of the repository would hold: tracked files and new ones git does not ignore, when repo is
    a git work tree (so `.venv/`, `node_modules/` and other ignored local files are left out); else every file."""
    listed = _git_files(repo)
    if listed is not None:
        return listed
    found: list[PurePosixPath] = []
    for folder, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in _PRUNED)
        base = Path(folder)
        for name in sorted(files):
            path = base / name
            if path.is_file() and not path.is_symlink():
                found.append(PurePosixPath(path.relative_to(repo).as_posix()))
    return found


def _git_files(repo: Path) -> list[PurePosixPath] | None:
    if not (repo / ".git").exists():
        return None
    try:
        completed = subprocess.run(
            [str(toolchain.git()), "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired, Exception):
        return None
    if completed.returncode != 0:
        return None
    names = sorted({name for name in completed.stdout.decode(errors="replace").split("\0") if name})
    root = f"{repo}/"  # joined as text: pathlib would parse each of thousands of paths twice
    return [PurePosixPath(name) for name in names if _is_regular_file(root + name)]


def _is_regular_file(path: str) -> bool:
    """A regular file, not a symlink (one lstat: a large repository lists thousands of files)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _clean_folders(repo: Path, kept: set[PurePosixPath]) -> set[PurePosixPath]:
    """The folders (other than the root) whose every entry on disk, recursively, is a kept regular file or a clean
    folder: those the artifact can link whole."""
    folders_with_kept = {parent for file in kept for parent in file.parents if str(parent) != "."}
    clean: set[PurePosixPath] = set()
    for folder in sorted(folders_with_kept, key=lambda f: -len(f.parts)):
        try:
            entries = list((repo / folder).iterdir())
        except OSError:
            continue
        if all(
            (entry.is_dir() and not entry.is_symlink() and (folder / entry.name) in clean)
            or (entry.is_file() and not entry.is_symlink() and (folder / entry.name) in kept)
            for entry in entries
        ):
            clean.add(folder)
    return clean


class Workspace:
    """A scratch folder for one run: artifacts and build overlays. Remove it with close()."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo.resolve()
        # Resolved: kustomize resolves folders through symlinks (macOS's /var is /private/var) in its messages.
        self.root = Path(tempfile.mkdtemp(prefix="ocw-flux-")).resolve()
        self._scratch = re.compile(re.escape(str(self.root)) + r"/(?:artifact|build)-\d+/?")
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def number(self) -> int:
        with self._lock:
            return next(self._counter)

    def new_folder(self, kind: str) -> Path:
        with self._lock:
            folder = self.root / f"{kind}-{next(self._counter)}"
        folder.mkdir()
        return folder

    def repository_paths(self, text: str) -> str:
        """text (a kustomize message) with paths in the artifacts and overlays as repository paths."""
        text = self._scratch.sub("", text).replace(str(self.repo) + "/", "")
        return re.sub(re.escape(OVERLAY_PREFIX) + r"\d+-", "", text)

    def close(self) -> None:
        """Remove the scratch folder, in the background: nothing reads it any more, and the check goes on."""
        threading.Thread(target=shutil.rmtree, args=(self.root,), kwargs={"ignore_errors": True}).start()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass(frozen=True)
class Copy:
    """One `copy` operation of an ArtifactGenerator: `from: "@alias/<glob>"`, `to: "@artifact/<path>"`."""

    pattern: str  # the glob after the alias, relative to the source's root
    to: str  # the path after @artifact/ ("" for the root; a trailing / for a folder)
    exclude: tuple[str, ...] = ()

    def select(self, files: Iterable[PurePosixPath]) -> Iterator[tuple[PurePosixPath, PurePosixPath]]:
        parts = PurePosixPath(self.pattern).parts
        static = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), len(parts))
        prefix = PurePosixPath(*parts[:static]) if static else PurePosixPath(".")
        regex = _glob_regex(self.pattern)
        folder = self.to.endswith("/") or self.to == ""
        for file in files:
            text = str(file)
            if static == len(parts):  # no glob: one file, or a folder taken whole
                if file != prefix and not file.is_relative_to(prefix):
                    continue
            elif not regex.fullmatch(text):
                continue
            if any(_glob_regex(pattern).fullmatch(text) for pattern in self.exclude):
                continue
            if static == len(parts) and file == prefix:
                yield file, PurePosixPath(self.to.rstrip("/") or ".") / file.name if folder else PurePosixPath(self.to)
            else:
                base = prefix if static < len(parts) else prefix.parent
                yield file, PurePosixPath(self.to.rstrip("/") or ".") / file.relative_to(base)


@dataclass(frozen=True)
class GeneratedArtifact:
    """An ExternalArtifact an ArtifactGenerator (source-watcher) makes: the sources its copies read, by alias, and
    the copies."""

    sources: dict[str, tuple[str, str, str]]  # alias -> (kind, namespace, name)
    copies: tuple[Copy, ...]
    file: str  # the repository file holding the generator


def generated_artifacts(obj: Mapping[str, Any], namespace: str, file: str) -> Iterator[tuple[str, GeneratedArtifact]]:
    """Each artifact of an ArtifactGenerator object, by the name of the ExternalArtifact it becomes."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)  # noqa: S101 - narrowed above
    aliases = {
        str(s["alias"]): (str(s.get("kind", "")), str(s.get("namespace") or namespace), str(s.get("name", "")))
        for s in spec.get("sources") or []
        if isinstance(s, Mapping) and s.get("alias")
    }
    for artifact in spec.get("artifacts") or []:
        if not isinstance(artifact, Mapping) or not artifact.get("name"):
            continue
        copies: list[Copy] = []
        used: dict[str, tuple[str, str, str]] = {}
        for entry in artifact.get("copy") or []:
            if not isinstance(entry, Mapping):
                continue
            alias, _, pattern = str(entry.get("from", "")).removeprefix("@").partition("/")
            used[alias] = aliases.get(alias, ("", namespace, alias))
            target = str(entry.get("to", "")).removeprefix("@artifact").lstrip("/")
            copies.append(Copy(pattern, target, tuple(str(e) for e in entry.get("exclude") or [])))
        yield str(artifact["name"]), GeneratedArtifact(used, tuple(copies), file)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob where `**` crosses folders and `*`, `?` do not."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out))


class Artifact:
    """One source's files under one root."""

    def __init__(
        self,
        root: Path,
        origin: Path,
        origins: dict[PurePosixPath, PurePosixPath] | None = None,
        files: dict[PurePosixPath, PurePosixPath] | None = None,
    ) -> None:
        self.root = root
        self.origin = origin  # the repository folder the artifact's root stands for
        # Where each file of a generated artifact comes from in the repository (None: the same path).
        self._origins = origins
        # Every file the artifact holds (its path here: the repository file behind it), and nothing else.
        self.files: dict[PurePosixPath, PurePosixPath] = dict(origins or {}) if files is None else files

    def repository_file(self, path: str) -> str:
        """The repository file an artifact path stands for."""
        folder = self.folder_of(PurePosixPath(path))
        if self._origins is None:
            return str(folder)
        return str(self._origins.get(folder, folder))

    @classmethod
    def of_repository(
        cls, workspace: Workspace, repo: Path, files: Iterable[PurePosixPath], ignore: ArtifactFilter
    ) -> Artifact:
        """The artifact of this repository under ignore. A folder whose files on disk are all in the artifact is one
        symlink to the repository's folder; only folders holding something left out are made file by file."""
        root = workspace.new_folder("artifact")
        kept = set(ignore.select(files))
        clean = _clean_folders(repo, kept)
        made: set[PurePosixPath] = set()
        for relative in sorted(kept):
            # The highest folder above the file that is clean stands for it, linked once.
            linked = next((f for f in reversed(relative.parents) if f in clean), None)
            target = linked if linked is not None else relative
            if target in made:
                continue
            (root / target.parent).mkdir(parents=True, exist_ok=True)
            (root / target).symlink_to(repo / target)
            made.add(target)
        return cls(root, repo, files={relative: relative for relative in kept})

    @classmethod
    def of_copies(
        cls, workspace: Workspace, repo: Path, files: Iterable[PurePosixPath], copies: Iterable[Copy]
    ) -> Artifact:
        """An ArtifactGenerator's artifact: the files each copy operation takes from this repository's artifact."""
        root = workspace.new_folder("artifact")
        available = list(files)
        origins: dict[PurePosixPath, PurePosixPath] = {}
        for copy in copies:
            for source, target in copy.select(available):
                destination = root / target
                destination.parent.mkdir(parents=True, exist_ok=True)
                if destination.is_symlink():
                    destination.unlink()
                destination.symlink_to(repo / source)
                origins[PurePosixPath(os.path.normpath(target))] = source
        return cls(root, repo, origins)

    def has_dir(self, relative: PurePosixPath) -> bool:
        return (self.root / relative).is_dir()

    def overlay(self, workspace: Workspace, folder: PurePosixPath, file_name: str, text: str) -> Path:
        """A folder standing for `folder` with `file_name` holding text: beside it in the artifact (so that relative
        paths resolve from it as from folder), holding links to folder's other entries. The artifact's root has no
        place beside it: a view of the whole artifact stands for it instead."""
        if str(folder) == ".":
            return self._view(workspace, file_name, text)
        self._unfold(folder.parent)
        overlay = self.root / folder.parent / f"{OVERLAY_PREFIX}{workspace.number()}-{folder.name}"
        overlay.mkdir()
        for entry in (self.root / folder).iterdir():
            if entry.name != file_name:
                (overlay / entry.name).symlink_to(self.root / folder / entry.name)
        (overlay / file_name).write_text(text)
        return overlay

    def _view(self, workspace: Workspace, file_name: str, text: str) -> Path:
        view = workspace.new_folder("build")
        for entry in self.root.iterdir():
            if entry.name != file_name:
                (view / entry.name).symlink_to(entry)
        (view / file_name).write_text(text)
        return view

    def _unfold(self, folder: PurePosixPath) -> None:
        """Make folder and the folders above it real folders of the artifact (a linked folder becomes a folder of
        links), so that an overlay can sit in it without touching the repository."""
        current = self.root
        for part in folder.parts:
            current = current / part
            if current.is_symlink():
                target = current.readlink()
                current.unlink()
                current.mkdir()
                for entry in target.iterdir():
                    (current / entry.name).symlink_to(target / entry.name)

    def folder_of(self, path: PurePosixPath) -> PurePosixPath:
        """An artifact path with any overlay folder in it named as the folder it stands for."""
        return PurePosixPath(*(_overlaid(part) for part in path.parts))
