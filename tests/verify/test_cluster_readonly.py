"""`ocw verify` read-only against the fake API server and real OpenCode servers: every check passes on a healthy
cluster and fails (with expected / seen / next) when the cluster is broken in the way that check exists to catch."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ocw.gatewayapi.httproute import Route
from ocw.verify.registry import CRITERIA
from support.fake_kube import FakeKube, rfc3339
from support.gateway import has_filter, without_rules

from .conftest import Cluster, Run
from .world import CERT_NAME, NAMESPACE

RunOcw = Callable[[list[str]], Run]


def test_healthy_cluster_passes_every_check_and_writes_nothing(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None
) -> None:
    run = run_ocw(cluster.args("--json"))
    assert run.code == 0, run.stdout
    results = run.results()
    ids = {check_id for check_id, _ in results}
    assert ids == {c.id for c in CRITERIA}
    statuses = {key: r["status"] for key, r in results.items()}
    assert "fail" not in statuses.values()
    for (check_id, _), result in results.items():
        if result["status"] == "skip":
            assert result["reason"], check_id
        else:
            assert result["evidence"], check_id
    # per-workspace checks run once per workspace and say which
    assert statuses[("P2.5", "opencode-flux")] == statuses[("P2.5", "opencode-ha")] == "pass"
    assert statuses[("P2.1", "opencode-flux")] == statuses[("P3.1", "opencode-ha")] == "pass"
    assert statuses[("P2.4", "opencode-flux")] == "skip"  # disruptive
    assert statuses[("P1.3", None)] == "skip"  # no Doppler here
    # read-only: not a single write request reached the API server
    assert cluster.fake.requests
    assert cluster.fake.writes() == []
    assert {r.method for r in cluster.fake.requests} == {"GET"}


def test_no_secret_value_is_printed(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    text_run, json_run = run_ocw(cluster.args()), run_ocw(cluster.args("--json"))
    # The runs read every secret and passed the checks that use them: silence would prove nothing.
    assert (text_run.code, json_run.code) == (0, 0), text_run.stdout + text_run.stderr
    statuses = {key: result["status"] for key, result in json_run.results().items()}
    for workspace in cluster.servers:
        # P2.1 logs in with the password; P2.5 reads the PAT to look for it in the logs.
        assert statuses[("P2.5", workspace)] == "pass"
    assert statuses[("P2.1", "opencode-flux")] == statuses[("P3.1", "opencode-ha")] == "pass"
    assert "PASS" in text_run.stdout
    printed = text_run.stdout + text_run.stderr + json_run.stdout + json_run.stderr
    for server in cluster.servers.values():
        for value in (server.secrets.password, server.secrets.token, server.secrets.copilot):
            assert value and value not in printed


def test_text_report_is_a_table_per_phase_with_a_summary(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    run = run_ocw(cluster.args("--phase", "1", "--phase", "4"))
    assert run.code == 0
    assert "Phase 1: Foundation" in run.stdout and "Phase 4: Persistence Validation" in run.stdout
    assert "Phase 2" not in run.stdout
    assert "  STATUS  CHECK  NAME" in run.stdout
    # Each roadmap id with its plain name; no colour or marks outside a terminal.
    assert re.search(r"^  PASS    P1\.1   namespace +- +namespace exists and is Active$", run.stdout, re.MULTILINE)
    assert "\033[" not in run.stdout and "✓" not in run.stdout
    assert (
        "  SKIP    P1.3   doppler-variables" in run.stdout and "skipped:  Doppler is not configured here" in run.stdout
    )
    assert run.stdout.rstrip().endswith("skipped")


def _secret(fake: FakeKube, workspace: str) -> dict[str, Any]:
    secret = fake.get("Secret", f"{workspace}-secret", NAMESPACE)
    assert secret is not None
    return secret


def _pod(fake: FakeKube, workspace: str) -> dict[str, Any]:
    return next(p for p in fake.pods(NAMESPACE, {"app.kubernetes.io/instance": workspace}))


def _set_log(fake: FakeKube, workspace: str, text: str) -> None:
    pod = _pod(fake, workspace)
    fake.logs[(NAMESPACE, pod["metadata"]["name"], "git-clone")] = text


def _condition(obj: dict[str, Any] | None, kind: str, **changes: Any) -> None:
    assert obj is not None
    for entry in obj["status"]["conditions"]:
        if entry["type"] == kind:
            entry.update(changes)


def _break_namespace_label(fake: FakeKube) -> None:
    ns = fake.get("Namespace", NAMESPACE)
    assert ns is not None
    del ns["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/prune"]


def _namespace_terminating(fake: FakeKube) -> None:
    ns = fake.get("Namespace", NAMESPACE)
    assert ns is not None
    ns["status"]["phase"] = "Terminating"


def _certificate_not_ready(fake: FakeKube) -> None:
    _condition(
        fake.get("Certificate", CERT_NAME, "network"),
        "Ready",
        status="False",
        reason="DoesNotExist",
        message="Issuing certificate as Secret does not exist",
    )


def _certificate_missing(fake: FakeKube) -> None:
    fake.remove("Certificate", CERT_NAME, "network")


def _helmrelease_failed(fake: FakeKube) -> None:
    _condition(
        fake.get("HelmRelease", "opencode-flux", NAMESPACE),
        "Ready",
        status="False",
        reason="InstallFailed",
        message="Helm install failed: context deadline exceeded",
    )


def _externalsecret_failed(fake: FakeKube) -> None:
    _condition(
        fake.get("ExternalSecret", "opencode-flux", NAMESPACE),
        "Ready",
        status="False",
        reason="SecretSyncedError",
        message="could not get secret data from provider",
    )


def _kustomization_stale(fake: FakeKube) -> None:
    ks = fake.get("Kustomization", "opencode-flux", "flux-system")
    assert ks is not None
    ks["metadata"]["generation"] = 3


def _route_not_accepted(fake: FakeKube) -> None:
    route = fake.get("HTTPRoute", "opencode-ha", NAMESPACE)
    assert route is not None
    route["status"]["parents"][0]["conditions"][0].update(
        status="False", reason="NotAllowedByListeners", message="No listeners included by this parent ref allowed"
    )


def _token_prefix_in_log(fake: FakeKube) -> None:
    _set_log(fake, "opencode-flux", "init: repository present at /w: not cloning\ninit: pull from ghp_abc@github\n")


def _token_value_in_log(fake: FakeKube) -> None:
    token = base64.b64decode(_secret(fake, "opencode-ha")["data"]["GITHUB_TOKEN"]).decode()
    _set_log(fake, "opencode-ha", f"init: repository present at /w: not cloning\ninit: token {token[4:]}\n")


def _slow_init(fake: FakeKube) -> None:
    terminated = _pod(fake, "opencode-flux")["status"]["initContainerStatuses"][0]["state"]["terminated"]
    finished = datetime.fromisoformat(terminated["finishedAt"])
    terminated["startedAt"] = rfc3339(finished - timedelta(seconds=3))


def _annotation_on_template(fake: FakeKube) -> None:
    deployment = fake.get("Deployment", "opencode-ha", NAMESPACE)
    assert deployment is not None
    value = deployment["metadata"]["annotations"].pop("reloader.stakater.com/auto")
    deployment["spec"]["template"]["metadata"]["annotations"] = {"reloader.stakater.com/auto": value}


def _backup_old(fake: FakeKube) -> None:
    source = fake.get("ReplicationSource", "opencode-flux", NAMESPACE)
    assert source is not None
    source["status"]["lastSyncTime"] = rfc3339(datetime.now(UTC) - timedelta(hours=3))


def _backup_failed(fake: FakeKube) -> None:
    source = fake.get("ReplicationSource", "opencode-ha", NAMESPACE)
    assert source is not None
    source["status"]["latestMoverStatus"] = {"result": "Failed", "logs": "Fatal: unable to open repository"}


def _wrong_password_in_secret(fake: FakeKube) -> None:
    _secret(fake, "opencode-flux")["data"]["OPENCODE_SERVER_PASSWORD"] = base64.b64encode(b"not-the-password").decode()


def _route_hostname_outside_certificate(fake: FakeKube) -> None:
    route = fake.get("HTTPRoute", "opencode-ha", NAMESPACE)
    assert route is not None
    route["spec"]["hostnames"] = ["ha.example.test"]


BREAKAGES = [
    (_break_namespace_label, "1", "P1.1", None, "label kustomize.toolkit.fluxcd.io/prune: absent"),
    (_namespace_terminating, "1", "P1.1", None, "status.phase Terminating"),
    (_certificate_not_ready, "1", "P1.2", None, "Ready=False (DoesNotExist)"),
    (_certificate_missing, "1", "P1.2", None, "example-test-production"),
    (_helmrelease_failed, "2", "P2.0", "opencode-flux", "Ready=False (InstallFailed)"),
    (_externalsecret_failed, "2", "P2.0", "opencode-flux", "Ready=False (SecretSyncedError)"),
    (_kustomization_stale, "2", "P2.0", "opencode-flux", "generation 3 not yet observed"),
    (_route_not_accepted, "3", "P3.0", "opencode-ha", "Accepted=False (NotAllowedByListeners)"),
    (_token_prefix_in_log, "2", "P2.5", "opencode-flux", "found ghp_"),
    (_token_value_in_log, "2", "P2.5", "opencode-ha", "the token value from the Secret"),
    (_slow_init, "2", "P2.6", "opencode-flux", "3 s recorded"),
    (_annotation_on_template, "4", "P4.4", "opencode-ha", "found on the pod template instead"),
    (_backup_old, "4", "P4.2", "opencode-flux", "last sync 3h00m ago"),
    (_backup_failed, "4", "P4.2", "opencode-ha", "result Failed"),
    (_wrong_password_in_secret, "2", "P2.1", "opencode-flux", "HTTP 401 with the password"),
]


Breakage = tuple[Callable[[FakeKube], None], str, str, str | None, str]


@pytest.mark.parametrize("case", BREAKAGES, ids=[b[0].__name__[1:] for b in BREAKAGES])
def test_each_check_fails_on_its_breakage(cluster: Cluster, run_ocw: RunOcw, no_doppler: None, case: Breakage) -> None:
    breakage, phase, check_id, workspace, seen = case
    breakage(cluster.fake)
    run = run_ocw(cluster.args("--json", "--phase", phase))
    assert run.code == 1
    results = run.results()
    failed = {key for key, r in results.items() if r["status"] == "fail"}
    # without the password, the other checks that need it fail too, and say so
    follow_ups = {("P2.2", workspace), ("P2.3", workspace)} if check_id == "P2.1" else set()
    assert failed == {(check_id, workspace)} | follow_ups
    for key in follow_ups:
        assert "answered 401" in str(results[key]["seen"])
    result = results[(check_id, workspace)]
    assert seen in str(result["seen"])
    assert result["expected"] and result["next"]
    assert cluster.fake.writes() == []


def test_tls_certificate_not_covering_the_hostname_fails(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    _route_hostname_outside_certificate(cluster.fake)
    server = cluster.servers["opencode-ha"]
    run = run_ocw(cluster.args("--json", "--phase", "3", f"--connect-to=ha.example.test=127.0.0.1:{server.tls_port}"))
    assert run.code == 1
    result = run.results()[("P3.1", "opencode-ha")]
    assert result["status"] == "fail"
    assert "certificate rejected" in str(result["seen"]) and "ha.example.test" in str(result["seen"])


def test_untrusted_certificate_fails(cluster: Cluster, run_ocw: RunOcw, no_doppler: None, tmp_path: Any) -> None:
    from support.pki import make_pki

    other = make_pki(tmp_path / "other", "*.opencode.example.test")
    args = [
        a if not a.startswith(str(cluster.pki.ca)) else str(other.ca) for a in cluster.args("--json", "--phase", "2")
    ]
    run = run_ocw(args)
    result = run.results()[("P2.1", "opencode-flux")]
    assert run.code == 1 and result["status"] == "fail"
    assert "certificate verify failed" in str(result["seen"]) or "unable to get local issuer" in str(result["seen"])


def test_domain_from_vars_and_from_cluster_settings(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    run = run_ocw(cluster.args("--json", "--phase", "1", "--vars", str(cluster.tree.vars_file)))
    assert run.code == 0
    assert "domain example.test (from --vars)" in run.results()[("P1.2", None)]["evidence"]  # type: ignore[operator]

    for name in ("opencode-flux", "opencode-ha"):
        cluster.fake.remove("HTTPRoute", name, NAMESPACE)
    cluster.fake.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cluster-settings", "namespace": "flux-system"},
            "data": {"SECRET_DOMAIN": "example.test", "TIMEZONE": "Etc/UTC"},
        }
    )
    run = run_ocw(cluster.args("--json", "--phase", "1"))
    assert run.code == 0
    evidence = run.results()[("P1.2", None)]["evidence"]
    assert "domain example.test (from ConfigMap flux-system/cluster-settings)" in evidence  # type: ignore[operator]


def test_workspace_filter_runs_only_that_workspace(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    run = run_ocw(cluster.args("--json", "--workspace", "ha", "--phase", "2", "--phase", "3"))
    assert run.code == 0
    results = run.results()
    assert {ws for _, ws in results} == {"opencode-ha", None}
    assert results[("P2.1", None)]["status"] == "skip"
    assert "flux workspace" in str(results[("P2.1", None)]["reason"])
    assert results[("P3.1", "opencode-ha")]["status"] == "pass"


def test_access_check_follows_the_landing_redirect_and_reports_where_it_leads(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None
) -> None:
    run = run_ocw(cluster.args("--json", "--phase", "2"))
    assert run.code == 0, run.stdout
    evidence = " ".join(str(e) for e in run.results()[("P2.1", "opencode-flux")]["evidence"])  # type: ignore[attr-defined]
    workdir = cluster.tree.workspace("opencode-flux").working_dir
    assert workdir
    segment = base64.urlsafe_b64encode(workdir.encode()).decode().rstrip("=")
    assert (
        f"/ redirects (302) to https://flux.opencode.example.test/{segment}/session, the project {workdir}" in evidence
    )


def _verify_with_route(cluster: Cluster, run_ocw: RunOcw, variant: Callable[[Route], Route], phase: str) -> Run:
    """`ocw verify --phase <phase>` while the gateway serves `variant` of the flux workspace's built route."""
    served = cluster.servers["opencode-flux"].route
    as_built = list(served.routes)
    served.routes = [variant(route) for route in as_built]
    try:
        return run_ocw(cluster.args("--json", "--phase", phase))
    finally:
        served.routes = as_built


def _landing_elsewhere(route: Route) -> Route:
    """The route of a workspace whose WORKSPACE_PROJECT_PATH belongs to another directory (/elsewhere)."""
    elsewhere = {"type": "ReplaceFullPath", "replaceFullPath": "/L2Vsc2V3aGVyZQ/session"}

    def moved(rule: dict[str, Any]) -> dict[str, Any]:
        if not has_filter("RequestRedirect")(rule):
            return rule
        redirect = {**rule["filters"][0]["requestRedirect"], "path": elsewhere}
        return {**rule, "filters": [{"type": "RequestRedirect", "requestRedirect": redirect}]}

    return replace(route, rules=tuple(moved(dict(rule)) for rule in route.rules))


@pytest.mark.parametrize(
    ("variant", "seen"),
    [
        # a route without the landing rule: `/` reaches OpenCode's home
        (lambda route: without_rules(route, has_filter("RequestRedirect")), "HTTP 200 without a redirect"),
        (_landing_elsewhere, "(the project /elsewhere)"),  # WORKSPACE_PROJECT_PATH of another directory
    ],
)
def test_access_check_fails_when_root_does_not_lead_to_the_manifests_project(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None, variant: Callable[[Route], Route], seen: str
) -> None:
    run = _verify_with_route(cluster, run_ocw, variant, "2")
    assert run.code == 1
    result = run.results()[("P2.1", "opencode-flux")]
    assert result["status"] == "fail"
    assert seen in str(result["seen"]), result["seen"]
    assert "/session, the project page of" in str(result["expected"])
    assert "WORKSPACE_" in str(result["next"]) or "landing-redirect" in str(result["next"])


def _refusing(rule: dict[str, Any]) -> bool:
    return has_filter("ExtensionRef")(rule)


def _refusing_first(route: Route) -> Route:
    """The route with its refusing rule moved before the own-Origin rule: rule order then refuses the UI too."""
    refusing = [rule for rule in route.rules if _refusing(dict(rule))]
    return replace(route, rules=(*refusing, *(rule for rule in route.rules if not _refusing(dict(rule)))))


@pytest.mark.parametrize(
    ("variant", "want"),
    [
        (
            lambda route: without_rules(route, _refusing),
            (
                "HTTP 401 (OpenCode's own answer: the request reached it)",
                "Origin: https://other.opencode.example.test (a page of another host of the same site)",
            ),
        ),
        (_refusing_first, ("HTTP 403", "the workspace's own Origin (https://flux.opencode.example.test)")),
    ],
)
def test_origin_gate_check_fails_when_the_live_route_lets_other_pages_in_or_keeps_its_own_out(
    cluster: Cluster,
    run_ocw: RunOcw,
    no_doppler: None,
    variant: Callable[[Route], Route],
    want: tuple[str, str],
) -> None:
    seen, expected = want
    run = _verify_with_route(cluster, run_ocw, variant, "4")
    result = run.results()[("SEC.3", "opencode-flux")]
    assert run.code == 1 and result["status"] == "fail", result
    assert str(result["seen"]) == seen
    assert expected in str(result["expected"])
    assert run.results()[("SEC.3", "opencode-ha")]["status"] == "pass"  # the other workspace's route is intact


def test_origin_gate_check_passes_through_the_built_route_and_shows_what_it_sent(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None
) -> None:
    run = run_ocw(cluster.args("--json", "--phase", "4", "--workspace", "flux"))
    result = run.results()[("SEC.3", "opencode-flux")]
    assert result["status"] == "pass", result
    evidence = list(result["evidence"])  # type: ignore[call-overload]
    assert "Origin: null (a sandboxed frame or a redirected form (Origin: null)): HTTP 403" in evidence
    assert evidence[-1].startswith("Origin: https://flux.opencode.example.test (the workspace's own pages)")
    refused = [a for r, a in cluster.servers["opencode-flux"].route.log if r.header("origin") == "null"]
    assert refused and all(a.status == 403 and not a.forwarded for a in refused)  # the gateway answered, not OpenCode
