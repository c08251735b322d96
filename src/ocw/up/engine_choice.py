"""Which way `ocw up` runs a workspace: in the workspace image with podman (as the pod runs), or as processes."""

from __future__ import annotations

from dataclasses import dataclass

from ocw.errors import EXIT_CANNOT_RUN, OcwError
from ocw.image.definition import local_image
from ocw.image.engine import Engine, image_exists, probe_engine

ENGINE_CHOICES = ("auto", "container", "process")


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine | None  # None: process mode
    image: str | None
    note: str  # why process mode was chosen automatically; empty otherwise


def choose_engine(requested: str) -> EngineChoice:
    if requested == "process":
        return EngineChoice(None, None, "")
    engine, why = probe_engine()
    image = local_image()
    if engine is not None and image_exists(engine, image):
        return EngineChoice(engine, image, "")
    if engine is not None:
        why = f"the workspace image {image} is not built (run `make image`)"
    if requested == "container":
        raise OcwError(
            f"--engine container needs podman and the workspace image, but {why}",
            hint="run `make image` (it installs nothing itself: podman, runc and mmdebstrap come from make setup), "
            "or use --engine process",
            exit_code=EXIT_CANNOT_RUN,
        )
    return EngineChoice(None, None, f"running as processes on this machine: {why}")
