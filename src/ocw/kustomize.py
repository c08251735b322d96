"""`kubectl kustomize` or `kustomize build`: the real build, components, generators and all."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ocw import toolchain

BUILD_TIMEOUT_SECONDS = 120
# As kustomize-controller: files may come from anywhere in the source, not only below the folder.
BUILD_FLAGS = ("--load-restrictor", "LoadRestrictionsNone")


class KustomizeError(Exception):
    pass


def build(directory: Path) -> str:
    """The built YAML stream of a kustomization directory."""
    return _run(directory)


def _build_environment() -> dict[str, str]:
    """A build lives ~50 ms and allocates a few MB: Go's garbage collector is a fifth of its CPU (measured on a
    cluster repository's 75 builds). Collect only near a memory ceiling instead; a user's own GOGC/GOMEMLIMIT wins."""
    return {"GOGC": "off", "GOMEMLIMIT": "512MiB", **os.environ}


def _run(directory: Path) -> str:
    builder = toolchain.kustomizer()
    try:
        completed = subprocess.run(
            [*builder.command(directory), *BUILD_FLAGS],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
            env=_build_environment(),
        )
    except subprocess.TimeoutExpired as exc:
        raise KustomizeError(f"{builder.name()} {directory} did not finish in {BUILD_TIMEOUT_SECONDS}s") from exc
    if completed.returncode != 0:
        raise KustomizeError(completed.stderr.strip() or f"{builder.name()} exited with {completed.returncode}")
    return completed.stdout


def split_documents(stream: str) -> list[str]:
    documents: list[str] = []
    current: list[str] = []
    for line in stream.splitlines(keepends=True):
        if line.rstrip() == "---":
            documents.append("".join(current))
            current = []
        else:
            current.append(line)
    documents.append("".join(current))
    return [doc for doc in documents if doc.strip()]
