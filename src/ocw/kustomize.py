"""`kubectl kustomize` or `kustomize build`: the real build, components, generators and all."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ocw import toolchain

BUILD_TIMEOUT_SECONDS = 120


class KustomizeError(Exception):
    pass


def build(directory: Path) -> str:
    """The built YAML stream of a kustomization directory."""
    builder = toolchain.kustomizer()
    try:
        completed = subprocess.run(
            builder.command(directory),
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
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
