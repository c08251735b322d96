"""The numbered steps after `ocw install`, for what it just did: Doppler for the workspaces, the commit, then
`ocw verify` once Flux has applied it (docs/deploy.md walks the same steps)."""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from ocw.install.manifests import APPS, COMPONENT
from ocw.install.plan import Plan


def next_steps(plan: Plan, workspaces: list[str]) -> list[str]:
    if not plan.to_write:
        return []
    repo = shlex.quote(str(plan.repo))
    new = plan.workspace.app if plan.workspace is not None else None
    only = f" --workspace {new}" if new else ""
    who = new or ", ".join(workspaces) or "each workspace"
    paths = sorted({_area(change.path) for change in plan.to_write})
    return [
        f"create the Doppler variables of {who} (asks for each GitHub token): ocw secrets init --repo {repo}{only}",
        f"copy your Copilot login into them: {repo}/scripts/seed-copilot-auth.sh{only}",
        f"review and commit: git -C {repo} add {' '.join(paths)} && git -C {repo} commit -m 'opencode workspaces'",
        f"push (Flux applies it), then, once reconciled: ocw verify --repo {repo}{only}",
    ]


def _area(path: PurePosixPath) -> str:
    """The folder install owns as a whole (the workspaces, the component), else the file itself."""
    return next((str(folder) for folder in (APPS, COMPONENT) if path.is_relative_to(folder)), str(path))
