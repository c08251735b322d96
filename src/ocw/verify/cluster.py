"""Read access to the cluster (and the two writes `--disruptive` needs), through lightkube.

Every call has a timeout and a bounded number of attempts (connection failures, timeouts, 429 and 5xx are retried
with a short back-off; 4xx answers are final). Objects come back as plain dicts, as the API server sent them.
A `Cluster` made with `allow_writes=False` refuses every write before it reaches the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from lightkube import Client
from lightkube.config.client_adapter import Client as HttpClient
from lightkube.config.client_adapter import ConnectionParams
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, Secret, Service
from lightkube.types import PatchType

from ocw.errors import OcwError

T = TypeVar("T")

CERTIFICATE = create_namespaced_resource("cert-manager.io", "v1", "Certificate", "certificates")
HELMRELEASE = create_namespaced_resource("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases")
EXTERNALSECRET = create_namespaced_resource("external-secrets.io", "v1", "ExternalSecret", "externalsecrets")
KUSTOMIZATION = create_namespaced_resource("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations")
HTTPROUTE = create_namespaced_resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
REPLICATIONSOURCE = create_namespaced_resource("volsync.backube", "v1alpha1", "ReplicationSource", "replicationsources")

NAMESPACE: Any = Namespace
POD: Any = Pod
SECRET: Any = Secret
CONFIGMAP: Any = ConfigMap
DEPLOYMENT: Any = Deployment
SERVICE: Any = Service
ALL_NAMESPACES = "*"

_RETRIED_STATUS = {429, 500, 502, 503, 504}


class ClusterUnreachable(OcwError):
    """The API server could not be reached (or kept failing) within the attempts allowed."""


class WriteRefused(OcwError):
    """A write was attempted by a read-only run: a bug, never a user error."""


@dataclass(frozen=True)
class ClusterSettings:
    timeout: float = 10.0
    attempts: int = 3
    backoff: float = 0.5


def _kind(res: Any) -> str:
    return str(getattr(res, "_api_info").resource.kind)  # noqa: B009 - lightkube keeps the kind there


class Cluster:
    def __init__(
        self,
        config: SingleConfig,
        settings: ClusterSettings | None = None,
        *,
        allow_writes: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or ClusterSettings()
        self.allow_writes = allow_writes
        self.context = config.context_name
        self.server = config.cluster.server
        self._sleep = sleep
        self._config = config
        self._client = Client(config=config, timeout=httpx2.Timeout(self.settings.timeout), trust_env=True)
        self._http: httpx2.Client | None = None

    def close(self) -> None:
        self._client.close()
        if self._http is not None:
            self._http.close()

    def describe(self) -> str:
        return f"context {self.context} ({self.server})"

    # --- plumbing
    def _call(self, what: str, action: Callable[[], T]) -> T:
        last = ""
        for attempt in range(1, self.settings.attempts + 1):
            try:
                return action()
            except ApiError as exc:
                code = exc.status.code or 0
                if code not in _RETRIED_STATUS:
                    raise
                last = f"HTTP {code}: {exc.status.message}"
            except httpx2.TimeoutException:
                last = f"no answer within {self.settings.timeout:g} s"
            except httpx2.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if attempt < self.settings.attempts:
                self._sleep(self.settings.backoff * attempt)
        raise ClusterUnreachable(
            f"{what}: the API server at {self.server} failed {self.settings.attempts} times (last: {last})",
            hint="check that `kubectl --context "
            f"{self.context} get ns` works from here (VPN, kubeconfig, API server health)",
        )

    def _refuse_writes(self, what: str) -> None:
        if not self.allow_writes:
            raise WriteRefused(f"refused to {what}: this run is read-only", hint="only --disruptive may change things")

    @staticmethod
    def _forbidden(exc: ApiError, what: str) -> OcwError:
        code = exc.status.code
        return OcwError(
            f"{what}: the API server answered {code} {exc.status.reason or ''}: {exc.status.message}".rstrip(),
            hint="the identity in this kube context needs get/list on that resource (see docs/verify.md)",
        )

    # --- reads
    def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when the API server answers 404."""
        what = f"get {_kind(res)} {namespace + '/' if namespace else ''}{name}"
        try:
            obj = self._call(what, lambda: self._client.get(res, name, namespace=namespace))
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise self._forbidden(exc, what) from None
        return dict(obj.to_dict())

    def list(
        self, res: Any, namespace: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        what = f"list {_kind(res)} in {namespace or 'all namespaces'}"

        def run() -> list[dict[str, Any]]:
            items: Iterable[Any] = self._client.list(res, namespace=namespace, labels=dict(labels) if labels else None)
            return [dict(item.to_dict()) for item in items]

        try:
            return self._call(what, run)
        except ApiError as exc:
            if exc.status.code == 404:
                return []
            raise self._forbidden(exc, what) from None

    def logs(self, pod: str, namespace: str, container: str) -> str:
        what = f"read the log of {namespace}/{pod} container {container}"
        try:
            return self._call(
                what, lambda: "".join(self._client.log(pod, namespace=namespace, container=container, newlines=True))
            )
        except ApiError as exc:
            raise self._forbidden(exc, what) from None

    def service_proxy_get(
        self, namespace: str, service: str, port: str, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """GET `path` of a Service through the API server's service proxy
        (`/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>`, permission `services/proxy` get): the status
        and body the Service answered, or the API server's own refusal (403, or 503 without a ready endpoint).
        Connection failures are retried as for every read; an answer, whatever its status, is returned."""
        what = f"get {path} from Service {namespace}/{service}:{port} through the API server's service proxy"
        if self._http is None:
            self._http = HttpClient(self._config, ConnectionParams(timeout=httpx2.Timeout(self.settings.timeout)))
        client = self._http
        url = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{path.lstrip('/')}"

        response = self._call(what, lambda: client.get(url, params=dict(params or {})))
        return response.status_code, response.content

    # --- writes (--disruptive only)
    def delete_pod(self, name: str, namespace: str) -> None:
        what = f"delete pod {namespace}/{name}"
        self._refuse_writes(what)
        try:
            self._call(what, lambda: self._client.delete(Pod, name, namespace=namespace))
        except ApiError as exc:
            if exc.status.code != 404:
                raise self._forbidden(exc, what) from None

    def merge_patch(self, res: Any, name: str, namespace: str, patch: dict[str, Any]) -> None:
        what = f"patch {_kind(res)} {namespace}/{name}"
        self._refuse_writes(what)
        try:
            self._call(
                what, lambda: self._client.patch(res, name, patch, namespace=namespace, patch_type=PatchType.MERGE)
            )
        except ApiError as exc:
            raise self._forbidden(exc, what) from None
