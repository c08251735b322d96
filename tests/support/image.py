"""The workspace image for tests: built once per session through the same code as `make image` (cached by its
inputs, so usually a no-op), or the test is skipped, saying why, when no container engine can run here.

Use it from a conftest:  `from support.image import workspace_image  # noqa: F401`, then take the fixture
`workspace_image` (a WorkspaceImage: `.engine`, `.name`, `.run(...)`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import pytest

from ocw.image.build import ensure_image
from ocw.image.engine import Engine, probe_engine


@dataclass(frozen=True)
class WorkspaceImage:
    engine: Engine
    name: str

    def run(self, *podman_args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`podman <args>` with the project's containers.conf."""
        return subprocess.run(
            self.engine.command(*podman_args),
            env=self.engine.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="session")
def workspace_image() -> WorkspaceImage:
    engine, why = probe_engine()
    if engine is None:
        pytest.skip(f"no container engine can run here: {why}")
    name, _built = ensure_image(engine)
    return WorkspaceImage(engine, name)
