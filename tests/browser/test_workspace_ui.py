"""The workspace in a real browser, as a user on a new device meets it: the password prompt, landing in the
project, a session made from the UI that outlives a restart, the terminal over its WebSocket."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response, WebSocket

from browser.conftest import BrowserWorkspace, NewTab, Tab
from support import model_standin

pytestmark = pytest.mark.timeout(600)

ERROR_OVERLAY_TEXTS = ("Something went wrong", "must be used within", "An error occurred while loading")
PROMPT = '[aria-label="Prompt"]'
MANIFEST_DIR = "/Users/jbaker/git/k8s-cluster"  # WORKSPACE_DIR of opencode-flux
SCREENSHOT_ENV = "OCW_WORKSPACE_SCREENSHOT"  # a path: the terminal test saves its final view there (docs/images)
DRAFT_URL = re.compile(r"/new-session\?draftId=[0-9a-f-]+$")
SESSION_URL = re.compile(r"/session/(ses_[A-Za-z0-9]+)$")


def _segment(directory: str) -> str:
    return base64.urlsafe_b64encode(directory.encode()).decode().rstrip("=")


def _assert_no_error_overlay(tab: Tab) -> None:
    text = tab.page.inner_text("body")
    shown = [t for t in ERROR_OVERLAY_TEXTS if t in text]
    assert not shown, f"the page shows an error: {shown}"
    assert not tab.page_errors, tab.page_errors


def _land(tab: Tab, url: str) -> list[Response]:
    """Open `url` in the tab; wait until the UI has made its new-session tab and its model is chosen."""
    responses = _record_responses(tab)
    tab.page.goto(url)
    tab.page.wait_for_url(DRAFT_URL)
    model = tab.page.locator('[data-action="prompt-model"]')
    model.get_by_text("Stand-in model").wait_for()
    return responses


def _draft_directories(tab: Tab) -> list[str]:
    tabs: list[object] = next((v for k, v in tab.local_storage().items() if k.endswith(":tabs")), [])
    return [str(t.get("directory")) for t in tabs if isinstance(t, dict) and t.get("type") == "draft"]


def _record_responses(tab: Tab) -> list[Response]:
    responses: list[Response] = []

    def record(response: Response) -> None:
        responses.append(response)

    tab.page.on("response", record)
    return responses


def _refused(tab: Tab, url: str, error: str) -> Response:
    """Navigate where the server wants a password the browser does not have; returns the server's answer.

    A headed Chromium shows its password dialog here; headless Chromium cannot, so it gives up the navigation
    (ERR_INVALID_AUTH_CREDENTIALS without credentials, ERR_HTTP_RESPONSE_CODE_FAILURE when the ones it has are
    refused) and stays on a blank page.
    """
    answers = _record_responses(tab)
    with pytest.raises(PlaywrightError, match=error):
        tab.page.goto(url)
    challenged = [r for r in answers if r.url == url]
    assert challenged, f"no answer from {url}"
    return challenged[-1]


def test_without_credentials_the_browser_gets_the_password_prompt_and_no_ui(
    workspace: BrowserWorkspace, new_tab: NewTab
) -> None:
    for url in (workspace.local.url + "/", workspace.project_url):
        tab = new_tab()
        answer = _refused(tab, url, "ERR_INVALID_AUTH_CREDENTIALS")
        assert answer.status == 401, url
        assert answer.headers["www-authenticate"].startswith("Basic"), url
        assert tab.page.locator("#root").count() == 0  # nothing of the app reached the page
        assert tab.page.locator(PROMPT).count() == 0
    wrong = new_tab(password="not-the-password")
    assert _refused(wrong, workspace.project_url, "ERR_HTTP_RESPONSE_CODE_FAILURE").status == 401
    assert wrong.page.locator("#root").count() == 0


@pytest.mark.parametrize("engine", ["container", "process"])
def test_a_new_browser_lands_in_the_project_from_the_printed_link(
    engine: str, request: pytest.FixtureRequest, new_tab: NewTab
) -> None:
    workspace: BrowserWorkspace = request.getfixturevalue("workspace" if engine == "container" else "process_workspace")
    directory = workspace.directory
    # In the image OpenCode runs in the manifest's own path, as in the pod; as processes in its translation.
    assert (directory == MANIFEST_DIR) == (engine == "container"), directory
    tab = new_tab(password=workspace.local.password())
    state = tab.context.storage_state()
    assert not state["cookies"] and not state["origins"]  # a new device: nothing remembered
    url = workspace.project_url
    assert url == f"{workspace.local.url}/{_segment(directory)}/session"
    responses = _land(tab, url)
    # The UI's new-session tab belongs to the workspace's directory: what is sent there runs in the clone.
    assert _draft_directories(tab) == [directory]
    scoped = str(httpx.QueryParams({"directory": directory}))

    def loaded() -> dict[str, Response]:
        return {r.url.split("?")[0].rsplit("/", 1)[-1]: r for r in list(responses) if scoped in r.url}

    wanted = ("session", "vcs", "config")
    _wait_for(tab.page, lambda: all(e in loaded() for e in wanted), f"the UI to load the project's {wanted}")
    for endpoint in wanted:
        assert loaded()[endpoint].status == 200, endpoint
    assets = [r for r in responses if "/assets/" in r.url]
    assert assets and all(r.status == 200 for r in assets)

    def event_streams() -> list[Response]:
        return [r for r in list(responses) if r.url.split("?")[0].endswith("/global/event")]

    # The stream is opened beside the project's requests, not after them: on a loaded machine it answers later.
    _wait_for(tab.page, lambda: bool(event_streams()), "the UI to open its event stream")
    stream = event_streams()[0]
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    tab.page.locator(PROMPT).wait_for()
    _assert_no_error_overlay(tab)


def test_a_session_created_in_the_ui_is_still_there_after_down_and_up(
    workspace: BrowserWorkspace, new_tab: NewTab
) -> None:
    tab = new_tab(password=workspace.local.password())
    _land(tab, workspace.project_url)
    asked = len(workspace.model_requests)
    tab.page.locator(PROMPT).click()
    tab.page.keyboard.type("Say hello")
    tab.page.get_by_label("Send").click()
    tab.page.get_by_text(model_standin.REPLY).first.wait_for()
    tab.page.wait_for_url(SESSION_URL)
    match = SESSION_URL.search(tab.page.url)
    assert match is not None
    session_id = match.group(1)
    assert len(workspace.model_requests) > asked  # the reply really came through the model API
    session = workspace.local.json(f"/session/{session_id}")
    assert session["directory"] == workspace.directory  # made in the project, not in a folder of its own
    _assert_no_error_overlay(tab)

    workspace.local.down()
    workspace.local.up_ok()  # same port, same volume: the link the browser holds still works

    tab.page.reload()
    tab.page.get_by_text("Say hello").first.wait_for()
    tab.page.get_by_text(model_standin.REPLY).first.wait_for()
    assert session_id in {s["id"] for s in workspace.local.json("/session")}
    _assert_no_error_overlay(tab)


def test_the_terminal_opens_over_its_websocket_in_the_clone(workspace: BrowserWorkspace, new_tab: NewTab) -> None:
    tab = new_tab(password=workspace.local.password())
    sockets: list[WebSocket] = []
    received: list[str] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framereceived", lambda frame: received.append(frame if isinstance(frame, str) else frame.decode()))

    tab.page.on("websocket", opened)
    _land(tab, workspace.project_url)
    # The terminal belongs to a session's view: make one, then toggle the terminal with its key binding.
    tab.page.locator(PROMPT).click()
    tab.page.keyboard.type("Open a terminal")
    tab.page.get_by_label("Send").click()
    tab.page.wait_for_url(SESSION_URL)
    tab.page.keyboard.press("Control+Backquote")
    _wait_for(tab.page, lambda: any("/pty/" in s.url for s in sockets), "the terminal's WebSocket to open")
    _wait_for(tab.page, lambda: "k8s-cluster" in "".join(received), "the shell prompt in the clone")
    tab.page.keyboard.type("git status\n")
    _wait_for(tab.page, lambda: "working tree clean" in "".join(received), "git status to answer")
    output = "".join(received)
    assert re.search(r"On branch \S+", output), output[-500:]
    terminal = next(s for s in sockets if "/pty/" in s.url)
    assert str(httpx.QueryParams({"directory": workspace.directory})) in terminal.url
    _assert_no_error_overlay(tab)
    # The README's picture of the workspace is this view, made on request only (committed files stay as they are).
    if picture := os.environ.get(SCREENSHOT_ENV):
        tab.page.get_by_text(model_standin.REPLY).first.wait_for()
        tab.page.get_by_label("Send").wait_for()  # the session is idle again (no stop button, no "Thinking")
        tab.page.wait_for_timeout(500)  # the terminal paints the last frame
        tab.page.screenshot(path=picture)


def _wait_for(page: Page, condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"gave up after {seconds:g} s waiting for {what}")
