"""`ocw verify --local`: the same workspace checks against a workspace `ocw up -d` runs on this machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import run_ocw, user_env
from up.helpers import OFFLINE_VERIFY, REPO, Local, fake_tokens, running_workspace

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Local, dict[str, str]]]:
    tokens = fake_tokens()
    with running_workspace(tmp_path_factory.mktemp("verify-local"), tokens) as workspace:
        yield workspace, tokens


def test_local_flux_workspace_passes(local: tuple[Local, dict[str, str]]) -> None:
    workspace, tokens = local
    done = run_ocw(
        "verify", "--local", "flux", "--state-dir", str(workspace.state_dir), "--json", *OFFLINE_VERIFY, env=user_env()
    )
    assert done.code == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    results = {r["id"]: r for r in document["results"]}
    assert set(results) == {"P2.1", "P2.2", "P2.3", "SEC.1", "MON.2"}
    assert all(r["workspace"] == "opencode-flux" for r in results.values())
    assert {i for i, r in results.items() if r["status"] == "pass"} == {"P2.1", "P2.2", "P2.3", "SEC.1"}
    # Copilot has not been used in this workspace: whether its login works cannot be known.
    assert results["MON.2"]["status"] == "skip"
    assert any("HTTP 401" in line for line in results["P2.1"]["evidence"])
    assert any(str(workspace.clone) in line for line in results["P2.3"]["evidence"])
    assert results["SEC.1"]["evidence"] == ['GET /config: share="disabled", autoupdate=false']
    for value in tokens.values():
        assert value not in done.stdout + done.stderr


def test_local_text_report(local: tuple[Local, dict[str, str]]) -> None:
    workspace, _ = local
    done = run_ocw(
        "verify", "--local", "opencode-flux", "--state-dir", str(workspace.state_dir), *OFFLINE_VERIFY, env=user_env()
    )
    assert done.code == 0, done.stdout + done.stderr
    assert "Phase 2: Flux Workspace" in done.stdout
    assert "4 passed, 0 failed, 1 skipped" in done.stdout  # P2.1-P2.3 and SEC.1; MON.2: Copilot not used yet


def test_local_workspace_not_running_cannot_be_checked(tmp_path: Path) -> None:
    done = run_ocw("verify", "--local", "ha", "--state-dir", str(tmp_path), env=user_env())
    assert done.code == 2
    assert "not running locally" in done.stderr
    # The hint works as printed from any folder: it names the repository.
    assert f"`ocw up opencode-ha --repo {REPO} --state-dir {tmp_path.resolve()}`" in done.stderr, done.stderr
