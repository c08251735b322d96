"""A local stand-in for the Kubernetes API server, for tests of `ocw verify` (the one remote service that cannot run
here). It answers the documented REST paths with the documented shapes:

  GET    /api/v1/namespaces[/<name>]                           Namespace (cluster-scoped)
  GET    /api/v1/namespaces/<ns>/<plural>[/<name>]              core objects (pods, secrets, configmaps)
  GET    /apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>]   apps and custom resources
  GET    /api/v1/namespaces/<ns>/pods/<pod>/log?container=<c>   text/plain log
  DELETE /api/v1/namespaces/<ns>/pods/<pod>                     sets deletionTimestamp, returns the Pod; the pod goes
                                                               away and its Deployment's replacement appears later
  PATCH  .../<plural>/<name>  (application/merge-patch+json)    RFC 7386 merge patch
  GET    /api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>   the service proxy: forwarded to the backend a
                                                               test registered for the Service (`service_backends`),
                                                               503 `no endpoints available` without one
Lists are `<Kind>List` objects with `metadata.resourceVersion` and `items` (core/apps items without kind/apiVersion,
as the API server sends them; custom resources with them); `labelSelector=k=v,...` filters. Unknown objects are 404
`Status` objects (`kind: Status`, `status: Failure`, `reason: NotFound`, `details`). Every request is recorded.

Two controllers are imitated because verify depends on what they do: the Deployment controller (a deleted pod is
replaced by a new one, Pending, then Running and Ready with its init container terminated) and Stakater Reloader
(a data change of a Secret rolls the Deployments annotated `reloader.stakater.com/auto: "true"` in its namespace).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

JsonObject = dict[str, Any]

# kind -> (API prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("api/v1", "namespaces", False),
    "Pod": ("api/v1", "pods", True),
    "Secret": ("api/v1", "secrets", True),
    "ConfigMap": ("api/v1", "configmaps", True),
    "Service": ("api/v1", "services", True),
    "Deployment": ("apis/apps/v1", "deployments", True),
    "Certificate": ("apis/cert-manager.io/v1", "certificates", True),
    "HelmRelease": ("apis/helm.toolkit.fluxcd.io/v2", "helmreleases", True),
    "ExternalSecret": ("apis/external-secrets.io/v1", "externalsecrets", True),
    "Kustomization": ("apis/kustomize.toolkit.fluxcd.io/v1", "kustomizations", True),
    "HTTPRoute": ("apis/gateway.networking.k8s.io/v1", "httproutes", True),
    "ReplicationSource": ("apis/volsync.backube/v1alpha1", "replicationsources", True),
}
_BUILTIN_PREFIXES = ("api/v1", "apis/apps/v1")
_KIND_OF = {(prefix, plural): kind for kind, (prefix, plural, _) in KINDS.items()}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return rfc3339(datetime.now(UTC))


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass
class NextBoot:
    """What the next replacement pod's init container does."""

    init_seconds: int = 1
    init_log: str = "init: repository present at /data: not cloning\ninit: done in 1s\n"


@dataclass
class FakeKube:
    replacement_delay: float = 0.3  # a deleted pod's replacement appears after this long
    ready_delay: float = 0.5  # ... and becomes Ready this much later
    replace_pods: bool = True  # False: the Deployment controller never replaces a deleted pod
    reloader: bool = True  # False: nothing reacts to a Secret change
    next_boot: NextBoot = field(default_factory=NextBoot)
    objects: dict[tuple[str, str, str | None, str], JsonObject] = field(default_factory=dict)
    logs: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (namespace, service name) -> base URL of what answers behind the Service (its endpoints)
    service_backends: dict[tuple[str, str], str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _resource_version: int = 1000
    _pod_counter: int = 0

    # --- the store
    def key(self, kind: str, name: str, namespace: str | None) -> tuple[str, str, str | None, str]:
        prefix, plural, namespaced = KINDS[kind]
        return (prefix, plural, namespace if namespaced else None, name)

    def add(self, obj: JsonObject) -> JsonObject:
        with self.lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now())
            meta.setdefault("generation", 1)
            self._resource_version += 1
            meta["resourceVersion"] = str(self._resource_version)
            self.objects[self.key(obj["kind"], meta["name"], meta.get("namespace"))] = obj
            return obj

    def get(self, kind: str, name: str, namespace: str | None = None) -> JsonObject | None:
        with self.lock:
            return self.objects.get(self.key(kind, name, namespace))

    def remove(self, kind: str, name: str, namespace: str | None = None) -> None:
        with self.lock:
            self.objects.pop(self.key(kind, name, namespace), None)

    def pods(self, namespace: str, labels: dict[str, str]) -> list[JsonObject]:
        with self.lock:
            return [
                o
                for (prefix, plural, ns, _), o in self.objects.items()
                if plural == "pods" and ns == namespace and _matches(o, labels)
            ]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method not in ("GET", "HEAD")]

    # --- controllers
    def new_pod(self, deployment: JsonObject, *, ready: bool, init_seconds: int | None = None) -> JsonObject:
        with self.lock:
            self._pod_counter += 1
            meta = deployment["metadata"]
            spec = deployment["spec"]
            name = f"{meta['name']}-7d9f8b6c4-{self._pod_counter:05x}"
            template = spec["template"]
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": meta["namespace"],
                    "labels": dict(template["metadata"]["labels"]),
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "ReplicaSet",
                            "name": f"{meta['name']}-7d9f8b6c4",
                            "uid": str(uuid.uuid4()),
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "spec": copy.deepcopy(template["spec"]),
                "status": {"phase": "Pending", "conditions": [], "qosClass": "Burstable"},
            }
            added = self.add(pod)
            if ready:
                self._make_ready(added, init_seconds if init_seconds is not None else self.next_boot.init_seconds)
            return added

    def _make_ready(self, pod: JsonObject, init_seconds: int) -> None:
        with self.lock:
            finished = datetime.now(UTC).replace(microsecond=0)
            started = finished - timedelta(seconds=init_seconds)
            spec = pod["spec"]
            init = spec.get("initContainers") or []
            pod["status"] = {
                "phase": "Running",
                "hostIP": "10.0.0.11",
                "podIP": "10.42.1.23",
                "startTime": rfc3339(started),
                "qosClass": "Burstable",
                "conditions": [
                    {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(finished)}
                    for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
                ],
                "initContainerStatuses": [
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": True,
                        "restartCount": 0,
                        "started": False,
                        "state": {
                            "terminated": {
                                "exitCode": 0,
                                "reason": "Completed",
                                "startedAt": rfc3339(started),
                                "finishedAt": rfc3339(finished),
                                "containerID": "containerd://" + uuid.uuid4().hex,
                            }
                        },
                    }
                    for c in init
                ],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": True,
                        "restartCount": 0,
                        "started": True,
                        "state": {"running": {"startedAt": rfc3339(finished)}},
                    }
                    for c in spec.get("containers") or []
                ],
            }
            for c in init:
                self.logs[(pod["metadata"]["namespace"], pod["metadata"]["name"], c["name"])] = self.next_boot.init_log

    def _replace_later(self, deployment: JsonObject) -> None:
        def create() -> None:
            time.sleep(self.replacement_delay)
            pod = self.new_pod(deployment, ready=False)
            time.sleep(self.ready_delay)
            self._make_ready(pod, self.next_boot.init_seconds)

        threading.Thread(target=create, daemon=True).start()

    def _delete_pod(self, namespace: str, name: str) -> JsonObject | None:
        with self.lock:
            pod = self.get("Pod", name, namespace)
            if pod is None:
                return None
            pod["metadata"]["deletionTimestamp"] = now()
            pod["metadata"]["deletionGracePeriodSeconds"] = 10
            owner = self._owner_deployment(pod)

        def remove() -> None:
            time.sleep(min(self.replacement_delay, 0.2))
            self.remove("Pod", name, namespace)

        threading.Thread(target=remove, daemon=True).start()
        if owner is not None and self.replace_pods:
            self._replace_later(owner)
        return copy.deepcopy(pod)

    def _owner_deployment(self, pod: JsonObject) -> JsonObject | None:
        namespace = pod["metadata"]["namespace"]
        for (_, plural, ns, _), obj in self.objects.items():
            if plural == "deployments" and ns == namespace and _matches(pod, obj["spec"]["selector"]["matchLabels"]):
                return obj
        return None

    def _reload(self, secret: JsonObject) -> None:
        namespace = secret["metadata"]["namespace"]
        with self.lock:
            annotated = [
                o
                for (_, plural, ns, _), o in self.objects.items()
                if plural == "deployments"
                and ns == namespace
                and (o["metadata"].get("annotations") or {}).get("reloader.stakater.com/auto") == "true"
            ]
        for deployment in annotated:
            deployment["metadata"]["generation"] += 1
            for pod in self.pods(namespace, deployment["spec"]["selector"]["matchLabels"]):
                if not pod["metadata"].get("deletionTimestamp"):
                    self._delete_pod(namespace, pod["metadata"]["name"])

    # --- HTTP
    @contextmanager
    def serve(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                fake.requests.append(Recorded(self.command, parts.path, query, body))
                status, payload, content_type = fake.dispatch(self.command, parts.path, query, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_DELETE = do_PATCH = do_POST = do_PUT = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()

    def dispatch(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any, str]:
        parsed = _parse_path(path)
        if parsed is None:
            return _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        prefix, plural, namespace, name, sub = parsed
        kind = _KIND_OF.get((prefix, plural))
        if kind is None:
            return _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        with self.lock:
            if sub == "log" and method == "GET" and name:
                pod = self.get("Pod", name, namespace)
                if pod is None:
                    return _status(404, "NotFound", f'pods "{name}" not found', kind="pods", name=name)
                container = query.get("container", "")
                names = [c["name"] for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]]
                if container not in names:
                    return _status(400, "BadRequest", f"container {container} is not valid for pod {name}")
                text = self.logs.get((str(namespace), name, container), "")
                return 200, text.encode(), "text/plain"
            if sub == "proxy" and kind == "Service" and method == "GET" and name:
                return self._proxy(str(namespace), name, path.split("/proxy", 1)[1] or "/", query)
            if sub:
                return _status(404, "NotFound", f"unknown subresource {sub}")
            if method == "GET" and name is None:
                labels = _selector(query.get("labelSelector", ""))
                items = [
                    _list_item(prefix, copy.deepcopy(o))
                    for (p, pl, ns, _), o in sorted(self.objects.items(), key=lambda kv: kv[0][3])
                    if p == prefix and pl == plural and (namespace is None or ns == namespace) and _matches(o, labels)
                ]
                api_version = prefix.removeprefix("api/").removeprefix("apis/")
                return (
                    200,
                    {
                        "kind": f"{kind}List",
                        "apiVersion": api_version,
                        "metadata": {"resourceVersion": str(self._resource_version)},
                        "items": items,
                    },
                    "application/json",
                )
            obj = self.objects.get((prefix, plural, namespace, str(name)))
            if obj is None:
                return _status(404, "NotFound", f'{plural} "{name}" not found', kind=plural, name=str(name))
            if method == "GET":
                return 200, copy.deepcopy(obj), "application/json"
            if method == "DELETE" and kind == "Pod":
                deleted = self._delete_pod(str(namespace), str(name))
                return 200, deleted, "application/json"
            if method == "PATCH":
                patch = json.loads(body or b"{}")
                before = copy.deepcopy(obj.get("data"))
                merged = _merge(obj, patch)
                self.objects[(prefix, plural, namespace, str(name))] = merged
                self._resource_version += 1
                merged["metadata"]["resourceVersion"] = str(self._resource_version)
                if kind == "Secret" and merged.get("data") != before and self.reloader:
                    threading.Thread(target=self._reload, args=(merged,), daemon=True).start()
                return 200, copy.deepcopy(merged), "application/json"
        return _status(405, "MethodNotAllowed", f"{method} is not supported by this fake on {path}")

    def _proxy(self, namespace: str, target: str, path: str, query: dict[str, str]) -> tuple[int, Any, str]:
        """The API server's service proxy: `<name>:<port>` (a port's name or number) of a Service in `namespace`."""
        name, _, port = target.removeprefix("http:").partition(":")
        service = self.get("Service", name, namespace)
        if service is None:
            return _status(404, "NotFound", f'services "{name}" not found', kind="services", name=name)
        ports = service["spec"].get("ports") or []
        if port and not any(port in (str(p.get("name")), str(p.get("port"))) for p in ports):
            return _status(503, "ServiceUnavailable", f'no endpoints available for service "{name}:{port}"')
        backend = self.service_backends.get((namespace, name))
        if backend is None:
            return _status(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        answer = httpx.get(backend + path, params=query, timeout=30)
        return answer.status_code, answer.content, answer.headers.get("content-type", "application/octet-stream")

    # --- a kubeconfig pointing at it
    @staticmethod
    def write_kubeconfig(path: Path, server: str, context: str = "home-lab") -> Path:
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": context, "cluster": {"server": server}}],
                    "users": [{"name": f"{context}-admin", "user": {"token": "fake-token"}}],
                    "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-admin"}}],
                    "current-context": context,
                }
            )
        )
        return path


def _parse_path(path: str) -> tuple[str, str, str | None, str | None, str | None] | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        prefix, rest = f"api/{parts[1]}", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        prefix, rest = f"apis/{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) <= 2:
        return prefix, "namespaces", None, rest[1] if len(rest) == 2 else None, None
    if rest[0] == "namespaces" and len(rest) >= 3:
        return prefix, rest[2], rest[1], rest[3] if len(rest) > 3 else None, rest[4] if len(rest) > 4 else None
    return prefix, rest[0], None, rest[1] if len(rest) > 1 else None, None


def _selector(text: str) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if "=" in item]
    return {k.strip(): v.strip() for k, v in pairs}


def _matches(obj: JsonObject, labels: dict[str, str]) -> bool:
    have = (obj.get("metadata") or {}).get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


def _list_item(prefix: str, obj: JsonObject) -> JsonObject:
    if prefix in _BUILTIN_PREFIXES:
        obj.pop("kind", None)
        obj.pop("apiVersion", None)
    return obj


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _status(
    code: int, reason: str, message: str, *, kind: str | None = None, name: str | None = None
) -> tuple[int, JsonObject, str]:
    status: JsonObject = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if kind or name:
        status["details"] = {"name": name, "kind": kind}
    return code, status, "application/json"
