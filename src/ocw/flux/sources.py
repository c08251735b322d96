"""Flux sources as source-controller makes them, for the graph: which artifact a Kustomization's `sourceRef` stands
for. A GitRepository whose URL is this repository's (the entry point's own source, or the checkout's `origin`) is
this repository, filtered by its `spec.ignore`; an ExternalArtifact an ArtifactGenerator makes from such sources is
its copies; anything else is elsewhere and cannot be followed (one warning per source, naming what it leaves out).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ocw import toolchain
from ocw.findings import Finding, Severity
from ocw.flux.artifact import Artifact, GeneratedArtifact, Workspace, generated_artifacts, repository_files
from ocw.flux.bootstrap import THIS_REPOSITORY, Source
from ocw.flux.kustomization import FluxKustomization
from ocw.flux.sourceignore import ArtifactFilter

if TYPE_CHECKING:
    from ocw.flux.graph import Entry

GIT_TIMEOUT_SECONDS = 30
MAX_LISTED = 12


def normalise_url(url: str) -> str:
    """`https://github.com/a/b.git`, `ssh://git@github.com/a/b` and `git@github.com:a/b` all become github.com/a/b."""
    text = url.strip()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    if ":" in text.split("/", 1)[0]:
        host, _, rest = text.partition(":")
        text = f"{host}/{rest}" if not rest.isdigit() else host
    text = re.sub(r"^([^/]+):\d+/", r"\1/", text)
    return text.removesuffix("/").removesuffix(".git").lower()


def _origin_url(repo: Path) -> str | None:
    if not (repo / ".git").exists():
        return None
    try:
        completed = subprocess.run(
            [str(toolchain.git()), "-C", str(repo), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except Exception:
        return None
    return completed.stdout.strip() or None if completed.returncode == 0 else None


class Sources:
    """The Flux sources known so far and the artifacts of this repository they stand for."""

    def __init__(
        self, repo: Path, workspace: Workspace, entry: Entry, files: Sequence[PurePosixPath] | None = None
    ) -> None:
        self.repo = repo
        self.workspace = workspace
        self.entry = entry
        self.files = list(repository_files(repo) if files is None else files)
        self.known: dict[tuple[str, str, str], Source] = {s.key: s for s in entry.sources}
        self.urls: list[str] = []
        for url in [*(s.url for s in entry.sources if s.kind == "GitRepository"), _origin_url(repo) or ""]:
            if url and normalise_url(url) not in self.urls:
                self.urls.append(normalise_url(url))
        self._artifacts: dict[str | None, Artifact] = {}
        # The ExternalArtifacts ArtifactGenerators make, by namespace and name, and their artifacts once made.
        self.generated: dict[tuple[str, str], GeneratedArtifact] = {}
        self._generated_artifacts: dict[tuple[str, str], Artifact] = {}
        self.findings: list[Finding] = []
        self._warned: dict[tuple[str, str, str], Finding] = {}
        self._skipped: dict[tuple[str, str, str], list[str]] = {}

    def add(self, source: Source) -> None:
        self.known.setdefault(source.key, source)

    def add_generator(self, obj: Mapping[str, Any], namespace: str, file: str) -> None:
        """An ArtifactGenerator: each of its artifacts becomes an ExternalArtifact of that name."""
        for name, generated in generated_artifacts(obj, namespace, file):
            self.generated.setdefault((namespace, name), generated)

    def artifact(self, ignore: str | None) -> Artifact:
        if ignore not in self._artifacts:
            self._artifacts[ignore] = Artifact.of_repository(
                self.workspace, self.repo, self.files, ArtifactFilter.for_repository(self.repo, self.files, ignore)
            )
        return self._artifacts[ignore]

    def visible(self, file: PurePosixPath) -> bool:
        """Whether the entry point's own source holds file (the files Flux could ever see)."""
        root = next((s for s in self.entry.sources if s.kind == "GitRepository"), None)
        ignore = root.spec.get("ignore") if root is not None else None
        return (self.artifact(str(ignore) if isinstance(ignore, str) else None).root / file).is_file()

    def resolve(self, ks: FluxKustomization, *, final: bool) -> Artifact | str | None:
        """The artifact to build ks in; a reason it cannot be built; None to wait for more sources."""
        if ks.source is None:
            return "it has no spec.sourceRef"
        key = (ks.source.kind, ks.source.namespace, ks.source.name)
        if ks.source.name == THIS_REPOSITORY:
            return self.artifact(None)
        if ks.source.kind == "ExternalArtifact" and (ks.source.namespace, ks.source.name) in self.generated:
            return self._external_artifact(ks, (ks.source.namespace, ks.source.name))
        source = self.known.get(key)
        if source is None:
            if not final:
                return None
            if self.entry.lenient_sources:
                return self.artifact(None)
            self._warn_once(
                key,
                ks,
                f"{ks.source} is defined nowhere in the repository (Flux would wait for it): its Kustomizations are "
                f"checked as if it were this repository",
            )
            return self.artifact(None)
        if self._is_this_repository(source):
            ignore = source.spec.get("ignore")
            return self.artifact(str(ignore) if isinstance(ignore, str) else None)
        self._skipped.setdefault(key, []).append(ks.id)
        what = f"{source.kind} {source.namespace}/{source.name}"
        where = f" ({source.url})" if source.url else ""
        self._warn_once(
            key,
            ks,
            f"{what}{where} is not this repository, so the Kustomizations built from it cannot be followed here",
            file=source.file,
        )
        return "its source is not this repository"

    def _is_this_repository(self, source: Source | None) -> bool:
        """A GitRepository of this repository's URL (any GitRepository when the URL is unknown)."""
        return (
            source is not None
            and source.kind == "GitRepository"
            and (not self.urls or normalise_url(source.url) in self.urls)
        )

    def _external_artifact(self, ks: FluxKustomization, key: tuple[str, str]) -> Artifact | str:
        """The artifact an ArtifactGenerator makes from this repository's sources."""
        if key in self._generated_artifacts:
            return self._generated_artifacts[key]
        generated = self.generated[key]
        ignores: set[str | None] = set()
        for kind, namespace, name in generated.sources.values():
            source = self.known.get((kind, namespace, name))
            if not self._is_this_repository(source):
                self._skipped.setdefault(("ExternalArtifact", *key), []).append(ks.id)
                self._warn_once(
                    ("ExternalArtifact", *key),
                    ks,
                    f"ExternalArtifact {key[0]}/{key[1]} copies from {kind} {namespace}/{name}, which is not this "
                    f"repository, so the Kustomizations built from it cannot be followed here",
                    file=generated.file,
                )
                return "its source is not this repository"
            assert source is not None  # noqa: S101 - _is_this_repository says so
            ignore = source.spec.get("ignore")
            ignores.add(str(ignore) if isinstance(ignore, str) else None)
        selected = ArtifactFilter.for_repository(self.repo, self.files, next(iter(ignores), None)).select(self.files)
        artifact = Artifact.of_copies(self.workspace, self.repo, selected, generated.copies)
        self._generated_artifacts[key] = artifact
        return artifact

    def _warn_once(
        self, key: tuple[str, str, str], ks: FluxKustomization, message: str, file: str | None = None
    ) -> None:
        if key in self._warned:
            return
        finding = Finding(
            file or str(ks.source_file), "flux-source", f"{key[0]}/{key[1]}/{key[2]}", message, Severity.WARNING
        )
        self._warned[key] = finding
        self.findings.append(finding)

    def skipped_findings(self) -> list[Finding]:
        """The source warnings, each with the Kustomizations it left out."""
        result: list[Finding] = []
        for key, warning in self._warned.items():
            skipped = self._skipped.get(key, [])
            if not skipped:
                result.append(warning)
                continue
            names = ", ".join(skipped[:MAX_LISTED]) + (" ..." if len(skipped) > MAX_LISTED else "")
            message = f"{warning.message}: {names}"
            result.append(Finding(warning.file, warning.rule, warning.object, message, warning.severity))
        return result
