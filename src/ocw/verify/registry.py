"""Every roadmap success criterion as a named check: its id (`P<phase>.<n>`, numbered as the roadmap numbers them),
what it proves, and which workspaces it runs for.

Phase 2 is the Flux workspace and Phase 3 the HA workspace (and any further workspace, which mirrors the pattern).
P2.5 and P2.6 are stated for Flux only, but HA-05/HA-06 require the same of HA: they run for every workspace.
`SEC.1` / `SEC.2` are not roadmap items either: they check the pod hardening (docs/security.md) and run with phase 4.
`MON.1` / `MON.2` are not roadmap items: they read the workspace's monitoring and run with phase 4.
`P2.0` / `P3.0` are not roadmap items; they check each phase's goal ("fully deployed"): the Flux objects are Ready
and the gateway accepted the route, so a failure there explains the HTTP failures that follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Who a check runs for: the cluster once, the phase's own workspace(s), or every selected workspace.
Scope = Literal["cluster", "phase-workspace", "every-workspace"]

# The roadmap's Phase 2 is the Flux workspace; Phase 3 covers the others (the HA workspace).
PHASE2_WORKSPACE = "flux"
PHASES = (1, 2, 3, 4)


@dataclass(frozen=True)
class Criterion:
    id: str
    phase: int
    title: str
    proves: str
    scope: Scope
    disruptive: bool = False  # needs --disruptive (deletes pods / changes a Secret); skipped otherwise
    local: bool = False  # also checked by `ocw verify --local`

    @property
    def name(self) -> str:
        """The plain name shown beside the roadmap id: what the check is about, in words a script can match."""
        return NAMES[self.id]


# A plain name for every id: the roadmap numbers criteria, people remember what they are about.
NAMES: dict[str, str] = {
    "P1.1": "namespace",
    "P1.2": "certificate",
    "P1.3": "doppler-variables",
    "P1.4": "seed-script",
    "P1.5": "no-secret-in-git",
    "P2.0": "deployed",
    "P2.1": "https-password",
    "P2.2": "copilot-models",
    "P2.3": "working-directory",
    "P2.4": "sessions-survive-restart",
    "P2.5": "no-token-in-logs",
    "P2.6": "fast-restart",
    "P3.0": "deployed",
    "P3.1": "https-password",
    "P3.2": "copilot-models",
    "P3.3": "working-directory",
    "P3.4": "sessions-survive-restart",
    "P3.5": "independent-workspaces",
    "P4.1": "copilot-survives-restart",
    "P4.2": "backups",
    "P4.3": "copilot-reauth",
    "P4.4": "reloader",
    "SEC.1": "sharing-off",
    "SEC.2": "branch-protected",
    "SEC.3": "origin-gate",
    "MON.1": "no-alert-firing",
    "MON.2": "copilot-login-health",
}


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "P1.1",
        1,
        "namespace exists and is Active",
        "the workspace namespace is Active and carries the Flux prune guard "
        "(kustomize.toolkit.fluxcd.io/prune: disabled)",
        "cluster",
    ),
    Criterion(
        "P1.2",
        1,
        "*.opencode certificate Ready",
        "a cert-manager Certificate in namespace network covers *.opencode.<domain>, is issued by the issuer the "
        "tree names, and is Ready=True",
        "cluster",
    ),
    Criterion(
        "P1.3",
        1,
        "Doppler variables populated",
        "every workspace variable the ExternalSecrets read (<PREFIX>_GITHUB_PAT, _PASSWORD, _COPILOT_AUTH_JSON) "
        "exists in the Doppler config and is not empty (values are never printed)",
        "cluster",
    ),
    Criterion(
        "P1.4",
        1,
        "seed-copilot-auth.sh present and idempotent",
        "scripts/seed-copilot-auth.sh exists, runs, and a --dry-run reports every Copilot variable unchanged",
        "cluster",
    ),
    Criterion(
        "P1.5",
        1,
        "no secret in committed manifests",
        "`grep -r 'ghp_\\|auth.json' kubernetes/apps/opencode/` finds nothing, and no GitHub token pattern appears "
        "in any built workspace manifest",
        "cluster",
    ),
    Criterion(
        "P2.0",
        2,
        "Flux workspace deployed",
        "the Flux Kustomization, HelmRelease and ExternalSecret are Ready for their current generation and the "
        "gateway Accepted the route with ResolvedRefs",
        "phase-workspace",
    ),
    Criterion(
        "P2.1",
        2,
        "HTTPS serves the UI behind a password",
        "the served certificate covers the hostname, a request without credentials gets 401 with a Basic "
        "challenge, and with the password the web UI and API answer",
        "phase-workspace",
        local=True,
    ),
    Criterion(
        "P2.2",
        2,
        "Copilot models listed",
        "GET /config/providers lists github-copilot as connected, with its models",
        "phase-workspace",
        local=True,
    ),
    Criterion(
        "P2.3",
        2,
        "working directory is the clone",
        "the server's directory and project worktree are the manifest's workingDir (the git clone)",
        "phase-workspace",
        local=True,
    ),
    Criterion(
        "P2.4",
        2,
        "sessions survive a pod delete",
        "after deleting the pod and waiting for its replacement, every session listed before is listed again",
        "phase-workspace",
        disruptive=True,
    ),
    Criterion(
        "P2.5",
        2,
        "no token in the init logs",
        "the git-clone init container's log holds no `ghp_`, no `github_pat_` and not the Secret's token value",
        "every-workspace",
    ),
    Criterion(
        "P2.6",
        2,
        "init exits in under 2 s on a populated volume",
        "the init container of a pod started on a populated volume did not clone and ran under 2 s "
        "(Kubernetes records whole seconds: at most 1 s recorded)",
        "every-workspace",
    ),
    Criterion(
        "P3.0",
        3,
        "HA workspace deployed",
        "the Flux Kustomization, HelmRelease and ExternalSecret are Ready for their current generation and the "
        "gateway Accepted the route with ResolvedRefs",
        "phase-workspace",
    ),
    Criterion(
        "P3.1",
        3,
        "HTTPS serves the UI behind a password",
        "the served certificate covers the hostname, a request without credentials gets 401 with a Basic "
        "challenge, and with the password the web UI and API answer",
        "phase-workspace",
        local=True,
    ),
    Criterion(
        "P3.2",
        3,
        "Copilot models listed",
        "GET /config/providers lists github-copilot as connected, with its models",
        "phase-workspace",
        local=True,
    ),
    Criterion(
        "P3.3",
        3,
        "working directory is the clone",
        "the server's directory and project worktree are the manifest's workingDir (the home-assistant-config "
        "clone, not the k8s-cluster one)",
        "phase-workspace",
        local=True,
    ),
    Criterion(
        "P3.4",
        3,
        "sessions survive a pod delete",
        "after deleting the pod and waiting for its replacement, every session listed before is listed again",
        "phase-workspace",
        disruptive=True,
    ),
    Criterion(
        "P3.5",
        3,
        "workspaces are independent",
        "while one workspace's pod is deleted and replaced, every other workspace keeps its pod (same uid) and "
        "keeps answering",
        "every-workspace",
        disruptive=True,
    ),
    Criterion(
        "P4.1",
        4,
        "Copilot survives a pod delete",
        "after the pod delete, github-copilot is still connected with its models (no re-login)",
        "every-workspace",
        disruptive=True,
    ),
    Criterion(
        "P4.2",
        4,
        "VolSync backup recent",
        "the ReplicationSource's lastSyncTime is within two schedule periods and the latest mover result is Successful",
        "every-workspace",
    ),
    Criterion(
        "P4.3",
        4,
        "Copilot re-auth path works",
        "the seed script's dry-run finds Doppler holding this machine's login, the cluster Secret carries the "
        "same document as Doppler (the ExternalSecret synced it), and the workspace shows Copilot connected",
        "every-workspace",
    ),
    Criterion(
        "P4.4",
        4,
        "Reloader restarts on a Secret change",
        "the Deployment (not the pod template) carries the Reloader annotation; with --disruptive, a change to the "
        "workspace Secret's data rolls the pod with no manual step",
        "every-workspace",
    ),
)

SECURITY_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "SEC.1",
        4,
        "session sharing is off",
        "GET /config shows the workspace's OpenCode config in force: share disabled, autoupdate off",
        "every-workspace",
        local=True,
    ),
    Criterion(
        "SEC.2",
        4,
        "the default branch requires pull requests",
        "read-only through the GitHub API with the workspace's PAT: the default branch carries a pull_request "
        "ruleset rule, and the token is not a classic one with repo, workflow or admin scopes",
        "every-workspace",
    ),
    Criterion(
        "SEC.3",
        4,
        "other web pages cannot drive the workspace",
        "without credentials: requests carrying another page's Origin (another host of the same site, the site's "
        "apex, another site, null) get the gateway's 403, and the workspace's own Origin reaches OpenCode",
        "every-workspace",
    ),
)
# Not roadmap items either: the workspace as the cluster's monitoring sees it (docs/monitoring.md), with phase 4.
MONITORING_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "MON.1",
        4,
        "monitored, no alert firing",
        "read-only from the cluster's Prometheus: the workspace's alert rules are loaded, its Probe is scraped and "
        "succeeds, and no alert about the workspace is firing",
        "every-workspace",
    ),
    Criterion(
        "MON.2",
        4,
        "Copilot login worked when last used",
        "the latest Copilot answer OpenCode recorded (GET /session/:id/message) was not refused by GitHub (401, 403); "
        "read only: no request is sent to Copilot",
        "every-workspace",
        local=True,
    ),
)
CRITERIA = CRITERIA + SECURITY_CRITERIA + MONITORING_CRITERIA

BY_ID = {c.id: c for c in CRITERIA}


def criterion(check_id: str) -> Criterion:
    return BY_ID[check_id]


def phase_of_workspace(short_name: str) -> int:
    """The roadmap phase whose own criteria (P<n>.0-P<n>.4) describe this workspace."""
    return 2 if short_name == PHASE2_WORKSPACE else 3
