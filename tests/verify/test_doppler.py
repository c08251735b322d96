"""The Doppler side of `ocw verify` (P1.3, P1.4, P4.3) through `ocw secrets`' store, against a local Doppler API;
the seed script really runs (with --dry-run)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.doppler_api import DopplerApi, serve_doppler_api
from support.tokens import copilot_document, random_text

from .conftest import Cluster, Run
from .world import NAMESPACE

RunOcw = Callable[[list[str]], Run]
PROJECT, CONFIG = "k3s-cluster", "prd"


@dataclass
class Doppler:
    api: DopplerApi
    login: str  # this machine's Copilot login, as ~/.local/share/opencode/auth.json holds it
    values: dict[str, str]


@pytest.fixture
def doppler(cluster: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Doppler]:
    token = random_text("dp.st.", 40)
    login = copilot_document(random_text("gho_"))
    home = tmp_path / "home"
    (home / ".local" / "share" / "opencode").mkdir(parents=True)
    (home / ".local" / "share" / "opencode" / "auth.json").write_text(login)
    values: dict[str, str] = {}
    for name, server in cluster.servers.items():
        prefix = "OPENCODE_FLUX" if name == "opencode-flux" else "OPENCODE_HA"
        values[f"{prefix}_PASSWORD"] = server.secrets.password
        values[f"{prefix}_GITHUB_PAT"] = server.secrets.token
        values[f"{prefix}_COPILOT_AUTH_JSON"] = login
        secret = cluster.fake.get("Secret", f"{name}-secret", NAMESPACE)
        assert secret is not None
        secret["data"]["COPILOT_AUTH_JSON"] = base64.b64encode(login.encode()).decode()
    bare = tmp_path / "bin"
    bare.mkdir()
    with serve_doppler_api({token}) as (api, url):
        api.add_config(PROJECT, CONFIG, values)
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        monkeypatch.setenv("PATH", f"{bare}:/usr/bin:/bin")  # no Doppler CLI: the REST transport
        monkeypatch.setenv("DOPPLER_TOKEN", token)
        monkeypatch.setenv("DOPPLER_API_HOST", url)
        for name in ("DOPPLER_PROJECT", "DOPPLER_CONFIG"):
            monkeypatch.delenv(name, raising=False)
        yield Doppler(api, login, values)


def _statuses(run: Run) -> dict[tuple[str, str | None], object]:
    return {key: r["status"] for key, r in run.results().items()}


def test_doppler_checks_pass_when_everything_is_in_place(cluster: Cluster, doppler: Doppler, run_ocw: RunOcw) -> None:
    run = run_ocw(cluster.args("--json", "--phase", "1", "--phase", "4"))
    statuses = _statuses(run)
    assert run.code == 0, run.stdout
    assert statuses[("P1.3", None)] == statuses[("P1.4", None)] == "pass"
    assert statuses[("P4.3", "opencode-flux")] == statuses[("P4.3", "opencode-ha")] == "pass"
    evidence = " ".join(run.results()[("P1.3", None)]["evidence"])  # type: ignore[arg-type]
    assert "OPENCODE_HA_COPILOT_AUTH_JSON: set" in evidence
    for value in doppler.values.values():
        assert value not in run.stdout + run.stderr
    assert doppler.api.writes() == []  # the dry-run wrote nothing


def test_missing_and_empty_variables_fail_p13(cluster: Cluster, doppler: Doppler, run_ocw: RunOcw) -> None:
    stored = doppler.api.projects[PROJECT][CONFIG].secrets
    del stored["OPENCODE_HA_PASSWORD"]
    stored["OPENCODE_FLUX_GITHUB_PAT"] = ""
    run = run_ocw(cluster.args("--json", "--phase", "1"))
    result = run.results()[("P1.3", None)]
    assert run.code == 1 and result["status"] == "fail"
    assert result["seen"] == "missing: OPENCODE_HA_PASSWORD; empty: OPENCODE_FLUX_GITHUB_PAT"


def test_a_newer_local_login_fails_p14_and_p43(cluster: Cluster, doppler: Doppler, run_ocw: RunOcw) -> None:
    auth = Path(str(Path.home())) / ".local" / "share" / "opencode" / "auth.json"
    auth.write_text(copilot_document(random_text("gho_")))
    run = run_ocw(cluster.args("--json", "--phase", "1", "--phase", "4"))
    results = run.results()
    assert run.code == 1
    assert results[("P1.4", None)]["status"] == "fail"
    assert "OPENCODE_FLUX_COPILOT_AUTH_JSON (would-updated)" in str(results[("P1.4", None)]["seen"])
    assert results[("P4.3", "opencode-ha")]["status"] == "fail"
    assert "seed-copilot-auth.sh" in str(results[("P4.3", "opencode-ha")]["next"])


def test_secret_not_synced_from_doppler_fails_p43(cluster: Cluster, doppler: Doppler, run_ocw: RunOcw) -> None:
    secret = cluster.fake.get("Secret", "opencode-ha-secret", NAMESPACE)
    assert secret is not None
    secret["data"]["COPILOT_AUTH_JSON"] = base64.b64encode(copilot_document("gho_old").encode()).decode()
    run = run_ocw(cluster.args("--json", "--phase", "4"))
    results = run.results()
    assert results[("P4.3", "opencode-flux")]["status"] == "pass"
    assert results[("P4.3", "opencode-ha")]["status"] == "fail"
    assert results[("P4.3", "opencode-ha")]["seen"] == "they differ (compared by SHA-256)"
