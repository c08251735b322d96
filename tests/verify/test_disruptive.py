"""`ocw verify --disruptive`: pods are deleted and replaced (by the fake's Deployment controller), a Secret change is
made and rolled (by the fake's Reloader); the waits are bounded by --timeout."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ocw.verify.cluster import SECRET, WriteRefused
from ocw.verify.cluster import Cluster as KubeCluster
from ocw.verify.kubeconfig import load_config
from ocw.verify.reloader import PROBE_KEY

from .conftest import Cluster, Run
from .world import NAMESPACE

RunOcw = Callable[[list[str]], Run]
DISRUPTIVE_IDS = {"P2.4", "P3.4", "P3.5", "P4.1", "P2.6", "P4.4"}


def test_disruptive_run_restarts_each_workspace_and_keeps_everything(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None
) -> None:
    before = {p["metadata"]["uid"] for p in cluster.fake.pods(NAMESPACE, {})}
    run = run_ocw(cluster.args("--json", "--disruptive", "--timeout", "30"))
    results = run.results()
    assert run.code == 0, run.stdout
    for (check_id, workspace), result in results.items():
        if check_id in DISRUPTIVE_IDS and workspace:
            assert result["status"] == "pass", (check_id, workspace, result)
    assert "all listed after" in " ".join(results[("P2.4", "opencode-flux")]["evidence"])  # type: ignore[arg-type]
    assert "opencode-ha: same pod" in " ".join(results[("P3.5", "opencode-flux")]["evidence"])  # type: ignore[arg-type]
    assert "replaced by" in " ".join(results[("P4.4", "opencode-ha")]["evidence"])  # type: ignore[arg-type]
    # every pod was replaced; the only writes were pod deletes and the Secret probe (added, then removed)
    after = {p["metadata"]["uid"] for p in cluster.fake.pods(NAMESPACE, {})}
    assert before.isdisjoint(after)
    writes = cluster.fake.writes()
    assert {(w.method, w.path.split("/")[-2]) for w in writes} == {("DELETE", "pods"), ("PATCH", "secrets")}
    for name in ("opencode-flux-secret", "opencode-ha-secret"):
        secret = cluster.fake.get("Secret", name, NAMESPACE)
        assert secret is not None and PROBE_KEY not in secret["data"]
    assert "waiting" not in run.stdout and "deleting pod" in run.stderr  # progress on stderr only


def test_replacement_that_never_comes_times_out_at_the_bound(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None
) -> None:
    cluster.fake.replace_pods = False
    run = run_ocw(cluster.args("--json", "--disruptive", "--timeout", "2", "--phase", "2", "--workspace", "flux"))
    assert run.code == 1
    result = run.results()[("P2.4", "opencode-flux")]
    assert result["status"] == "fail"
    assert "no new Ready pod within 2 s" in str(result["seen"])
    assert "no replacement pod yet" in run.stderr


def test_boot_that_clones_again_fails_p26(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    cluster.fake.next_boot.init_log = "init: cloning into /w\ninit: cloned\ninit: done in 41s\n"
    cluster.fake.next_boot.init_seconds = 41
    run = run_ocw(cluster.args("--json", "--disruptive", "--timeout", "20", "--phase", "2", "--workspace", "flux"))
    assert run.code == 1
    results = run.results()
    assert results[("P2.6", "opencode-flux")]["status"] == "fail"
    assert "the init log says it cloned" in str(results[("P2.6", "opencode-flux")]["seen"])
    assert results[("P2.4", "opencode-flux")]["status"] == "pass"


def test_without_reloader_the_secret_change_is_not_rolled(cluster: Cluster, run_ocw: RunOcw, no_doppler: None) -> None:
    cluster.fake.reloader = False
    run = run_ocw(cluster.args("--json", "--disruptive", "--timeout", "2", "--phase", "4", "--workspace", "ha"))
    assert run.code == 1
    result = run.results()[("P4.4", "opencode-ha")]
    assert result["status"] == "fail"
    assert "still the only one" in str(result["seen"])
    secret = cluster.fake.get("Secret", "opencode-ha-secret", NAMESPACE)
    assert secret is not None and PROBE_KEY not in secret["data"]  # the probe is removed even on failure


def test_a_read_only_cluster_refuses_writes_before_sending_them(cluster: Cluster) -> None:
    kube = KubeCluster(load_config(cluster.kubeconfig, None), allow_writes=False)
    with pytest.raises(WriteRefused):
        kube.delete_pod("opencode-flux-x", NAMESPACE)
    with pytest.raises(WriteRefused):
        kube.merge_patch(SECRET, "opencode-flux-secret", NAMESPACE, {"data": {"k": None}})
    kube.close()
    assert cluster.fake.requests == []
