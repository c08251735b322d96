"""Everything a cluster run shares: the options, the workspaces from the tree, the cluster, and what was read once
(the domain, each workspace's Secret, the Doppler store) so that no check asks twice."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw.component import PASSWORD_ENV, SecretRole
from ocw.console import Progress
from ocw.errors import OcwError
from ocw.secrets.base import SecretStore
from ocw.verify.cluster import CONFIGMAP, DEPLOYMENT, HTTPROUTE, POD, SECRET, Cluster
from ocw.verify.endpoint import Endpoint, ssl_context
from ocw.verify.pods import current_pod, selector
from ocw.workspace import Workspace

FLUX_NAMESPACE = "flux-system"
CLUSTER_SETTINGS = "cluster-settings"
CLUSTER_SECRETS = "cluster-secrets"
DOMAIN_VAR = "SECRET_DOMAIN"


@dataclass
class Options:
    repo: Path
    var_files: list[Path] = field(default_factory=list)
    phases: tuple[int, ...] = (1, 2, 3, 4)
    workspaces: tuple[str, ...] = ()
    disruptive: bool = False
    timeout: float = 300.0  # bound of each disruptive wait
    http_timeout: float = 10.0
    connect_to: dict[str, tuple[str, int]] = field(default_factory=dict)
    ca_file: str | None = None
    doppler_project: str | None = None
    doppler_config: str | None = None
    progress: Callable[[str], None] = field(default_factory=lambda: Progress("verify"))
    poll_interval: float = 2.0
    github_api: str = "https://api.github.com"
    prometheus: str | None = None  # the Prometheus HTTP API base; None: through the API server's service proxy


@dataclass
class SecretData:
    """A workspace Secret, decoded in memory; `error` says why it could not be read."""

    values: dict[str, str] = field(default_factory=dict, repr=False)
    error: OcwError | None = None


class VerifyContext:
    def __init__(
        self,
        options: Options,
        cluster: Cluster,
        workspaces: list[Workspace],
        tree_vars: dict[str, str],
        open_store: Callable[[str | None, str | None], SecretStore],
    ) -> None:
        self.options = options
        self.cluster = cluster
        self.workspaces = workspaces
        self.tree_vars = tree_vars
        self._open_store = open_store
        self._domain: tuple[str | None, str] | None = None
        self._secrets: dict[str, SecretData] = {}
        self._store: SecretStore | OcwError | None = None
        self._endpoints: dict[str, Endpoint] = {}
        self.cache: dict[str, Any] = {}

    # --- the domain, from the cluster (or --vars)
    def domain(self) -> tuple[str | None, str]:
        """(domain, where it came from)."""
        if self._domain is None:
            self._domain = self._find_domain()
        return self._domain

    def _find_domain(self) -> tuple[str | None, str]:
        if self.options.var_files and self.tree_vars.get(DOMAIN_VAR):
            return self.tree_vars[DOMAIN_VAR], "--vars"
        for ws in self.workspaces:
            live = self.live_hostname(ws)
            prefix = self._host_prefix(ws)
            if live and prefix and live.startswith(prefix):
                return live[len(prefix) :], f"HTTPRoute {ws.namespace}/{self.route_name(ws)}"
        settings = self.cluster.get(CONFIGMAP, CLUSTER_SETTINGS, FLUX_NAMESPACE)
        value = ((settings or {}).get("data") or {}).get(DOMAIN_VAR)
        if value:
            return str(value), f"ConfigMap {FLUX_NAMESPACE}/{CLUSTER_SETTINGS}"
        secrets = self.cluster.get(SECRET, CLUSTER_SECRETS, FLUX_NAMESPACE)
        encoded = ((secrets or {}).get("data") or {}).get(DOMAIN_VAR)
        if encoded:
            return _decode(str(encoded)), f"Secret {FLUX_NAMESPACE}/{CLUSTER_SECRETS}"
        return None, "nowhere (no workspace route, no SECRET_DOMAIN in cluster-settings or cluster-secrets)"

    def _host_prefix(self, ws: Workspace) -> str | None:
        tree_domain = self.tree_vars.get(DOMAIN_VAR, "")
        if ws.hostname and tree_domain and ws.hostname.endswith(tree_domain):
            return ws.hostname[: -len(tree_domain)]
        return None

    def route_name(self, ws: Workspace) -> str:
        """The route's name as the chart renders it (app-template: `<release>` for a release's only route)."""
        return ws.route.name if ws.route is not None else ws.name

    def route(self, ws: Workspace) -> dict[str, Any] | None:
        key = f"route/{ws.name}"
        if key not in self.cache:
            self.cache[key] = self.cluster.get(HTTPROUTE, self.route_name(ws), ws.namespace)
        route: dict[str, Any] | None = self.cache[key]
        return route

    def live_hostname(self, ws: Workspace) -> str | None:
        hostnames = ((self.route(ws) or {}).get("spec") or {}).get("hostnames") or []
        return str(hostnames[0]) if hostnames else None

    def hostname(self, ws: Workspace) -> str | None:
        """The workspace's public hostname in this cluster."""
        if not self.options.var_files:
            live = self.live_hostname(ws)
            if live:
                return live
        prefix = self._host_prefix(ws)
        domain, _ = self.domain()
        if prefix and domain:
            return prefix + domain
        return ws.hostname if self.options.var_files else None

    # --- Secrets, in memory only
    def secret(self, ws: Workspace) -> SecretData:
        if ws.name not in self._secrets:
            self._secrets[ws.name] = self._read_secret(ws)
        return self._secrets[ws.name]

    def _read_secret(self, ws: Workspace) -> SecretData:
        if not ws.secret_name:
            return SecretData(error=OcwError(f"the tree names no Secret for {ws.name}", hint="run `ocw check`"))
        try:
            obj = self.cluster.get(SECRET, ws.secret_name, ws.namespace)
        except OcwError as exc:
            return SecretData(error=exc)
        if obj is None:
            return SecretData(
                error=OcwError(
                    f"Secret {ws.namespace}/{ws.secret_name} does not exist",
                    hint=f"the ExternalSecret {ws.name} creates it: `kubectl -n {ws.namespace} describe "
                    f"externalsecret {ws.name}`",
                )
            )
        return SecretData({str(k): _decode(str(v)) for k, v in (obj.get("data") or {}).items()})

    def secret_key(self, ws: Workspace, role: SecretRole) -> str | None:
        """The key of the workspace Secret that carries the Doppler variable of `role` (e.g. GITHUB_PAT)."""
        variable = ws.doppler_keys.get(role)
        if not variable:
            return None
        for key, template in ws.secret_template.items():
            if f".{variable} " in template or f".{variable}}}" in template:
                return key
        return variable if not ws.secret_template else None

    def password_key(self, ws: Workspace) -> str:
        ref = ws.password_ref
        return ref[1] if ref is not None else PASSWORD_ENV

    def password(self, ws: Workspace) -> str:
        data = self.secret(ws)
        key = self.password_key(ws)
        if data.error is None and data.values.get(key):
            return data.values[key]
        variable = ws.doppler_keys.get("PASSWORD")
        store = self.store()
        if variable and not isinstance(store, OcwError):
            value = store.get(variable)
            if value:
                return value
        why = data.error.message if data.error else f"the Secret {ws.secret_name} has no {key}"
        raise OcwError(
            f"could not read the password of {ws.name}: {why}",
            hint="give this kube context read access to that Secret, or configure Doppler (DOPPLER_TOKEN or "
            "`doppler login`) so the password can be read from there",
        )

    # --- Doppler
    def store(self) -> SecretStore | OcwError:
        if self._store is None:
            try:
                self._store = self._open_store(self.options.doppler_project, self.options.doppler_config)
            except OcwError as exc:
                self._store = exc
        return self._store

    # --- pods
    def deployment(self, ws: Workspace) -> dict[str, Any] | None:
        return self.cluster.get(DEPLOYMENT, ws.workload.name, ws.namespace)

    def pods(self, ws: Workspace) -> list[dict[str, Any]]:
        deployment = self.deployment(ws)
        if deployment is None:
            return []
        return self.cluster.list(POD, ws.namespace, selector(deployment))

    def current_pod(self, ws: Workspace) -> dict[str, Any] | None:
        return current_pod(self.pods(ws))

    # --- the workspace's server
    def endpoint(self, ws: Workspace) -> Endpoint:
        if ws.name not in self._endpoints:
            hostname = self.hostname(ws)
            if not hostname:
                raise OcwError(
                    f"the hostname of {ws.name} is unknown: no HTTPRoute {self.route_name(ws)} in {ws.namespace} "
                    "and no domain found in the cluster",
                    hint="pass --vars FILE with SECRET_DOMAIN, or check that the HelmRelease rendered its route",
                )
            self._endpoints[ws.name] = Endpoint(
                workspace=ws.name,
                url=f"https://{hostname}",
                password_source=lambda: self.password(ws),
                routes=self.options.connect_to,
                tls=ssl_context(self.options.ca_file),
                timeout=self.options.http_timeout,
            )
        return self._endpoints[ws.name]


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
