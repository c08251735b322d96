"""The workspace in a real browser, as a user on a new device meets it: the password prompt, landing in the
project, a session made from the UI that outlives a restart, the terminal over its WebSocket."""

from __future__ import annotations

import base64
import os
import re

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Response

from browser.conftest import BrowserWorkspace, NewTab, Tab
from browser.ui import (
    PROMPT,
    assert_no_error_overlay,
    land,
    open_terminal,
    record_responses,
    record_sockets,
    send_prompt,
    wait_for,
)
from support import model_standin

pytestmark = pytest.mark.timeout(600)

MANIFEST_DIR = "/Users/jbaker/git/k8s-cluster"  # WORKSPACE_DIR of opencode-flux
SCREENSHOT_ENV = "OCW_WORKSPACE_SCREENSHOT"  # a path: the session test saves its terminal view there (docs/images)


def _segment(directory: str) -> str:
    return base64.urlsafe_b64encode(directory.encode()).decode().rstrip("=")


def _draft_directories(tab: Tab) -> list[str]:
    tabs: list[object] = next((v for k, v in tab.local_storage().items() if k.endswith(":tabs")), [])
    return [str(t.get("directory")) for t in tabs if isinstance(t, dict) and t.get("type") == "draft"]


def _refused(tab: Tab, url: str, error: str) -> Response:
    """Navigate where the server wants a password the browser does not have; returns the server's answer.

    A headed Chromium shows its password dialog here; headless Chromium cannot, so it gives up the navigation
    (ERR_INVALID_AUTH_CREDENTIALS without credentials, ERR_HTTP_RESPONSE_CODE_FAILURE when the ones it has are
    refused) and stays on a blank page.
    """
    answers = record_responses(tab)
    with pytest.raises(PlaywrightError, match=error):
        tab.page.goto(url)
    challenged = [r for r in answers if r.url == url]
    assert challenged, f"no answer from {url}"
    return challenged[-1]


def test_without_credentials_the_browser_gets_the_password_prompt_and_no_ui(
    workspace: BrowserWorkspace, new_tab: NewTab
) -> None:
    project_url = workspace.project_url  # read once: each read asks `ocw ps`
    for url in (workspace.local.url + "/", project_url):
        tab = new_tab()
        answer = _refused(tab, url, "ERR_INVALID_AUTH_CREDENTIALS")
        assert answer.status == 401, url
        assert answer.headers["www-authenticate"].startswith("Basic"), url
        assert tab.page.locator("#root").count() == 0  # nothing of the app reached the page
        assert tab.page.locator(PROMPT).count() == 0
    wrong = new_tab(password="not-the-password")
    assert _refused(wrong, project_url, "ERR_HTTP_RESPONSE_CODE_FAILURE").status == 401
    assert wrong.page.locator("#root").count() == 0


def _assert_a_new_browser_lands_in_the_project(workspace: BrowserWorkspace, tab: Tab, engine: str) -> None:
    """From an empty profile the link `ocw up` prints opens a new-session tab for the clone, and the UI loads that
    directory's sessions, VCS and config, its assets and its event stream, with no page error."""
    directory = workspace.directory
    # In the image OpenCode runs in the manifest's own path, as in the pod; as processes in its translation.
    assert (directory == MANIFEST_DIR) == (engine == "container"), directory
    state = tab.context.storage_state()
    assert not state["cookies"] and not state["origins"]  # a new device: nothing remembered
    url = workspace.project_url
    assert url == f"{workspace.local.url}/{_segment(directory)}/session"
    responses = land(tab, url)
    # The UI's new-session tab belongs to the workspace's directory: what is sent there runs in the clone.
    assert _draft_directories(tab) == [directory]
    scoped = str(httpx.QueryParams({"directory": directory}))

    def loaded() -> dict[str, Response]:
        return {r.url.split("?")[0].rsplit("/", 1)[-1]: r for r in list(responses) if scoped in r.url}

    wanted = ("session", "vcs", "config")
    wait_for(tab.page, lambda: all(e in loaded() for e in wanted), f"the UI to load the project's {wanted}")
    for endpoint in wanted:
        assert loaded()[endpoint].status == 200, endpoint
    assets = [r for r in responses if "/assets/" in r.url]
    assert assets and all(r.status == 200 for r in assets)

    def event_streams() -> list[Response]:
        return [r for r in list(responses) if r.url.split("?")[0].endswith("/global/event")]

    # The stream is opened beside the project's requests, not after them: on a loaded machine it answers later.
    wait_for(tab.page, lambda: bool(event_streams()), "the UI to open its event stream")
    stream = event_streams()[0]
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    tab.page.locator(PROMPT).wait_for()
    assert_no_error_overlay(tab)


def test_a_new_browser_lands_in_the_project_from_the_printed_link_as_processes(
    process_workspace: BrowserWorkspace, new_tab: NewTab
) -> None:
    """In the image, the same landing is the first step of the session test below (one load of the UI serves both)."""
    tab = new_tab(password=process_workspace.local.password())
    _assert_a_new_browser_lands_in_the_project(process_workspace, tab, "process")


def test_a_session_created_in_the_ui_opens_its_terminal_and_is_still_there_after_down_and_up(
    workspace: BrowserWorkspace, new_tab: NewTab
) -> None:
    """A new browser lands in the project in the image, as the pod runs it (the landing test's assertions). The
    terminal belongs to a session's view, so the session a prompt makes from that landing page is the one whose
    terminal opens, and then the one that must outlive a restart: one load of the UI and one first prompt for all."""
    tab = new_tab(password=workspace.local.password())
    sockets, received = record_sockets(tab)
    _assert_a_new_browser_lands_in_the_project(workspace, tab, "container")
    asked = len(workspace.model_requests)
    session_id = send_prompt(tab, "Say hello")
    tab.page.get_by_text(model_standin.REPLY).first.wait_for()
    assert len(workspace.model_requests) > asked  # the reply really came through the model API
    session = workspace.local.json(f"/session/{session_id}")
    assert session["directory"] == workspace.directory  # made in the project, not in a folder of its own
    assert_no_error_overlay(tab)

    # The terminal (its key binding in the session view) runs in the clone, over its WebSocket.
    terminal = open_terminal(tab, sockets, received)
    tab.page.keyboard.type("git status\n")
    wait_for(tab.page, lambda: "working tree clean" in "".join(received), "git status to answer")
    output = "".join(received)
    assert re.search(r"On branch \S+", output), output[-500:]
    assert str(httpx.QueryParams({"directory": workspace.directory})) in terminal.url
    assert_no_error_overlay(tab)
    # The README's picture of the workspace is this view, made on request only (committed files stay as they are).
    if picture := os.environ.get(SCREENSHOT_ENV):
        tab.page.get_by_label("Send").wait_for()  # the session is idle again (no stop button, no "Thinking")
        tab.page.wait_for_timeout(500)  # the terminal paints the last frame
        tab.page.screenshot(path=picture)
    tab.page.keyboard.press("Control+Backquote")  # closed again, as before a restart: an open terminal keeps painting
    wait_for(tab.page, terminal.is_closed, "the terminal's WebSocket to close")

    workspace.local.down()
    workspace.local.up_ok()  # same port, same volume: the link the browser holds still works

    tab.page.reload()
    tab.page.get_by_text("Say hello").first.wait_for()
    tab.page.get_by_text(model_standin.REPLY).first.wait_for()
    assert session_id in {s["id"] for s in workspace.local.json("/session")}
    assert_no_error_overlay(tab)
