"""The workspace URL as the cluster serves it: a new browser profile opens `https://<host>/` and lands in the
project without a click. The route is the one this repository's tree renders, applied by the stand-in gateway in
front of the workspace (Envoy cannot run here)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Response

from browser.conftest import USERNAME, Gated
from ocw.opencode.project_url import landing_path

pytestmark = pytest.mark.timeout(600)

DRAFT_URL = re.compile(r"/new-session\?draftId=[0-9a-f-]+$")


def test_a_new_browser_opening_the_workspace_url_lands_in_the_project(gated: Gated) -> None:
    workspace = gated.workspace
    assert gated.tree.working_dir == workspace.directory  # the image runs in the manifest's WORKSPACE_DIR, as the pod
    context = gated.context(http_credentials={"username": USERNAME, "password": workspace.local.password()})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        responses: list[Response] = []

        def record(response: Response) -> None:
            responses.append(response)

        page.on("response", record)
        root = f"{gated.url}/"
        page.goto(root)
        page.wait_for_url(DRAFT_URL)
        first = next(r for r in responses if r.url == root)
        assert first.status == 302
        assert gated.tree.working_dir
        project_page = gated.url + landing_path(gated.tree.working_dir)
        assert first.headers["location"] == project_page
        assert any(r.url == project_page and r.status == 200 for r in responses)
        tabs = page.evaluate("JSON.parse(localStorage.getItem('opencode.window.browser.dat:tabs') || '[]')")
        assert [t.get("directory") for t in tabs if t.get("type") == "draft"] == [gated.tree.working_dir]
        page.locator('[aria-label="Prompt"]').wait_for()
        assert not errors, errors
    finally:
        context.close()
