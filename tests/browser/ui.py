"""What the browser tests do with the workspace's UI: wait, land in the project, send a prompt, open the terminal."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, Response, WebSocket

from browser.conftest import Tab

ERROR_OVERLAY_TEXTS = ("Something went wrong", "must be used within", "An error occurred while loading")
PROMPT = '[aria-label="Prompt"]'
DRAFT_URL = re.compile(r"/new-session\?draftId=[0-9a-f-]+$")
SESSION_URL = re.compile(r"/session/(ses_[A-Za-z0-9]+)$")


def wait_for(page: Page, condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"gave up after {seconds:g} s waiting for {what}")


def assert_no_error_overlay(tab: Tab) -> None:
    text = tab.page.inner_text("body")
    shown = [t for t in ERROR_OVERLAY_TEXTS if t in text]
    assert not shown, f"the page shows an error: {shown}"
    assert not tab.page_errors, tab.page_errors


def record_responses(tab: Tab) -> list[Response]:
    responses: list[Response] = []

    def record(response: Response) -> None:
        responses.append(response)

    tab.page.on("response", record)
    return responses


def land(tab: Tab, url: str) -> list[Response]:
    """Open `url` in the tab; wait until the UI has made its new-session tab and its model is chosen."""
    responses = record_responses(tab)
    tab.page.goto(url)
    tab.page.wait_for_url(DRAFT_URL)
    model = tab.page.locator('[data-action="prompt-model"]')
    model.get_by_text("Stand-in model").wait_for()
    return responses


def send_prompt(tab: Tab, text: str) -> str:
    """Type a prompt into the landing page and send it; returns the session id the UI moves to."""
    tab.page.locator(PROMPT).click()
    tab.page.keyboard.type(text)
    tab.page.get_by_label("Send").click()
    tab.page.wait_for_url(SESSION_URL)
    match = SESSION_URL.search(tab.page.url)
    assert match is not None
    return match.group(1)


def record_sockets(tab: Tab) -> tuple[list[WebSocket], list[str]]:
    """The page's WebSockets and the text frames they receive, from now on."""
    sockets: list[WebSocket] = []
    received: list[str] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framereceived", lambda frame: received.append(frame if isinstance(frame, str) else frame.decode()))

    tab.page.on("websocket", opened)
    return sockets, received


def open_terminal(tab: Tab, sockets: list[WebSocket], received: list[str]) -> WebSocket:
    """Toggle the terminal of the session view with its key binding; wait for its WebSocket and a shell prompt."""
    tab.page.keyboard.press("Control+Backquote")
    wait_for(tab.page, lambda: any("/pty/" in s.url for s in sockets), "the terminal's WebSocket to open")
    wait_for(tab.page, lambda: "k8s-cluster" in "".join(received), "the shell prompt in the clone")
    return next(s for s in sockets if "/pty/" in s.url)
