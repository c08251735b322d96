"""Other web pages against the workspace as the cluster serves it: Debian's Chromium, logged in by a normal
navigation (the password in the link, so the browser caches it as after its password prompt), opens pages of another
host of the same site, of a sibling workspace-like host and of another site. Each page tries what a page can: no-cors
fetches that create a session or run a command in a PTY, a credentialed read, the terminal's WebSocket, forms posted
into a frame and at top level, a sandboxed frame (Origin: null). Everything goes through the stand-in gateway applying
the route the tree builds (the Origin gate); the workspace runs in its image, as the pod.

Without the gate the same pages take the workspace over (the control test): so a pass here means the gate held."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from browser.conftest import ATTACKERS, WORKSPACE_HOST, Gated, Tab
from browser.ui import land, open_terminal, record_sockets, send_prompt, wait_for
from ocw.gatewayapi.httproute import Answer, Request
from ocw.opencode.project_url import landing_path
from support import model_standin
from support.gateway import has_filter, without_rules

pytestmark = pytest.mark.timeout(900)

HOME = "/Users/jbaker"  # the pod's HOME, the workspace volume


def _api(gated: Gated) -> httpx.Client:
    """OpenCode itself, with the password, bypassing the gateway: how the test sees what changed."""
    local = gated.workspace.local
    return httpx.Client(base_url=local.url, auth=("opencode", local.password()), timeout=30)


def _state(gated: Gated) -> tuple[set[str], set[str]]:
    """The server's sessions and PTYs."""
    with _api(gated) as api:
        return {s["id"] for s in api.get("/session").json()}, {p["id"] for p in api.get("/pty").json()}


@pytest.fixture(scope="module")
def logged_in(gated: Gated) -> Iterator[Tab]:
    """The user's browser on the project page, logged in as after the browser's password prompt: a first navigation
    with the password in the link makes Chromium cache it for the workspace's protection space, the second (the link
    itself: a page whose URL holds credentials cannot fetch) uses the cache, as every later request does.

    One login serves the module (a login is a whole load of the UI): the attackers' pages only need the cached
    password in the profile, and open pages of their own in it; the one test that works in the project page itself
    closes it when done."""
    since = len(gated.route.log)
    context = gated.context()
    tab = Tab(context, context.new_page())
    assert gated.tree.working_dir
    tab.page.goto(f"https://opencode:{gated.workspace.local.password()}@{WORKSPACE_HOST}/global/health")
    land(tab, gated.url + landing_path(gated.tree.working_dir))
    assert not [(r.path, a.status) for r, a in gated.route.log[since:] if a.status == 403]  # the UI's own requests pass
    yield tab
    context.close()


def _from(gated: Gated, origins: set[str], since: int) -> list[tuple[Request, Answer]]:
    return [(r, a) for r, a in gated.route.log[since:] if r.header("origin") in origins]


@contextmanager
def _victim_pty(gated: Gated) -> Iterator[str]:
    """A terminal the user has open (the WebSocket attack targets it); closed afterwards."""
    with _api(gated) as api:
        created = api.post("/pty", json={"command": "/bin/sh"})
        assert created.status_code == 200, created.text
        pty_id = str(created.json()["id"])
        try:
            yield pty_id
        finally:
            api.delete(f"/pty/{pty_id}")


def _attack(page: Page, gated: Gated, pty_id: str, marker: str) -> dict[str, str]:
    """Every attack of the attacker's page, in turn; what the page could observe of each."""
    workspace = gated.url
    results: dict[str, str] = {
        "no-cors session": page.evaluate("w => attacks.noCorsSession(w)", workspace),
        "no-cors command": page.evaluate("([w, m]) => attacks.noCorsCommand(w, m)", [workspace, f"{HOME}/{marker}"]),
        "credentialed read": page.evaluate("w => attacks.read(w)", workspace),
        "terminal socket": page.evaluate("([w, p]) => attacks.socket(w, p)", [workspace, pty_id]),
        "form in a frame": page.evaluate("w => attacks.frameForm(w)", workspace),
        "sandboxed frame": page.evaluate("w => attacks.sandboxedFrame(w)", workspace),
    }
    with page.expect_navigation() as navigation:
        page.evaluate("w => attacks.topLevelForm(w)", workspace)
    answer = navigation.value
    results["top-level form"] = f"HTTP {answer.status if answer else 'none'}"
    page.wait_for_timeout(1000)  # anything the server was going to do, it has done
    return results


def test_pages_of_other_origins_change_nothing(gated: Gated, logged_in: Tab) -> None:
    """The logged-in browser opens each attacker's page in turn, a new page each (each attacker's effects are judged
    on their own, before the next page opens)."""
    for attacker, host in ATTACKERS.items():
        _assert_changes_nothing(gated, logged_in.context, attacker, host)


def _assert_changes_nothing(gated: Gated, context: BrowserContext, attacker: str, host: str) -> None:
    marker = f"owned-{attacker}-{secrets.token_hex(4)}"
    with _victim_pty(gated) as pty_id:
        before = _state(gated)
        since = len(gated.route.log)
        page = context.new_page()
        try:
            page.goto(f"https://{host}/")
            results = _attack(page, gated, pty_id, marker)
            after = _state(gated)
        finally:
            page.close()
    seen = (attacker, results)
    assert after == before, seen  # no session, no PTY made
    assert not (gated.workspace.local.home / marker).exists(), seen  # no command ran
    assert "open" not in results["terminal socket"] and "message" not in results["terminal socket"], seen
    assert results["credentialed read"].startswith("failed"), seen
    assert results["top-level form"] == "HTTP 403", seen
    sent = _from(gated, {f"https://{host}", "null"}, since)
    paths = {(r.method, r.path) for r, _ in sent}
    # Every attack reached the gateway (the browser sent it) and the gateway answered it itself.
    assert {("POST", "/session"), ("POST", "/pty"), ("GET", f"/pty/{pty_id}/connect")} <= paths, (attacker, paths)
    assert any(r.header("origin") == "null" for r, _ in sent), f"{attacker}: the sandboxed frame's request never came"
    assert all(a.status == 403 and not a.forwarded for _, a in sent), [(r.path, a.status) for r, a in sent]


def test_without_the_refusing_rule_the_same_pages_take_over_the_workspace(gated: Gated, logged_in: Tab) -> None:
    """The control: the tree's route minus its refusing rule. The same-site page creates a session, runs a command
    and talks to the terminal; a top-level form of another site creates a session. So the attacks are real, and the
    test above would see them succeed."""
    as_built = list(gated.route.routes)
    gated.route.routes = [without_rules(route, has_filter("ExtensionRef")) for route in as_built]
    marker = f"owned-control-{secrets.token_hex(4)}"
    context = logged_in.context
    pages: list[Page] = []
    try:
        with _victim_pty(gated) as pty_id:
            sessions, _ = _state(gated)
            page = context.new_page()
            pages.append(page)
            page.goto(f"https://{ATTACKERS['same-site']}/")
            workspace = gated.url
            page.evaluate("w => attacks.noCorsSession(w)", workspace)
            page.evaluate("([w, m]) => attacks.noCorsCommand(w, m)", [workspace, f"{HOME}/{marker}"])
            socket = page.evaluate("([w, p]) => attacks.socket(w, p)", [workspace, pty_id])
            wait_for(page, (gated.workspace.local.home / marker).exists, "the command to run", 20)
            same_site, _ = _state(gated)
            other = context.new_page()
            pages.append(other)
            other.goto(f"https://{ATTACKERS['cross-site']}/")
            with other.expect_navigation():
                other.evaluate("w => attacks.topLevelForm(w)", workspace)
            cross_site, _ = _state(gated)
    finally:
        gated.route.routes = as_built
        for opened in pages:
            opened.close()
        (gated.workspace.local.home / marker).unlink(missing_ok=True)
    assert len(same_site - sessions) == 1  # the no-cors POST made a session
    assert "open" in socket and "message" in socket, socket  # the terminal answered the page
    assert len(cross_site - same_site) == 1  # the top-level form of another site made one too


def test_the_workspace_ui_works_through_the_gated_route(gated: Gated, logged_in: Tab) -> None:
    """The user's own pages send their Origin with every POST and WebSocket: a prompt and the terminal still work."""
    since = len(gated.route.log)
    tab = logged_in
    try:
        sockets, received = record_sockets(tab)
        asked = len(gated.workspace.model_requests)
        session_id = send_prompt(tab, "Say hello through the gateway")
        tab.page.get_by_text(model_standin.REPLY).first.wait_for()
        assert len(gated.workspace.model_requests) > asked
        with _api(gated) as api:
            assert api.get(f"/session/{session_id}").json()["directory"] == gated.tree.working_dir
        open_terminal(tab, sockets, received)
        tab.page.keyboard.type("git status\n")
        wait_for(tab.page, lambda: "working tree clean" in "".join(received), "git status to answer")
    finally:
        tab.page.close()  # an open terminal keeps the browser painting
    own = _from(gated, {gated.url}, since)
    assert any(r.method == "POST" and a.forwarded for r, a in own), "no POST of the UI went through the gate"
    terminal = [(r, a) for r, a in own if r.path.startswith("/pty/") and r.path.endswith("/connect")]
    assert terminal and all(a.forwarded for _, a in terminal), terminal
    assert not [(r.path, a.status) for r, a in gated.route.log[since:] if a.status == 403]  # nothing of its own refused
