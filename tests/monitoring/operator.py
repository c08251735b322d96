"""What Prometheus Operator makes of a Probe: the scrape job its config generator writes (pkg/prometheus/promcfg.go,
generateProbeConfig, for `targets.staticConfig`), so that a real Prometheus can scrape exactly what the cluster's
would. Job `probe/<namespace>/<name>` (or `jobName`); `metrics_path` the prober's path (`/probe`); `params` the module
and the Probe's params; the static targets with their labels plus `namespace`; then the relabelings that move each
target into `__param_target` and `instance` and send the scrape to the prober, and the Probe's own relabelings."""

from __future__ import annotations

import re
from typing import Any

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _relabel(config: dict[str, Any]) -> dict[str, Any]:
    """A Probe's relabeling (camelCase, as the CRD writes it) as Prometheus's relabel_config (snake_case)."""
    return {_CAMEL.sub("_", key).lower(): value for key, value in config.items()}


def probe_scrape_config(
    probe: dict[str, Any], *, prober_url: str | None = None, interval: str | None = None
) -> dict[str, Any]:
    """The scrape job for a Probe. `prober_url` and `interval` replace the Probe's own (a test reaches the exporter
    on a loopback port and cannot wait a minute between scrapes); nothing else is changed."""
    metadata, spec = probe["metadata"], probe["spec"]
    static = spec["targets"]["staticConfig"]
    prober = spec["prober"]
    params: dict[str, list[str]] = {}
    if spec.get("module"):
        params["module"] = [spec["module"]]
    for param in spec.get("params") or []:
        if not (spec.get("module") and param["name"] == "module"):
            params[param["name"]] = list(param.get("values") or [])
    relabelings: list[dict[str, Any]] = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
    if spec.get("jobName"):
        relabelings.append({"target_label": "job", "replacement": spec["jobName"]})
    relabelings += [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": prober_url or prober["url"]},
        *(_relabel(r) for r in static.get("relabelingConfigs") or []),
    ]
    job: dict[str, Any] = {
        "job_name": f"probe/{metadata['namespace']}/{metadata['name']}",
        "honor_timestamps": True,
        "metrics_path": prober.get("path") or "/probe",
        "scheme": prober.get("scheme") or "http",
        "params": params,
        "static_configs": [
            {
                "targets": list(static["static"]),
                "labels": {"namespace": metadata["namespace"], **static.get("labels", {})},
            }
        ],
        "relabel_configs": relabelings,
    }
    if interval or spec.get("interval"):
        job["scrape_interval"] = interval or spec["interval"]
    return job
