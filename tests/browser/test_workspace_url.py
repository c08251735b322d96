"""The workspace URL as the cluster serves it: a new browser profile opens `https://<host>/` and lands in the
project without a click. The route's redirect is the one this repository's tree renders; a TLS relay applies it
in front of the workspace, standing in for the gateway (Envoy cannot run here)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, Response

from browser.conftest import CHROMIUM_ARGS, USERNAME, VIEWPORT, BrowserWorkspace, chromium_executable
from ocw.workspace import find_workspace, load_workspaces
from support.route import route_landing
from up.helpers import REPO
from verify.tls_proxy import make_pki, tls_relay

pytestmark = pytest.mark.timeout(600)

HOSTNAME = "flux.opencode.example.test"
DRAFT_URL = re.compile(r"/new-session\?draftId=[0-9a-f-]+$")


@pytest.fixture(scope="module")
def gateway_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium resolving the workspace's hostname to this machine, as the home network's DNS does for the gateway."""
    executable = chromium_executable()
    if not Path(executable).is_file():
        pytest.skip(f"no Chromium at {executable}: `make setup` installs Debian's chromium (TEST_SYSTEM_PACKAGES)")
    rules = f"--host-resolver-rules=MAP {HOSTNAME} 127.0.0.1"
    instance = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, rules])
    yield instance
    instance.close()


def test_a_new_browser_opening_the_workspace_url_lands_in_the_project(
    workspace: BrowserWorkspace, gateway_browser: Browser, tmp_path: Path
) -> None:
    flux = find_workspace(load_workspaces(REPO), "flux")
    landing = route_landing(flux)
    assert landing is not None, "the tree's route has no landing redirect"
    assert flux.working_dir == workspace.directory  # the image runs in the manifest's WORKSPACE_DIR, as the pod
    pki = make_pki(tmp_path / "pki", "*.opencode.example.test")
    with tls_relay(pki, workspace.local.port, lambda: landing) as port:
        # The throwaway CA is not in Chromium's store; `ocw verify` checks the certificate chain.
        context = gateway_browser.new_context(
            http_credentials={"username": USERNAME, "password": workspace.local.password()},
            ignore_https_errors=True,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            responses: list[Response] = []

            def record(response: Response) -> None:
                responses.append(response)

            page.on("response", record)
            root = f"https://{HOSTNAME}:{port}/"
            page.goto(root)
            page.wait_for_url(DRAFT_URL)
            first = next(r for r in responses if r.url == root)
            assert first.status == 302
            project_page = f"https://{HOSTNAME}:{port}{landing}"
            assert first.headers["location"] == project_page
            assert any(r.url == project_page and r.status == 200 for r in responses)
            tabs = page.evaluate("JSON.parse(localStorage.getItem('opencode.window.browser.dat:tabs') || '[]')")
            assert [t.get("directory") for t in tabs if t.get("type") == "draft"] == [flux.working_dir]
            page.locator('[aria-label="Prompt"]').wait_for()
            assert not errors, errors
        finally:
            context.close()
