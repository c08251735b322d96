"""Smaller parts of `ocw verify`: backup schedules, kube context resolution, an unreachable API server, and the
workspace checks against a bare OpenCode (no password, no Copilot login, not in a clone)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ocw.errors import OcwError
from ocw.schedules import UnknownSchedule, schedule_period
from ocw.verify.endpoint import Endpoint
from ocw.verify.kubeconfig import load_config
from ocw.verify.workspace_http import check_access, check_copilot, check_working_dir
from support.cli import run_ocw
from support.fake_kube import FakeKube
from support.ports import free_port
from support.processes import opencode_server

from .conftest import Tree


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ("35 * * * *", 3600),
        ("0 * * * *", 3600),
        ("*/15 * * * *", 900),
        ("0,30 * * * *", 1800),
        ("0 3 * * *", 86400),
        ("30 */6 * * *", 21600),
        ("0 1,13 * * *", 43200),
        ("@daily", 86400),
    ],
)
def test_schedule_period(schedule: str, seconds: int) -> None:
    assert schedule_period(schedule) == seconds


@pytest.mark.parametrize("schedule", ["0 0 * * 1", "* 3 * * *", "nonsense", ""])
def test_schedules_it_cannot_judge_are_refused(schedule: str) -> None:
    with pytest.raises(UnknownSchedule):
        schedule_period(schedule)


def _kubeconfig(path: Path, name: str, server: str, current: str | None) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority": "ca.pem"}}],
        "users": [{"name": name, "user": {"token": "t"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


def test_kubeconfig_list_is_merged_like_kubectl(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first = _kubeconfig(tmp_path / "a" / "config", "lab", "https://10.0.0.1:6443", None)
    second = _kubeconfig(tmp_path / "second", "office", "https://10.0.0.2:6443", "office")
    env = {"KUBECONFIG": os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])}
    assert load_config(None, None, env).cluster.server == "https://10.0.0.2:6443"  # first current-context set
    lab = load_config(None, "lab", env)
    assert lab.cluster.server == "https://10.0.0.1:6443"
    assert lab.cluster.certificate_auth == str(tmp_path / "a" / "ca.pem")  # relative to its own file


def test_unknown_context_names_the_known_ones(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path / "config", "lab", "https://10.0.0.1:6443", "lab")
    with pytest.raises(OcwError) as caught:
        load_config(config, "prod", {})
    assert "context 'prod'" in caught.value.message and "it defines: lab" in caught.value.message


def test_unreachable_api_server_exits_2_after_bounded_attempts(tree: Tree, tmp_path: Path, no_doppler: None) -> None:
    kubeconfig = FakeKube.write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{free_port()}")
    result = run_ocw("verify", "--kubeconfig", str(kubeconfig), "--repo", str(tree.repo), "--request-timeout", "1")
    assert result.code == 2
    assert "failed 3 times" in result.stderr and "next:" in result.stderr


@pytest.fixture
def bare_server(tmp_path: Path) -> Iterator[str]:
    """OpenCode with no password, no Copilot login, started outside any git clone."""
    home, cwd = tmp_path / "home", tmp_path / "plain"
    home.mkdir()
    cwd.mkdir()
    with opencode_server(cwd, home, free_port()) as url:
        yield url


def test_bare_server_fails_every_workspace_check(bare_server: str, tmp_path: Path) -> None:
    # OpenCode offline lists its providers after its models catalog fetch gives up: slow on a loaded machine.
    endpoint = Endpoint(
        "opencode-flux", bare_server, password_source=lambda: "irrelevant", where="this machine", timeout=60.0
    )
    access = check_access(endpoint)
    assert access.status == "fail"
    assert access.seen == "HTTP 200, no challenge"
    assert "open to anyone" in str(access.next_step)
    copilot = check_copilot(endpoint)
    assert copilot.status == "fail" and str(copilot.seen).startswith("connected: opencode;")
    expected = "/Users/jbaker/git/k8s-cluster"
    directory = check_working_dir(endpoint, expected)
    assert directory.status == "fail" and directory.seen == f"directory {tmp_path / 'plain'}"
    not_a_clone = check_working_dir(endpoint, str(tmp_path / "plain"))
    assert not_a_clone.status == "fail" and "vcs" in str(not_a_clone.seen)
