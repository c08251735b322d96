"""The pod `ocw up` runs is the pod the cluster would run: compared with the Deployment that the pinned `helm template`
renders from the built HelmRelease, run here directly (the chart vendored in the package, the release's own values,
the cluster's Kubernetes version and HTTPRoute API), never with ocw's renderer.

Each container's image, command, args, environment, working directory, security context, mounts and resource limits,
and the pod's grace period, must reach `podman run` as the kubelet would apply them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ocw.paths import DATA_DIR
from ocw.tree import load_tree
from ocw.up import passthrough
from ocw.up.container import ContainerRun
from ocw.up.plan import UpOptions, make_plan
from ocw.workspace import find_workspace, workspaces_in
from support.prerequisites import require_path
from up.helpers import REPO

CHART = DATA_DIR / "charts" / "app-template-4.1.1"
IMAGE = "localhost/opencode-workspace:test"
SECRETS = {
    "GITHUB_PAT": "ghp_" + "x" * 36,
    "PASSWORD": "pod-password-of-the-test",
    "COPILOT_AUTH_JSON": '{"github-copilot": {}}',
}
# The limits the component sets, as Kubernetes reads them (binary suffixes, millicores): a new limit fails loudly.
BINARY_BYTES = {"512Mi": 512 << 20, "1Gi": 1 << 30}
CPUS = {"500m": "0.5"}
LISTEN_ALL = "0.0.0.0"  # noqa: S104 - what the manifest says; ocw up listens on loopback


def helm_deployment(tmp_path: Path, release: str, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    helm = require_path(REPO / "tools" / "bin" / "helm", what="the pinned helm (`make setup` extracts it)")
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(values))
    rendered = subprocess.run(
        [helm, "template", release, CHART, "--namespace", namespace, "--values", values_file, "--kube-version",
         "1.35.0", "--api-versions", "gateway.networking.k8s.io/v1/HTTPRoute", "--skip-schema-validation"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    [deployment] = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc and doc["kind"] == "Deployment"]
    return dict(deployment)


def flag_values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == flag]


def mounts(run: ContainerRun) -> dict[str, bool]:
    """Container path -> read-only, from the run's --mount options."""
    found = {}
    for option in flag_values(run.argv, "--mount"):
        fields = dict(part.split("=", 1) for part in option.split(","))
        found[fields["destination"]] = fields.get("ro") == "true"
    return found


def expected_env(container: dict[str, Any], secret_data: dict[str, str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = secret_data[ref["key"]]
    return env


@pytest.mark.parametrize(("name", "prefix"), [("opencode-flux", "OPENCODE_FLUX"), ("opencode-ha", "OPENCODE_HA")])
def test_podman_runs_the_containers_helm_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, prefix: str
) -> None:
    # No proxy or CA of this machine's to pass through: the run holds exactly what the pod does.
    for variable in (*passthrough.PROXY_VARIABLES, *passthrough.TLS_FILE_VARIABLES, *passthrough.TLS_DIR_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    tree = load_tree(REPO)
    workspace = find_workspace(workspaces_in(tree), name)
    helmrelease = workspace.helmrelease
    deployment = helm_deployment(tmp_path, helmrelease.name, str(helmrelease.namespace), helmrelease.spec["values"])
    secrets = tmp_path / "secrets.env"
    secrets.write_text("".join(f"{prefix}_{role}={value}\n" for role, value in SECRETS.items()))
    plan = make_plan(workspace, UpOptions(state_dir=tmp_path / "state", secrets_file=secrets, image=IMAGE))
    secret_data = plan.secrets[str(workspace.secret_name)]
    pod = deployment["spec"]["template"]["spec"]
    assert plan.grace == pod["terminationGracePeriodSeconds"] == 10
    runs = {"init": plan.init_run, "app": plan.app_run}
    [init] = pod["initContainers"]
    [app] = pod["containers"]
    for role, container in (("init", init), ("app", app)):
        run = runs[role]
        assert run is not None
        image_at = run.argv.index(IMAGE)
        args = run.argv[image_at + 1 :]
        if role == "app":
            # The one deliberate difference: OpenCode listens on this machine's loopback, not on every address.
            listen_at = container["args"].index("--hostname") + 1
            assert container["args"][listen_at] == LISTEN_ALL
            local = [*container["args"][:listen_at], "127.0.0.1", *container["args"][listen_at + 1 :]]
            assert args == local
        else:
            assert args == container.get("args", [])
        assert flag_values(run.argv, "--entrypoint") == (
            [json.dumps(container["command"])] if "command" in container else []
        )
        assert flag_values(run.argv, "--workdir") == ([container["workingDir"]] if "workingDir" in container else [])
        assert run.env == expected_env(container, secret_data)
        assert mounts(run) == {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}
        context = {**pod["securityContext"], **container["securityContext"]}
        assert flag_values(run.argv, "--user") == [f"{context['runAsUser']}:{context['runAsGroup']}"]
        assert flag_values(run.argv, "--group-add") == [str(pod["securityContext"]["fsGroup"])]
        assert ("--read-only" in run.argv) is context["readOnlyRootFilesystem"]
        assert flag_values(run.argv, "--cap-drop") == [c.lower() for c in context["capabilities"]["drop"]]
        assert ("no-new-privileges" in flag_values(run.argv, "--security-opt")) is (
            context["allowPrivilegeEscalation"] is False
        )
        assert flag_values(run.argv, "--stop-timeout") == [str(pod["terminationGracePeriodSeconds"])]
        limits = (container.get("resources") or {}).get("limits") or {}
        memory = [str(BINARY_BYTES[limits["memory"]])] if "memory" in limits else []
        assert flag_values(run.argv, "--memory") == memory
        assert flag_values(run.argv, "--cpus") == ([CPUS[limits["cpu"]]] if "cpu" in limits else [])
    # Every volume the pod declares backs a mount of the run, under its own name.
    assert {v["name"] for v in pod["volumes"]} == {m.volume.name for m in plan.mounts}
