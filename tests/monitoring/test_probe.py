"""The workspace's Probe, end to end with the real tools: Debian's blackbox exporter running the user's own `http_2xx`
module probes a workspace started by `ocw up`, through the stand-in gateway applying the workspace's built route,
exactly as the rendered Probe asks (the gateway's address, the workspace's host as `hostname`); a real Prometheus
scrapes it with the job Prometheus Operator generates from that Probe and sees probe_success go from 1 to 0 when the
workspace stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from check.real_repo import CLUSTER
from monitoring.operator import probe_scrape_config
from monitoring.rendered import REPO, workspace_object
from monitoring.servers import blackbox_exporter, prometheus, wait_for
from ocw.tree import load_tree
from ocw.workspace import find_workspace, workspaces_in
from support.gateway import deployed, serve_gateway
from support.pki import make_pki
from up.helpers import fake_tokens, running_workspace

DOMAIN = "example.test"
APP = "opencode-flux"
BLACKBOX_RELEASE = CLUSTER / "kubernetes/apps/observability/blackbox-exporter/app/helmrelease.yaml"


def users_blackbox_config() -> dict[str, Any]:
    """The blackbox exporter configuration of the user's HelmRelease (values.config): their `http_2xx` module."""
    release = yaml.safe_load(BLACKBOX_RELEASE.read_text())
    return dict(release["spec"]["values"]["config"])


def rendered_probe(tmp_path: Path, gateway: str) -> dict[str, Any]:
    """The workspace's Probe as Flux renders it, with the cluster's variables pointing at this machine."""
    variables = tmp_path / "cluster-vars.yaml"
    variables.write_text(f"SECRET_DOMAIN: {DOMAIN}\nSVC_INTERNAL_GW_ADDR: {gateway}\n")
    return workspace_object(list(load_tree(REPO, [variables]).manifests()), "Probe", APP)


def route_vars(tmp_path: Path) -> Path:
    variables = tmp_path / "route-vars.yaml"
    variables.write_text(f"SECRET_DOMAIN: {DOMAIN}\nSVC_INTERNAL_GW_ADDR: 127.0.0.1\n")
    return variables


def test_blackbox_and_prometheus_see_a_local_workspace_come_and_go(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", f"*.opencode.{DOMAIN}")
    (tmp_path / "workspace").mkdir()
    flux = find_workspace(workspaces_in(load_tree(REPO, [route_vars(tmp_path)])), APP)
    with (
        running_workspace(tmp_path / "workspace", fake_tokens()) as workspace,
        serve_gateway(pki, deployed(flux, workspace.port)) as gateway,
    ):
        probe = rendered_probe(tmp_path, f"127.0.0.1:{gateway.port}")
        assert probe["spec"]["module"] == "http_2xx"
        with blackbox_exporter(users_blackbox_config(), tmp_path / "blackbox", ca_file=pki.ca) as exporter:
            params = {p["name"]: p["values"][0] for p in probe["spec"]["params"]}
            target = probe["spec"]["targets"]["staticConfig"]["static"][0]
            answer = httpx.get(
                f"{exporter.url}/probe", params={"module": "http_2xx", "target": target, **params}, timeout=30
            )
            assert "probe_success 1" in answer.text, answer.text
            # The certificate's expiry is exposed, for the user's own certificate alerts and the dashboard.
            assert "probe_ssl_earliest_cert_expiry" in answer.text

            job = probe_scrape_config(probe, prober_url=exporter.address, interval="1s")
            config = {"global": {"scrape_timeout": "1s"}, "scrape_configs": [job]}
            with prometheus(config, tmp_path / "prometheus") as server:
                up = wait_for(server, f'probe_success{{workspace="{APP}"}}', "1")
                assert up["metric"]["instance"] == f"https://flux.opencode.{DOMAIN}/site.webmanifest"
                assert up["metric"]["target"] == f"flux.opencode.{DOMAIN}"
                assert up["metric"]["namespace"] == "opencode"
                assert up["metric"]["job"] == f"probe/opencode/{APP}"

                workspace.down()
                down = wait_for(server, f'probe_success{{workspace="{APP}"}}', "0")
                assert down["metric"]["instance"] == up["metric"]["instance"]
