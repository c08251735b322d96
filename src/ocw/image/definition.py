"""What the workspace image is, read from its definition (containers/opencode-workspace/): the OpenCode pin, the
commands it provides, the local name a build gets. One place, so the image, `ocw up` and the tests agree."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Final

from ocw.errors import OcwError
from ocw.paths import in_checkout

IMAGE_NAME: Final = "opencode-workspace"
LOCAL_REPOSITORY: Final = f"localhost/{IMAGE_NAME}"
DEBIAN_RELEASE: Final = "bookworm"
LOCAL_BASE: Final = f"localhost/{IMAGE_NAME}-base:{DEBIAN_RELEASE}"
# What the image runs as (the Dockerfile's USER) and what the manifests' securityContext expects.
IMAGE_UID: Final = 1000
# The image's ENTRYPOINT: the manifests' args are its command. Locally (process mode) it stands for nothing.
ENTRYPOINT: Final = ("/usr/bin/tini", "-g", "--")
INPUT_FILES: Final = ("Dockerfile", "packages", "commands")
_OPENCODE_ARG = re.compile(r"^ARG OPENCODE_VERSION=(\S+)\s*$", re.MULTILINE)


def containers_dir() -> Path:
    """The checkout's containers/ (an installed ocw without a checkout has none: it runs workspaces as processes)."""
    return in_checkout("containers")


def definition_dir() -> Path:
    return containers_dir() / IMAGE_NAME


def dockerfile() -> Path:
    return definition_dir() / "Dockerfile"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise OcwError(
            f"the workspace image definition {path} could not be read ({exc.strerror})",
            hint="run ocw from an opencode-workspaces checkout, which holds containers/opencode-workspace/",
        ) from exc


def _list_file(name: str) -> list[str]:
    lines = (line.strip() for line in _read(definition_dir() / name).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def image_commands() -> list[str]:
    """The commands the image provides (its build fails if one is missing)."""
    return _list_file("commands")


def image_packages() -> list[str]:
    return _list_file("packages")


def opencode_version() -> str:
    """The OpenCode version the image installs: every `ARG OPENCODE_VERSION=` in the Dockerfile, which must agree."""
    versions = set(_OPENCODE_ARG.findall(_read(dockerfile())))
    if len(versions) != 1:
        raise OcwError(
            f"{dockerfile()} must set ARG OPENCODE_VERSION to one version; found {sorted(versions) or 'none'}",
            hint="give every stage the same OPENCODE_VERSION default",
        )
    return str(versions.pop())


def inputs_digest() -> str:
    """A digest of everything the build reads from the checkout: a change to any of them means a new image."""
    digest = hashlib.sha256()
    for name in INPUT_FILES:
        digest.update(name.encode() + b"\0" + _read(definition_dir() / name).encode() + b"\0")
    return digest.hexdigest()


def local_image() -> str:
    """The local name of the image built from this checkout: `<OpenCode version>-<digest of its inputs>`, like the
    `<version>-<short sha>` tags of a published build."""
    return f"{LOCAL_REPOSITORY}:{opencode_version()}-{inputs_digest()[:12]}"
