"""Which files of a Git repository source-controller puts in a GitRepository's artifact.

source-controller archives the checkout through gitignore-style patterns (fluxcd/pkg `sourceignore`, a port of
go-git's gitignore): the `.sourceignore` files of the repository, each applying below its own folder, then the
GitRepository's `spec.ignore`. When neither gives a pattern, a default list applies (CI files, images, archives,
`.sops.yaml`, ...); the VCS patterns (`.git/`, `.gitignore`, ...) always apply. Patterns are tried from the last to
the first, and the first that matches decides. Only regular files and folders are archived: a symlink is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

IGNORE_FILE = ".sourceignore"
EXCLUDE_VCS = (".git/", ".gitignore", ".gitmodules", ".gitattributes")
EXCLUDE_DEFAULT = (
    *("*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip"),
    *(".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml"),
    *("codeship-services.yml", "codeship-steps.yml"),
    *("**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml"),
)
_ZERO_TO_MANY_DIRS = "**"


@lru_cache(maxsize=1024)
def _component_regex(pattern: str) -> re.Pattern[str] | None:
    """Go's filepath.Match syntax as a regular expression: `*`, `?`, `[...]` (negated by `^` or `!`) and `\\`
    escapes; None for a malformed pattern, which matches nothing (Go returns an error)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            close = pattern.find("]", index + 2)
            if close < 0:
                return None
            body = pattern[index + 1 : close]
            negate = body[:1] in ("^", "!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            index = close
        else:
            out.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


def _component_match(pattern: str, name: str) -> bool:
    regex = _component_regex(pattern)
    return regex is not None and regex.fullmatch(name) is not None


@dataclass(frozen=True)
class Pattern:
    """One gitignore line, scoped to the folder (domain) whose ignore file holds it."""

    domain: tuple[str, ...]
    parts: tuple[str, ...]
    inclusion: bool
    dir_only: bool
    is_glob: bool

    @classmethod
    def parse(cls, line: str, domain: Sequence[str] = ()) -> Pattern:
        inclusion = line.startswith("!")
        if inclusion:
            line = line[1:]
        if not line.endswith("\\ "):
            line = line.rstrip(" ")
        dir_only = line.endswith("/")
        if dir_only:
            line = line[:-1]
        return cls(tuple(domain), tuple(line.split("/")), inclusion, dir_only, "/" in line)

    def match(self, path: Sequence[str], is_dir: bool) -> bool | None:
        """None when the pattern says nothing about path; else True to exclude it, False to include it."""
        if len(path) <= len(self.domain) or tuple(path[: len(self.domain)]) != self.domain:
            return None
        rest = list(path[len(self.domain) :])
        matched = self._glob_match(rest, is_dir) if self.is_glob else self._name_match(rest, is_dir)
        return None if not matched else not self.inclusion

    def _name_match(self, path: list[str], is_dir: bool) -> bool:
        for index, name in enumerate(path):
            if not _component_match(self.parts[0], name):
                continue
            return not (self.dir_only and not is_dir and index == len(path) - 1)
        return False

    def _glob_match(self, path: list[str], is_dir: bool) -> bool:
        matched = False
        can_traverse = False
        for index, part in enumerate(self.parts):
            if part == "":
                can_traverse = False
                continue
            if part == _ZERO_TO_MANY_DIRS:
                if index == len(self.parts) - 1:
                    break
                can_traverse = True
                continue
            if _ZERO_TO_MANY_DIRS in part or not path:
                return False
            if can_traverse:
                can_traverse = False
                while path:
                    name = path.pop(0)
                    if _component_match(part, name):
                        matched = True
                        break
                    if not path:
                        matched = False
            else:
                if not _component_match(part, path[0]):
                    return False
                matched = True
                path = path[1:]
        return not (matched and self.dir_only and not is_dir and not path) and matched


def read_patterns(text: str, domain: Sequence[str] = ()) -> list[Pattern]:
    return [Pattern.parse(line, domain) for line in text.splitlines() if not line.startswith("#") and line.strip()]


def _ignore_files(root: Path, files: Iterable[PurePosixPath]) -> Iterator[Pattern]:
    """The patterns of every .sourceignore among files, the root's first, then its folders' depth first in name
    order (LoadIgnorePatterns), each scoped to its own folder."""
    found = sorted((f for f in files if f.name == IGNORE_FILE), key=lambda f: f.parent.parts)
    for file in found:
        try:
            text = (root / file).read_text(errors="replace")
        except OSError:
            continue
        domain = () if file.parent == PurePosixPath(".") else file.parent.parts
        yield from read_patterns(text, domain)


@dataclass(frozen=True)
class ArtifactFilter:
    """Decides which paths of a checkout end up in the artifact."""

    patterns: tuple[Pattern, ...]

    @classmethod
    def for_repository(
        cls, root: Path, files: Iterable[PurePosixPath], spec_ignore: str | None = None
    ) -> ArtifactFilter:
        """The filter for a checkout at root holding files (their .sourceignore files are read)."""
        found = list(_ignore_files(root, files))
        if spec_ignore is not None:
            found.extend(read_patterns(spec_ignore))
        vcs = [Pattern.parse(line) for line in EXCLUDE_VCS]
        defaults = [] if found else [Pattern.parse(line) for line in EXCLUDE_DEFAULT]
        return cls((*vcs, *defaults, *found))

    def excludes(self, relative: PurePosixPath | str, is_dir: bool = False) -> bool:
        parts = relative.parts if isinstance(relative, PurePosixPath) else PurePosixPath(relative).parts
        for pattern in reversed(self.patterns):
            verdict = pattern.match(parts, is_dir)
            if verdict is not None:
                return verdict
        return False

    def select(self, files: Iterable[PurePosixPath]) -> list[PurePosixPath]:
        """The files (relative paths of regular files) the artifact holds. Every path is judged by itself, as
        source-controller's archive walk does: an excluded folder's files are judged again one by one."""
        return list(self._selected(tuple(files)))

    # A run selects the same files through the same filter more than once (what Flux can see, then the artifact): a
    # few filters, each kept with what it selected.
    @lru_cache(maxsize=8)  # noqa: B019
    def _selected(self, files: tuple[PurePosixPath, ...]) -> tuple[PurePosixPath, ...]:
        return tuple(path for path in files if not self.excludes(path))
