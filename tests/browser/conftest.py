"""A real Chromium (Debian's package, driven by Playwright's Python API; no browser download) against a workspace
started with `ocw up`, as a user on a new device would meet it.

Every page gets a fresh browser context, which is a fresh profile: no cookies, no local storage, no cached
credentials. When a test fails, a screenshot of each of its pages is kept under the artefacts folder
(`$OCW_TEST_ARTIFACTS`, default `<repo>/test-artifacts`), named after the test.

`gated` puts the workspace behind the stand-in gateway serving the route the tree builds (support/gateway.py), at
`https://flux.opencode.example.test`. The folder's one Chromium resolves that host, and the attacker hosts beside it,
to this machine (`--host-resolver-rules`, port included: the page's Origin carries no port, as in the cluster); the
local workspace's own address it reaches as it is.

The browser and workspaces the folder shares are package-scoped: they stop after the folder's last test rather than
idling on until the worker has run everything else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from ocw.workspace import Workspace, find_workspace, load_workspaces
from support import model_standin
from support.cli import run_ocw, user_env
from support.gateway import Deployed, deployed, serve_gateway
from support.image import workspace_image  # noqa: F401 - the session fixture
from support.local_workspace import WORKSPACE
from support.pki import Pki, make_pki, serve_https
from support.ports import free_port
from up.helpers import REPO, Local

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
USERNAME = "opencode"


def chromium_executable() -> str:
    return os.environ.get("OCW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def artefacts_dir() -> Path:
    return Path(os.environ.get("OCW_TEST_ARTIFACTS") or REPO / "test-artifacts") / "browser"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@dataclass
class Tab:
    """A page in its own fresh profile, with what went wrong in it recorded."""

    context: BrowserContext
    page: Page
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def local_storage(self) -> dict[str, Any]:
        raw: dict[str, str] = self.page.evaluate(
            "Object.fromEntries(Object.keys(localStorage).map(k => [k, localStorage.getItem(k)]))"
        )
        parsed: dict[str, Any] = {}
        for key, value in raw.items():
            try:
                parsed[key] = json.loads(value)
            except ValueError:
                parsed[key] = value
        return parsed


NewTab = Callable[..., Tab]


@pytest.fixture
def new_tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[NewTab]:
    tabs: list[Tab] = []

    def make(password: str | None = None, username: str = USERNAME) -> Tab:
        credentials = {"username": username, "password": password} if password is not None else None
        context = browser.new_context(http_credentials=credentials, viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(60_000)
        tab = Tab(context, context.new_page())
        tab.page.on("pageerror", lambda error: tab.page_errors.append(str(error)))

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                tab.console_errors.append(message.text)

        tab.page.on("console", console)
        tabs.append(tab)
        return tab

    yield make
    failed = request.node.stash.get(_FAILED, False)
    for index, tab in enumerate(tabs):
        if failed and not tab.page.is_closed():
            folder = artefacts_dir()
            folder.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            tab.page.screenshot(path=str(folder / f"{name}-{index}.png"))
        tab.context.close()


@dataclass
class BrowserWorkspace:
    """A workspace run with `ocw up` whose default model is a local stand-in (no provider, no network)."""

    local: Local
    model_requests: list[dict[str, Any]]

    @property
    def directory(self) -> str:
        """Where OpenCode runs, by its own account: the manifest's path in a container, a translation of it for
        processes."""
        return str(self.local.json("/path")["directory"])

    def status(self) -> dict[str, Any]:
        result = run_ocw("ps", "--json", "--state-dir", str(self.local.state_dir), env=user_env())
        assert result.code == 0, result.stderr
        entries = [e for e in json.loads(result.stdout)["workspaces"] if e["workspace"] == WORKSPACE]
        assert entries and entries[0]["running"], entries
        return dict(entries[0])

    @property
    def project_url(self) -> str:
        return str(self.status()["project_url"])


def write_opencode_config(home: Path, config: dict[str, Any]) -> None:
    """The user's OpenCode config on the workspace volume (~/.config/opencode/opencode.json)."""
    path = home / ".config" / "opencode" / "opencode.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))


@contextmanager
def running(base: Path, engine: str) -> Iterator[BrowserWorkspace]:
    """`make up` as a user runs it (this repository as the source, a generated password), in its own state dir."""
    with model_standin.serve() as (model_url, model_requests):
        local = Local(base / "state", free_port(), str(REPO), None, engine=engine)
        write_opencode_config(local.home, model_standin.opencode_config(model_url))
        local.up_ok()
        try:
            yield BrowserWorkspace(local, model_requests)
        finally:
            run_ocw("down", "flux", "--state-dir", str(local.state_dir), "--timeout", "3", env=user_env())


@pytest.fixture(scope="package")
def workspace(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[BrowserWorkspace]:
    """In the workspace image (the container engine): what the pod runs. Skipped, saying why, only where no
    container engine can run."""
    request.getfixturevalue("workspace_image")  # built (or found) once per session
    with running(tmp_path_factory.mktemp("browser-container"), "container") as started:
        yield started


@pytest.fixture
def process_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserWorkspace]:
    """As processes on this machine, where the working directory is translated under the state dir. One test uses
    it, so it stops with that test instead of idling until the folder is done."""
    with running(tmp_path_factory.mktemp("browser-process"), "process") as started:
        yield started


DOMAIN = "example.test"
WORKSPACE_HOST = f"flux.opencode.{DOMAIN}"
# Pages that must not drive the workspace: another app of the user's domain, another workspace-like host of the
# same site, and a site of someone else.
ATTACKERS = {"same-site": f"app.{DOMAIN}", "sibling": f"other.opencode.{DOMAIN}", "cross-site": "attacker.invalid"}
ATTACKER_PAGE = Path(__file__).parent / "attacker" / "attacks.html"


@dataclass
class Gated:
    """The workspace (in its image) behind the gateway stand-in applying the tree's route, and a browser that reaches
    it and the attackers' pages by name."""

    workspace: BrowserWorkspace
    tree: Workspace  # the workspace as the tree builds it, for the cluster's domain
    route: Deployed  # what the gateway serves (tests may swap the route for another version of it)
    browser: Browser
    url: str = f"https://{WORKSPACE_HOST}"

    def context(self, **options: Any) -> BrowserContext:
        """A fresh profile; the throwaway CA is not in Chromium's store (`ocw verify` checks certificate chains)."""
        context = self.browser.new_context(ignore_https_errors=True, viewport=VIEWPORT, **options)  # type: ignore[arg-type]
        context.set_default_timeout(60_000)
        return context


@contextmanager
def _serve_attacker(pki: Pki) -> Iterator[int]:
    page = ATTACKER_PAGE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return None

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    with serve_https(Handler, pki.cert, pki.key) as port:
        yield port


@dataclass
class Site:
    """The cluster's names on this machine: the gateway stand-in serving the tree's route for the workspace, and the
    attackers' pages."""

    tree: Workspace  # the workspace as the tree builds it, for the cluster's domain
    route: Deployed
    resolver_rules: list[str]


@pytest.fixture(scope="package")
def site(workspace: BrowserWorkspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("gated")
    variables = folder / "cluster-vars.yaml"
    variables.write_text(f"SECRET_DOMAIN: {DOMAIN}\n")
    tree = find_workspace(load_workspaces(REPO, [variables]), WORKSPACE)
    assert tree.hostname == WORKSPACE_HOST
    pki = make_pki(folder / "pki", f"*.opencode.{DOMAIN}", *ATTACKERS.values())
    route = deployed(tree, workspace.local.port)
    with serve_gateway(pki, route) as gateway, _serve_attacker(pki) as attacker_port:
        rules = [f"MAP {WORKSPACE_HOST} 127.0.0.1:{gateway.port}"]
        rules += [f"MAP {host} 127.0.0.1:{attacker_port}" for host in ATTACKERS.values()]
        yield Site(tree, route, rules)


@pytest.fixture(scope="package")
def browser(playwright: Playwright, site: Site) -> Iterator[Browser]:
    """One Chromium for the folder. It resolves the cluster's names to the site's servers; addresses such as the
    local workspace's `http://127.0.0.1:<port>` it reaches as any browser does."""
    executable = chromium_executable()
    if not Path(executable).is_file():
        pytest.skip(f"no Chromium at {executable}: `make setup` installs Debian's chromium (TEST_SYSTEM_PACKAGES)")
    args = [*CHROMIUM_ARGS, "--host-resolver-rules=" + ", ".join(site.resolver_rules)]
    instance = playwright.chromium.launch(executable_path=executable, args=args)
    yield instance
    instance.close()


@pytest.fixture(scope="package")
def gated(workspace: BrowserWorkspace, site: Site, browser: Browser) -> Gated:
    return Gated(workspace, site.tree, site.route, browser)
