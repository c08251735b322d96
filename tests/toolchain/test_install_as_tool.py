"""ocw installed from its wheel, as `uv tool install` or `pipx install` would, and run outside the checkout: no
`tools/`, no schemas beside it, no network. `ocw check` must still pass, validating with the schemas that ship inside
the package and rendering with the chart that ships inside it; kubectl and helm come from PATH.
(tests/support/wheel.py builds and installs the wheel.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from check.tree_copy import TreeCopy
from ocw.install.host import HOST_DESCRIPTION
from support.wheel import install_wheel, run


def test_the_installed_tool_checks_a_tree_offline_with_its_own_schemas(
    tree: TreeCopy, tmp_path: Path, real_kubectl: Path, real_helm: Path, ocw_wheel: Path
) -> None:
    tool = install_wheel(ocw_wheel, tmp_path / "tool")
    python, ocw = tool.python, tool.bin / "ocw"
    elsewhere = tmp_path / "elsewhere"  # a working directory with no tools/ and nothing beside it
    path = tmp_path / "path"
    for directory in (elsewhere, path):
        directory.mkdir()
    (path / "kubectl").symlink_to(real_kubectl)
    (path / "helm").symlink_to(real_helm)
    env = {k: v for k, v in os.environ.items() if k not in {"OCW_TOOLS_DIR", "PYTHONPATH"}}
    env["PATH"] = str(path)

    where = run([str(python), "-c", "import ocw; print(ocw.__file__)"], cwd=elsewhere, env=env)
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(tmp_path / "tool"), f"ocw imported from {package}, not the installed wheel"

    # A copy of the tree, in the cluster it is made for (--host), without the cluster's bootstrap: one warning says so.
    command = [str(ocw), "check", "--repo", str(tree.root), "--host", str(HOST_DESCRIPTION), "--json"]
    result = run(command, cwd=elsewhere, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    # Besides that: the tree pins app-template 4.4.0 and the package ships 4.1.1; PATH holds kubectl alone, so
    # promtool's rule check could not run.
    assert document["summary"]["errors"] == 0, document["findings"]
    rules = sorted((f["rule"], f["severity"]) for f in document["findings"])
    assert rules == [("flux-bootstrap", "warning"), ("helm-chart", "warning"), ("promtool-rules", "warning")]
    chart = next(f for f in document["findings"] if f["rule"] == "helm-chart")
    assert "rendered with the vendored 4.1.1" in chart["message"]
    assert document["summary"]["objects_validated"] > 20
    assert f"{package / 'data' / 'schemas'} (vendored)" in document["summary"]["schemas"]
    assert f"with kubectl kustomize (kubectl on PATH ({path / 'kubectl'})" in result.stderr

    layers = run([str(ocw), "schemas", "where", "--json"], cwd=elsewhere, env=env)
    vendored = next(layer["path"] for layer in json.loads(layers.stdout) if layer["layer"] == "vendored")
    assert (Path(vendored) / "crds" / "LICENSE").is_file()
    assert (Path(vendored) / "app-template-common-4.1.1" / "LICENSE").is_file()
    assert (Path(vendored) / "README.md").is_file()
    charts = json.loads(run([str(ocw), "charts", "list", "--json"], cwd=elsewhere, env=env).stdout)["charts"]
    [chart] = [c for c in charts if c["origin"] == "vendored"]
    assert Path(chart["path"]).is_relative_to(package)
    assert (Path(chart["path"]) / "LICENSE").is_file() and (Path(chart["path"]) / "charts/common/LICENSE").is_file()
