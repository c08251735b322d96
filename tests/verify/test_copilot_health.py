"""MON.2 against the real OpenCode, whose Copilot provider talks to a stand-in for api.githubcopilot.com: the check
tells a login GitHub accepted from one it refused by the answers OpenCode recorded, and sends Copilot nothing itself.
It also shows what cannot be told: OpenCode lists a refused login as connected, with models, all the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ocw.verify.copilot_health import check_copilot_last_use
from ocw.verify.endpoint import Endpoint
from ocw.verify.result import Outcome
from support.connect_proxy import ConnectProxy
from support.copilot_api import HOST, CopilotApi, serve
from support.pki import make_pki
from support.ports import free_port
from support.processes import opencode_server
from support.tokens import copilot_document, random_text

PASSWORD = random_text(length=24)


@dataclass
class Workspace:
    endpoint: Endpoint
    api: CopilotApi

    def prompt(self, model: str) -> None:
        """A prompt to `model` in a new session, answered by Copilot (or refused): what the user does in the web UI."""
        auth = ("opencode", PASSWORD)
        session = httpx.post(f"{self.endpoint.url}/session", json={"title": "t"}, auth=auth, timeout=30).json()
        body = {"model": {"providerID": "github-copilot", "modelID": model}, "parts": [{"type": "text", "text": "hi"}]}
        answer = httpx.post(f"{self.endpoint.url}/session/{session['id']}/message", json=body, auth=auth, timeout=120)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """OpenCode with a Copilot login, which GitHub refuses until the test says otherwise."""
    pki = make_pki(tmp_path / "pki", HOST)
    api = CopilotApi(accept_login=False)
    home = tmp_path / "home"
    (home / ".local/share/opencode").mkdir(parents=True)
    (home / ".local/share/opencode/auth.json").write_text(copilot_document(random_text("gho_")))
    env = {"OPENCODE_SERVER_PASSWORD": PASSWORD, "NODE_EXTRA_CA_CERTS": str(pki.ca)}
    with (
        serve(api, pki.cert, pki.key) as port,
        ConnectProxy({f"{HOST}:443": port}) as proxy,
        opencode_server(home, home, free_port(), {**env, "HTTPS_PROXY": proxy.url}) as url,
    ):
        yield Workspace(Endpoint(workspace="opencode-flux", url=url, password_source=lambda: PASSWORD), api)


def _check_without_copilot(workspace: Workspace, since: datetime | None = None) -> Outcome:
    before = list(workspace.api.requests)
    outcome = check_copilot_last_use(workspace.endpoint, since)
    assert workspace.api.requests == before, "the check must not send Copilot a request"
    return outcome


def test_a_refused_login_is_listed_as_connected_and_the_check_tells_unused_answered_and_refused(
    workspace: Workspace,
) -> None:
    """The login's life on one server, in order: refused when OpenCode first lists its providers, unused, answered,
    refused again (GitHub revokes it).

    First, what OpenCode's provider list (the one `ocw verify` reads) cannot tell: GitHub refused the login, yet
    github-copilot is connected with models (its bundled catalogue instead of GitHub's list). One start serves both
    stories: that refusal answers no prompt, so the check still finds the login unused, as on a server whose login
    GitHub accepted from the start; the prompts then go to a model of that catalogue, which is all the check reads
    (the model, the time and the error OpenCode recorded), whichever list the model came from."""
    url = f"{workspace.endpoint.url}/config/providers"
    configured = httpx.get(url, auth=("opencode", PASSWORD), timeout=60).json()
    assert ("GET", "/models") in workspace.api.requests  # OpenCode asked GitHub for the model list, and was refused
    connected = [p["id"] for p in configured["providers"]]
    assert "github-copilot" in connected
    copilot = next(p for p in configured["providers"] if p["id"] == "github-copilot")
    assert copilot["models"], json.dumps(connected)
    # The model the web UI offers first, from that catalogue: GitHub's list was refused.
    model = configured["default"]["github-copilot"]
    assert model in copilot["models"], model

    unused = _check_without_copilot(workspace)
    assert unused.status == "skip"
    assert "whether the login works can only be known by using it" in str(unused.reason)

    workspace.api.accept_login = True  # a fresh login GitHub accepts
    workspace.prompt(model)
    accepted = _check_without_copilot(workspace)
    assert accepted.status == "pass", accepted
    assert f"the latest Copilot request ({model}," in accepted.evidence[0]
    assert "was answered: the login worked then" in accepted.evidence[0]

    workspace.api.accept_login = False  # GitHub revokes the token
    workspace.prompt(model)
    refused = _check_without_copilot(workspace)
    assert refused.status == "fail", refused
    assert "was refused: APIError HTTP 401: unauthorized: token expired" in str(refused.seen)
    assert "scripts/seed-copilot-auth.sh" in str(refused.next_step)

    # A refusal older than the running server may predate the login it runs with now.
    later = _check_without_copilot(workspace, since=datetime.now(UTC))
    assert later.status == "skip" and "before the server started" in str(later.reason)
