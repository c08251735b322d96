"""The store through both transports — the real Doppler CLI and the REST client — against the local Doppler API."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import CONFIG, PROJECT, Doppler

from ocw.errors import OcwError
from ocw.secrets.location import DEFAULT_CONFIG, DEFAULT_PROJECT
from ocw.secrets.store import open_store
from support.tokens import random_text

# A JSON document with quotes, backslashes, inner newlines and non-ASCII text: what a secret value can hold.
AWKWARD = '{\n  "github-copilot": {"refresh": "%s", "note": "say \\"hi\\" \\\\ ünïcode"}\n}'


def test_values_round_trip_intact(doppler: Doppler, transport_env: dict[str, str], tmp_path: Path) -> None:
    store = open_store(PROJECT, CONFIG, environ=transport_env, cwd=tmp_path)
    value = AWKWARD % random_text("gho_")
    store.set("OPENCODE_FLUX_COPILOT_AUTH_JSON", value)

    assert doppler.stored()["OPENCODE_FLUX_COPILOT_AUTH_JSON"] == value
    assert store.get("OPENCODE_FLUX_COPILOT_AUTH_JSON") == value
    assert store.get("OPENCODE_HA_COPILOT_AUTH_JSON") is None
    assert store.names() == {"OPENCODE_FLUX_COPILOT_AUTH_JSON"}
    assert "OPENCODE_FLUX_COPILOT_AUTH_JSON" in store.last_changed(["OPENCODE_FLUX_COPILOT_AUTH_JSON"])
    assert all(r.authorization == f"Bearer {doppler.token}" for r in doppler.api.requests)


def test_the_transport_follows_what_is_installed(cli_env: dict[str, str], api_env: dict[str, str]) -> None:
    assert open_store(environ=cli_env).transport == "the Doppler CLI"
    assert open_store(environ=api_env).transport == "Doppler's REST API"


def test_no_cli_and_no_token_says_how_to_log_in(api_env: dict[str, str]) -> None:
    del api_env["DOPPLER_TOKEN"]
    with pytest.raises(OcwError) as caught:
        open_store(environ=api_env)
    assert "the Doppler CLI (`doppler`) is not on PATH and DOPPLER_TOKEN is not set" in caught.value.message
    assert "doppler login" in str(caught.value.hint)


def test_cli_without_a_login_is_reported(cli_env: dict[str, str], tmp_path: Path) -> None:
    del cli_env["DOPPLER_TOKEN"]
    store = open_store(environ=cli_env, cwd=tmp_path)
    with pytest.raises(OcwError) as caught:
        store.names()
    assert caught.value.message == "the Doppler CLI is not logged in: it has no token for this directory"
    assert "doppler login" in str(caught.value.hint)


def test_cli_login_from_its_config_file(doppler: Doppler, cli_env: dict[str, str], tmp_path: Path) -> None:
    del cli_env["DOPPLER_TOKEN"]
    del cli_env["DOPPLER_API_HOST"]
    config_dir = doppler.home / ".doppler"
    config_dir.mkdir()
    (config_dir / ".doppler.yaml").write_text(
        f"scoped:\n    /:\n        token: {doppler.token}\n        api-host: {doppler.url}\n"
    )
    doppler.api.add_config(PROJECT, CONFIG, {"OPENCODE_HA_PASSWORD": random_text("", 32)})
    assert open_store(environ=cli_env, cwd=tmp_path).names() == {"OPENCODE_HA_PASSWORD"}


def test_project_and_config_resolution_order(doppler: Doppler, cli_env: dict[str, str], tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    assert open_store(environ=cli_env, cwd=checkout).location.project == DEFAULT_PROJECT
    # `doppler setup` for this directory, done with the real CLI.
    subprocess.run(
        ["doppler", "configure", "set", "project=from-setup", "config=dev", "--scope", str(checkout)],
        env=cli_env,
        capture_output=True,
        check=True,
    )
    assert open_store(environ=cli_env, cwd=checkout).location.config == "dev"
    assert open_store(environ=cli_env, cwd=tmp_path).location.config == DEFAULT_CONFIG
    with_env = {**cli_env, "DOPPLER_PROJECT": "from-env"}
    location = open_store(environ=with_env, cwd=checkout).location
    assert (location.project, location.config) == ("from-env", "dev")
    location = open_store("from-flag", None, environ=with_env, cwd=checkout).location
    assert (location.project, location.project_source) == ("from-flag", "--project")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (("nope", CONFIG), "Doppler has no project 'nope'"),
        ((PROJECT, "stg"), f"Doppler project '{PROJECT}' has no config 'stg'"),
    ],
)
def test_unknown_project_or_config(
    doppler: Doppler, transport_env: dict[str, str], tmp_path: Path, where: tuple[str, str], expected: str
) -> None:
    store = open_store(*where, environ=transport_env, cwd=tmp_path)
    with pytest.raises(OcwError) as caught:
        store.set("OPENCODE_FLUX_PASSWORD", random_text("", 32))
    assert expected in caught.value.message
    assert doppler.stored() == {}


def test_a_rejected_token(doppler: Doppler, transport_env: dict[str, str], tmp_path: Path) -> None:
    bad = random_text("dp.ct.", 40)
    store = open_store(environ={**transport_env, "DOPPLER_TOKEN": bad}, cwd=tmp_path)
    with pytest.raises(OcwError) as caught:
        store.names()
    assert caught.value.message.startswith("Doppler rejected the token")
    assert bad not in str(caught.value)


def test_an_api_error_and_a_timeout(doppler: Doppler, transport_env: dict[str, str], tmp_path: Path) -> None:
    store = open_store(environ={**transport_env, "OCW_DOPPLER_TIMEOUT": "1"}, cwd=tmp_path)
    value = random_text("ghp_")
    doppler.api.fail("POST", "/v3/configs/config/secrets", status=422, messages=["Secret name is reserved"])
    with pytest.raises(OcwError) as caught:
        store.set("OPENCODE_FLUX_GITHUB_PAT", value)
    assert "Secret name is reserved" in caught.value.message
    assert value not in str(caught.value)

    doppler.api.fail("POST", "/v3/configs/config/secrets", delay=2.5)
    with pytest.raises(OcwError) as caught:
        store.set("OPENCODE_FLUX_GITHUB_PAT", value)
    assert "did not answer within 1 s" in caught.value.message
    assert "OCW_DOPPLER_TIMEOUT" in str(caught.value.hint)
    assert doppler.stored() == {}


def test_a_bad_timeout_setting_is_named(cli_env: dict[str, str]) -> None:
    with pytest.raises(OcwError, match="OCW_DOPPLER_TIMEOUT must be a positive number of seconds, found 'soon'"):
        open_store(environ={**cli_env, "OCW_DOPPLER_TIMEOUT": "soon"})
