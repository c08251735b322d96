"""The project's own GitOps tree, which `ocw install` copies: the checkout's kubernetes/ (and
scripts/seed-copilot-auth.sh) when ocw runs from a checkout (editable install), else the copy the wheel ships as
package data (setup.py's build step puts it at ocw/manifests/). There is one copy in git: the checkout's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ocw.errors import OcwError
from ocw.paths import PACKAGE_DIR

TREE = PurePosixPath("kubernetes")
COMPONENT = TREE / "components" / "opencode-workspace"
APPS = TREE / "apps" / "opencode"
AGGREGATOR = APPS / "kustomization.yaml"
TEMPLATE_APP = "opencode-flux"  # the workspace whose files are the shape of every new one
# Beside the tree: the Copilot seed script, which works on the repository it lives in (and `ocw verify` runs there).
SEED_SCRIPT = PurePosixPath("scripts/seed-copilot-auth.sh")


@dataclass(frozen=True)
class Manifests:
    root: Path  # holds kubernetes/

    def files(self) -> list[PurePosixPath]:
        """Every file of the tree, relative to root, in a stable order."""
        base = self.root / TREE
        tree = [PurePosixPath(p.relative_to(self.root).as_posix()) for p in base.rglob("*") if p.is_file()]
        return sorted([*tree, SEED_SCRIPT])

    def read(self, relative: PurePosixPath) -> bytes:
        return (self.root / relative).read_bytes()

    def workspace_apps(self) -> list[str]:
        return sorted(p.parent.name for p in (self.root / APPS).glob("*/ks.yaml"))


def locate(package_dir: Path = PACKAGE_DIR) -> Manifests:
    checkout = package_dir.parent.parent
    if (
        (checkout / "pyproject.toml").is_file()
        and (checkout / COMPONENT).is_dir()
        and (checkout / SEED_SCRIPT).is_file()
    ):
        return Manifests(checkout)
    packaged = package_dir / "manifests"
    if (packaged / COMPONENT).is_dir() and (packaged / SEED_SCRIPT).is_file():
        return Manifests(packaged)
    raise OcwError(
        f"expected the project's GitOps tree at {checkout / TREE} (a checkout) or {packaged / TREE} (an installed "
        f"wheel), found neither",
        hint="reinstall ocw from the project (pip/pipx/uv install builds the wheel with the tree inside)",
    )
