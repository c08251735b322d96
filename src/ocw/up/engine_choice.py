"""Which way `ocw up` runs a workspace: in the workspace image with podman (as the pod runs), or as processes."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ocw.errors import EXIT_CANNOT_RUN, OcwError
from ocw.image.definition import local_image
from ocw.image.engine import Engine, find_engine, image_missing
from ocw.up.defaults import EngineRequest


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine | None  # None: process mode
    image: str | None
    note: str  # why process mode was chosen automatically; empty otherwise


MACOS_PROCESS_MODE = (
    "ocw up runs a workspace as processes only on Linux (it follows them through /proc); on macOS run it in the "
    "workspace image: start podman machine (`podman machine init && podman machine start`), then "
    "`ocw up --engine container`"
)


def choose_engine(requested: EngineRequest, platform: str = sys.platform) -> EngineChoice:
    if requested == "process":
        return _processes(platform, "")
    engine, why = find_engine()
    if engine is not None:
        try:
            image = local_image()
        except OcwError as exc:  # no image definition beside this ocw
            image, why = "", exc.message
        if image:
            why = image_missing(engine, image)  # also whether podman works
            if not why:
                return EngineChoice(engine, image, "")
    if requested == "container":
        raise OcwError(
            f"--engine container needs podman and the workspace image, but {why}",
            hint="run `make image` (it installs nothing itself: podman, runc and mmdebstrap come from make setup), "
            "or use --engine process",
            exit_code=EXIT_CANNOT_RUN,
        )
    return _processes(platform, f"running as processes on this machine: {why}")


def _processes(platform: str, note: str) -> EngineChoice:
    if platform == "darwin":
        raise OcwError(MACOS_PROCESS_MODE, hint="README.md, Running on macOS", exit_code=EXIT_CANNOT_RUN)
    return EngineChoice(None, None, note)
