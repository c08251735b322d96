"""`make image`: the workspace image built with podman from a locally bootstrapped Debian base.

The base is a plain Debian root filesystem made by mmdebstrap and imported once (`podman import`); the build then
runs the same Dockerfile CI runs on docker.io/library/debian. Both steps are cached: the base while it exists
(`--refresh-base` makes it anew, e.g. for security updates), the image by its tag, which names the digest of its
inputs (definition.local_image). Concurrent builds on one machine wait for each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ocw.errors import EXIT_FAILED, OcwError
from ocw.image import definition
from ocw.image.engine import Engine, image_exists

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
# Left out of the base: documentation and translations nobody reads in a workspace container.
_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
_CA_CANDIDATES = ("SSL_CERT_FILE", "CURL_CA_BUNDLE")
_SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
INPUTS_LABEL = "org.opencode-workspaces.inputs"

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@contextlib.contextmanager
def build_lock(progress: Progress) -> Iterator[None]:
    """One build at a time per machine: podman's image store is shared by every checkout."""
    path = Path(tempfile.gettempdir()) / f"ocw-{definition.IMAGE_NAME}-build.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("waiting for another image build on this machine to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def host_ca_bundle() -> Path | None:
    """The CA bundle this machine trusts (it may hold a proxy's CA): handed to the build as a secret."""
    for name in _CA_CANDIDATES:
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    return _SYSTEM_CA_BUNDLE if _SYSTEM_CA_BUNDLE.is_file() else None


def _require_program(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OcwError(
            f"{name} was expected on PATH to build the workspace image's base, but is not installed",
            hint=f"install it (apt-get install {package}) or run `make setup`",
        )
    return found


def bootstrap_base(engine: Engine, progress: Progress) -> None:
    """mmdebstrap a minimal Debian root filesystem and import it as the local base image."""
    mmdebstrap = _require_program("mmdebstrap", "mmdebstrap")
    mirror = os.environ.get("DEBIAN_MIRROR", DEBIAN_MIRROR)
    security = os.environ.get("DEBIAN_SECURITY_MIRROR", DEBIAN_SECURITY_MIRROR)
    release = definition.DEBIAN_RELEASE
    sources = [
        f"deb {mirror} {release} main",
        f"deb {mirror} {release}-updates main",
        f"deb {security} {release}-security main",
    ]
    progress(f"bootstrapping a Debian {release} base with mmdebstrap from {mirror} (about a minute)")
    with tempfile.TemporaryDirectory(prefix="ocw-base-") as scratch:
        tarball = Path(scratch) / "base.tar"
        argv = [mmdebstrap, "--variant=minbase", "--quiet"]
        argv += [f"--dpkgopt={option}" for option in _DPKG_EXCLUDES]
        argv += [release, str(tarball), *sources]
        result = subprocess.run(argv, check=False, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise OcwError(
                f"mmdebstrap could not bootstrap Debian {release} (exit code {result.returncode}): "
                + ("; ".join(lines[-3:]) or "no output"),
                hint="check that the Debian mirror is reachable (DEBIAN_MIRROR overrides it)",
                exit_code=EXIT_FAILED,
            )
        engine.run("import", "--change", 'CMD ["/bin/bash"]', str(tarball), definition.LOCAL_BASE)


def ensure_base(engine: Engine, progress: Progress, refresh: bool = False) -> None:
    if refresh or not image_exists(engine, definition.LOCAL_BASE):
        bootstrap_base(engine, progress)


def build_argv(engine: Engine, image: str) -> list[str]:
    argv = engine.command(
        "build",
        "--pull=never",  # the base is the local bootstrap, never a registry's
        "--network=host",  # apt and npm reach the network as this machine does (proxy, no bridge needed)
        "--build-arg",
        f"BASE_IMAGE={definition.LOCAL_BASE}",
        "--label",
        f"{INPUTS_LABEL}={definition.inputs_digest()}",
        "--tag",
        image,
    )
    if "NPM_REGISTRY" in os.environ:
        argv += ["--build-arg", f"NPM_REGISTRY={os.environ['NPM_REGISTRY']}"]
    ca_bundle = host_ca_bundle()
    if ca_bundle is not None:
        argv += ["--secret", f"id=ca-bundle,src={ca_bundle}"]
    return [*argv, str(definition.definition_dir())]


def ensure_image(
    engine: Engine, progress: Progress = _quiet, refresh_base: bool = False, stream: bool = False
) -> tuple[str, bool]:
    """The local image for this checkout, built if absent. Returns (image, whether it was built now)."""
    image = definition.local_image()
    with build_lock(progress):
        if image_exists(engine, image) and not refresh_base:
            return image, False
        ensure_base(engine, progress, refresh=refresh_base)
        progress(f"building {image} with {engine.name} (about a minute; apt and npm downloads)")
        started = time.monotonic()
        result = subprocess.run(
            build_argv(engine, image),
            env=engine.env,
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=None if stream else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout or "").strip().splitlines()[-15:])
            raise OcwError(
                f"building the workspace image {image} failed with exit code {result.returncode}"
                + (f"; the build's last output:\n{tail}" if tail else ""),
                hint=f"fix {definition.dockerfile()} or the network, then run `make image` again",
                exit_code=EXIT_FAILED,
            )
        progress(f"built {image} in {time.monotonic() - started:.0f} s")
    return image, True


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
