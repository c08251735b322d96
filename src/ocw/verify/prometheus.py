"""The cluster's Prometheus, read-only, through its documented HTTP API (GET /api/v1/rules, /api/v1/alerts and
/api/v1/query; https://prometheus.io/docs/prometheus/latest/querying/api/).

It is reached either at `--prometheus URL`, or, by default, through the Kubernetes API server's service proxy with the
kube context's own credentials (permission: `get` on `services/proxy`): Prometheus Operator gives every Prometheus a
Service `prometheus-operated` labelled `operated-prometheus: "true"` (port `web`), found by that label in any namespace.
Nothing is port-forwarded, exposed or written; only GET requests are sent.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ocw.errors import OcwError
from ocw.verify.cluster import ALL_NAMESPACES, SERVICE, Cluster

OPERATED_LABEL = {"operated-prometheus": "true"}
WEB_PORT = "web"

Fetch = Callable[[str, Mapping[str, str]], tuple[int, bytes]]


@dataclass(frozen=True)
class PrometheusApi:
    where: str  # said in evidence: a URL, or the Service and how it was reached
    fetch: Fetch

    def data(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The `data` of a successful answer; an OcwError naming Prometheus's own errorType and error otherwise."""
        status, body = self.fetch(path, params or {})
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if status == 200 and isinstance(document, dict) and document.get("status") == "success":
            return document.get("data")
        if isinstance(document, dict) and document.get("error"):
            said = f"{document.get('errorType', 'error')}: {document['error']}"
        elif isinstance(document, dict) and document.get("message"):  # the API server's own Status
            said = str(document["message"])
        else:
            said = body[:200].decode(errors="replace").strip() or "an empty answer"
        raise OcwError(
            f"GET {path} from Prometheus ({self.where}) answered HTTP {status}: {said}",
            hint="check that Prometheus runs, and that this kube context may get services/proxy (or pass "
            "--prometheus URL); docs/monitoring.md",
        )

    def alerts(self) -> list[dict[str, Any]]:
        return list((self.data("/api/v1/alerts") or {}).get("alerts") or [])

    def alert_groups(self) -> list[dict[str, Any]]:
        return list((self.data("/api/v1/rules", {"type": "alert"}) or {}).get("groups") or [])

    def query(self, expr: str) -> list[dict[str, Any]]:
        return list((self.data("/api/v1/query", {"query": expr}) or {}).get("result") or [])


def direct(url: str, timeout: float, tls: ssl.SSLContext | bool = True) -> PrometheusApi:
    base = url.rstrip("/")

    def fetch(path: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            answer = httpx.get(base + path, params=dict(params), timeout=timeout, verify=tls)
        except httpx.HTTPError as exc:
            raise OcwError(
                f"Prometheus at {base} could not be reached: {type(exc).__name__}: {exc}",
                hint="check the --prometheus URL (the base of Prometheus's HTTP API, e.g. http://prometheus:9090)",
            ) from None
        return answer.status_code, answer.content

    return PrometheusApi(base, fetch)


def through_service_proxy(cluster: Cluster, namespace: str, service: str, port: str) -> PrometheusApi:
    def fetch(path: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        return cluster.service_proxy_get(namespace, service, port, path, params)

    where = f"Service {namespace}/{service}:{port} through the API server of {cluster.describe()}"
    return PrometheusApi(where, fetch)


def discover(cluster: Cluster) -> tuple[PrometheusApi | None, list[str]]:
    """The Prometheus Operator's Service of the first Prometheus (by namespace and name), and every one found."""
    services = sorted(
        cluster.list(SERVICE, ALL_NAMESPACES, OPERATED_LABEL),
        key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"]),
    )
    found = [f"{s['metadata'].get('namespace')}/{s['metadata']['name']}" for s in services]
    if not services:
        return None, found
    chosen = services[0]
    ports = (chosen.get("spec") or {}).get("ports") or []
    port = next((str(p["name"]) for p in ports if p.get("name") == WEB_PORT), None)
    if port is None:
        port = str(ports[0].get("port")) if ports else "9090"
    return through_service_proxy(cluster, chosen["metadata"]["namespace"], chosen["metadata"]["name"], port), found
