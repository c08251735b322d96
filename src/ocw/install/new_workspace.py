"""A workspace added with `ocw install --workspace NAME`: its inputs checked, its defaults derived from the workspaces
that exist, and its backup minute chosen where no other backup runs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ocw.errors import OcwError

APP_PREFIX = "opencode-"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The app name becomes the name of the HelmRelease, claim and `<app>-volsync-secret`-style objects: Kubernetes and
# Helm cap those at 53-63 characters, so the app keeps room for the longest suffix.
MAX_APP_LENGTH = 40
SECRET_PREFIX = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Values land in YAML and pass through Flux substitution: letters, digits and path punctuation only, never `$`.
URL_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+/?$")
DIRECTORY = re.compile(r"^(/[A-Za-z0-9._~@+-]+)+$")
# The cluster's backups are staggered; minutes 30-55 are left for these workspaces. Round minutes first.
BACKUP_WINDOW = range(30, 56)
PREFERRED_MINUTES = (30, 35, 40, 45, 50, 55)


@dataclass(frozen=True)
class WorkspaceRequest:
    """What the user asked for; None means derive it."""

    name: str
    repository: str
    directory: str | None = None
    host: str | None = None
    secret_prefix: str | None = None


@dataclass(frozen=True)
class DefinedApp:
    """A Flux Kustomization already defined (in the repository, the project's tree or the host cluster), with its
    `postBuild.substitute` variables; `workspace` when it lives in the workspaces' apps folder."""

    app: str
    variables: Mapping[str, str]
    workspace: bool


@dataclass(frozen=True)
class NewWorkspace:
    app: str
    host: str
    secret_prefix: str
    repository: str
    directory: str
    schedule: str

    def variables(self) -> dict[str, str]:
        """Every per-workspace variable of the app's `postBuild.substitute`; the rest is the template's."""
        return {
            "WORKSPACE_HOST": self.host,
            "WORKSPACE_SECRET_PREFIX": self.secret_prefix,
            "WORKSPACE_GIT_REPOSITORY": self.repository,
            "WORKSPACE_DIR": self.directory,
            "VOLSYNC_SCHEDULE": self.schedule,
            **derived_variables(self.directory),
        }


def derived_variables(directory: str) -> dict[str, str]:
    """Variables computed from others, because Flux substitution cannot compute: the one place to add them."""
    del directory
    return {}


def app_name(name: str) -> str:
    short = name.removeprefix(APP_PREFIX)
    app = APP_PREFIX + short
    if not short or not DNS_LABEL.match(short) or len(app) > MAX_APP_LENGTH:
        raise OcwError(
            f"--workspace expects a name like `docs` or `opencode-docs` (lower-case letters, digits and `-`, at most "
            f"{MAX_APP_LENGTH} characters with the `{APP_PREFIX}` prefix), found {name!r}",
            hint="pick a short lower-case name",
        )
    return app


def resolve(request: WorkspaceRequest, defined: Iterable[DefinedApp]) -> NewWorkspace:
    """The new workspace with every default filled in; OcwError (exit 2) for any bad or clashing input. A workspace
    of the same name may exist: the caller compares what it would write with what is there."""
    app = app_name(request.name)
    others = [d for d in defined if d.app != app]
    if any(d.app == app and not d.workspace for d in defined):
        raise OcwError(
            f"--workspace {request.name}: a Flux Kustomization named {app} exists already and is no workspace",
            hint="pick another name",
        )
    repository = check_repository(request.repository)
    host = request.host or app.removeprefix(APP_PREFIX)
    if not DNS_LABEL.match(host):
        raise OcwError(f"--host expects one DNS label (lower-case letters, digits, `-`), found {host!r}")
    secret_prefix = request.secret_prefix or "OPENCODE_" + host.upper().replace("-", "_")
    if not SECRET_PREFIX.match(secret_prefix):
        raise OcwError(
            f"--secret-prefix expects upper-case letters, digits and `_` (a Doppler variable prefix), found "
            f"{secret_prefix!r}"
        )
    directory = check_directory(request.directory) if request.directory else default_directory(repository, others)
    _refuse_clash(others, "WORKSPACE_HOST", host, "--host", f"the URL https://{host}.opencode.<domain>")
    _refuse_clash(others, "WORKSPACE_SECRET_PREFIX", secret_prefix, "--secret-prefix", "its Doppler variables")
    return NewWorkspace(app, host, secret_prefix, repository, directory, _schedule(others))


def check_repository(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise OcwError(
            f"--repository expects an https:// clone URL, found {url!r}",
            hint="use the repository's HTTPS URL, e.g. https://github.com/OWNER/REPO.git (the token is never in it)",
        )
    if "@" in parts.netloc or parts.username or parts.password:
        raise OcwError(
            "--repository must not carry credentials (user:token@): found some in the URL, which would land in git "
            "and the cluster. Nothing was written",
            hint="pass the plain https://HOST/OWNER/REPO.git URL; the token comes from Doppler",
        )
    if not parts.hostname or parts.query or parts.fragment or not URL_PATH.match(parts.path) or "$" in url:
        raise OcwError(
            f"--repository expects https://HOST/OWNER/REPO(.git) with no query or `$`, found {url!r}",
            hint="copy the HTTPS clone URL from the repository's page",
        )
    return url


def check_directory(directory: str) -> str:
    path = PurePosixPath(directory)
    if not directory.startswith("/") or not DIRECTORY.match(directory) or ".." in path.parts or "." in path.parts:
        raise OcwError(
            f"--dir expects an absolute path such as /Users/you/git/repo (letters, digits, `._~@+-`), found "
            f"{directory!r}",
            hint="OpenCode keys the sessions by this path: give the absolute path the clone should have",
        )
    return directory


def default_directory(repository: str, existing: Iterable[DefinedApp]) -> str:
    parents = {
        str(PurePosixPath(ws.variables["WORKSPACE_DIR"]).parent)
        for ws in existing
        if ws.workspace and ws.variables.get("WORKSPACE_DIR")
    }
    if len(parents) != 1:
        found = ", ".join(sorted(parents)) or "no workspace"
        raise OcwError(
            f"--dir is needed: the default sits beside the existing workspaces' clones, expected one parent folder, "
            f"found {found}",
            hint="pass --dir /absolute/path/of/the/clone",
        )
    name = PurePosixPath(urlsplit(repository).path).name.removesuffix(".git")
    return check_directory(f"{parents.pop()}/{name}")


def used_minutes(schedules: Iterable[str]) -> set[int]:
    minutes: set[int] = set()
    for schedule in schedules:
        first = schedule.split()[0] if schedule.split() else ""
        minutes.update(int(part) for part in first.split(",") if part.isdigit())
    return minutes


def _schedule(existing: Iterable[DefinedApp]) -> str:
    used = used_minutes(ws.variables.get("VOLSYNC_SCHEDULE", "") for ws in existing)
    free = [m for m in PREFERRED_MINUTES if m not in used] or [m for m in BACKUP_WINDOW if m not in used]
    if not free:
        raise OcwError(
            f"no free backup minute left in {BACKUP_WINDOW.start}-{BACKUP_WINDOW.stop - 1}: every one is used by a "
            f"workspace's VOLSYNC_SCHEDULE",
            hint="give two workspaces a shared minute by editing a ks.yaml by hand",
        )
    return f"{free[0]} * * * *"


def _refuse_clash(others: Iterable[DefinedApp], key: str, value: str, option: str, what: str) -> None:
    for ws in others:
        if ws.variables.get(key) == value:
            raise OcwError(
                f"{option} {value}: the workspace {ws.app} already uses it ({key}); two workspaces cannot share {what}",
                hint=f"pass another {option}",
            )
