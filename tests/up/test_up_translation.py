"""The pieces `ocw up` builds a pod from, checked against what external-secrets and the kubelet would produce."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ocw.errors import OcwError
from ocw.externalsecrets.gotemplate import render
from ocw.externalsecrets.render import fetch, render_secret, secret_source
from ocw.kube.pod import Container
from ocw.up.container import resource_flags
from ocw.up.pod import expand, process_spec, serve_address
from ocw.up.secrets_file import read_secrets_file
from ocw.up.toolbox import build_toolbox
from ocw.up.volumes import MountTable
from ocw.workspace import find_workspace, load_workspaces
from up.helpers import REPO


def test_the_trees_external_secret_renders_each_doppler_value_into_its_secret_key() -> None:
    workspace = find_workspace(load_workspaces(REPO), "flux")
    assert workspace.external_secret is not None
    provider = {
        "OPENCODE_FLUX_GITHUB_PAT": "pat",
        "OPENCODE_FLUX_PASSWORD": "pw",
        "OPENCODE_FLUX_COPILOT_AUTH_JSON": "{}",
    }
    data = fetch(secret_source(workspace.external_secret.obj), provider, "test values")
    assert render_secret(workspace.external_secret.obj, data) == {
        "GITHUB_TOKEN": "pat",
        "OPENCODE_SERVER_PASSWORD": "pw",
        "COPILOT_AUTH_JSON": "{}",
        # The push switch: OpenCode's container mounts one of these two, chosen by WORKSPACE_GIT_PUSH.
        "GIT_PUSH_TOKEN_enabled": "pat",
        "GIT_PUSH_TOKEN_disabled": "",
    }
    with pytest.raises(OcwError, match="OPENCODE_FLUX_GITHUB_PAT"):
        fetch(secret_source(workspace.external_secret.obj), {"OPENCODE_FLUX_PASSWORD": "pw"}, "test values")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .A }}", "a b"),
        ("x={{.A}};", "x=a b;"),
        ("{{ .A | upper | quote }}", '"A B"'),
        ('{{ index . "A" | b64enc }}', "YSBi"),
        ("  {{- .A -}}  \n", "a b"),
        ('{{ .J | replace "\\"" "\'" }}', "{'k': 1}"),
        ('{{ "lit" }}{{/* note */}}', "lit"),
    ],
)
def test_go_template_subset_gives_go_results(template: str, expected: str) -> None:
    assert render(template, {"A": "a b", "J": '{"k": 1}'}, "t") == expected


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ .MISSING }}", "MISSING"),
        ("{{ if .A }}x{{ end }}", "'if'"),
        ("{{ .A | sha256sum }}", "sha256sum"),
        ("{{ $x := .A }}", "not supported"),
        ("{{ .A ", "unclosed"),
    ],
)
def test_anything_unsupported_or_missing_is_an_error_never_an_empty_string(template: str, problem: str) -> None:
    with pytest.raises(OcwError, match=problem):
        render(template, {"A": "a"}, "t")


def test_paths_translate_by_the_longest_mount_and_only_at_path_boundaries() -> None:
    table = MountTable.build({"/home/u": Path("/s/home"), "/home/u/cache": Path("/s/cache"), "/tmp": Path("/s/tmp")})
    assert table.translate("/home/u/git/repo") == "/s/home/git/repo"
    assert table.translate("/home/u/cache/x") == "/s/cache/x"
    assert table.translate("/home/user2") == "/home/user2"
    assert table.translate("--dir=/tmp/x") == "--dir=/s/tmp/x"
    assert table.translate("https://example.com/tmp") == "https://example.com/tmp"


def test_kubernetes_variable_references_expand_like_the_kubelet() -> None:
    assert expand("$(HOME)/x $$(HOME) $(NOPE)", {"HOME": "/h"}) == "/h/x $(HOME) $(NOPE)"


def test_serve_binds_locally_and_takes_the_requested_port() -> None:
    args = ["serve", "--hostname", "0.0.0.0", "--port", "4096"]  # noqa: S104 - the manifest's value
    assert serve_address(args, "127.0.0.1", None) == (
        ["serve", "--hostname", "127.0.0.1", "--port", "4096"],
        "127.0.0.1",
        4096,
    )
    assert serve_address(args, "127.0.0.1", 5000)[0][-1] == "5000"


def test_secrets_file_keeps_json_values_whole_and_names_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "good.env"
    good.write_text('# comment\nA={"x": "y=z"}\nexport B=\'quoted\'\nC=\n')
    assert read_secrets_file(good) == {"A": '{"x": "y=z"}', "B": "quoted", "C": ""}
    bad = tmp_path / "bad.env"
    bad.write_text("A=1\nthis line has a secret-looking value\n")
    with pytest.raises(OcwError, match=r"bad.env:2") as raised:
        read_secrets_file(bad)
    assert "secret-looking" not in str(raised.value)


def test_the_local_opencode_binary_is_never_taken_for_a_container_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = find_workspace(load_workspaces(REPO), "flux")
    # A checkout under /tmp (a CI clone, say) puts the pinned binary under the pod's /tmp mount path.
    tools = Path("/tmp") / tmp_path.name / "tools"
    monkeypatch.setenv("OCW_TOOLS_DIR", str(tools))
    binary = tools / "node_modules" / ".bin" / "opencode"
    binary.parent.mkdir(parents=True)
    binary.touch(mode=0o755)
    try:
        app = workspace.app_container
        table = MountTable.build({"/tmp": tmp_path / "volume-tmp", "/Users/jbaker": tmp_path / "home"})
        secrets = {workspace.secret_name or "": {"OPENCODE_SERVER_PASSWORD": "pw", "GITHUB_TOKEN": "t"}}
        toolbox = build_toolbox(tmp_path / "bin")
        spec = process_spec(app, {}, secrets, table, path=str(toolbox.folder))
        # The image's command runs as is: the password check, which execs `opencode` found on the toolbox PATH, which
        # links to the pinned binary.
        assert spec.argv[:3] == ["/bin/sh", "/opt/opencode-workspace/opencode-serve", "--hostname"]
        assert spec.env["PATH"] == str(toolbox.folder)
        found = shutil.which("opencode", path=spec.env["PATH"])
        assert found is not None and Path(found).resolve() == binary.resolve()
    finally:
        shutil.rmtree(tools.parent)


@pytest.mark.parametrize(("cpu", "flag"), [("500m", "0.5"), ("1500m", "1.5"), ("10", "10"), (2, "2"), ("100", "100")])
def test_a_cpu_limit_becomes_a_number_podman_accepts(cpu: str | int, flag: str) -> None:
    container = Container(name="app", init=False, image="image", resources={"limits": {"cpu": cpu}})
    assert resource_flags(container) == ["--cpus", flag]


def test_ocw_up_waits_for_opencode_as_long_as_the_startup_probe_gives_the_pod() -> None:
    workspace = find_workspace(load_workspaces(REPO), "flux")
    probe = workspace.app_container.spec["startupProbe"]
    assert workspace.app_container.startup_seconds() == probe["periodSeconds"] * probe["failureThreshold"]
    defaults = Container(name="app", init=False, image="image", spec={"startupProbe": {"httpGet": {"port": 1}}})
    assert defaults.startup_seconds() == 30  # Kubernetes' defaults: every 10 s, 3 failures
    assert Container(name="app", init=False, image="image").startup_seconds() is None
