"""A local stand-in for the two GitHub REST endpoints `ocw verify` SEC.2 reads, following GitHub's documented API:

- `GET /repos/{owner}/{repo}`: the repository, with `default_branch` and the token user's `permissions`; a classic
  token's scopes in the `X-OAuth-Scopes` header (fine-grained tokens send none); 404 for a repository the token
  cannot see, 401 for a bad token.
- `GET /repos/{owner}/{repo}/rules/branches/{branch}`: the active ruleset rules on that branch, each
  `{"type": ..., "ruleset_source_type": "Repository", "ruleset_source": ..., "ruleset_id": ...}`.

Only GET exists here: anything else answers 405, and every request is recorded so a test can show nothing but reads
were sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote


@dataclass
class Repository:
    token: str
    default_branch: str = "main"
    rules: list[str] = field(default_factory=lambda: ["pull_request", "non_fast_forward", "deletion"])
    scopes: str | None = None  # a classic token's X-OAuth-Scopes; None for a fine-grained token
    permissions: dict[str, bool] = field(
        default_factory=lambda: {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
    )


class GitHubApi:
    def __init__(self) -> None:
        self.repositories: dict[str, Repository] = {}
        self.requests: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api.requests.append(("GET", self.path))
                status, body, headers = api.answer(self.path, self.headers.get("Authorization", ""))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _refuse(self) -> None:
                api.requests.append((self.command, self.path))
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, authorization: str) -> tuple[int, Any, dict[str, str]]:
        parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/")]
        if len(parts) < 3 or parts[0] != "repos":
            return 404, {"message": "Not Found"}, {}
        slug = f"{parts[1]}/{parts[2]}"
        repository = self.repositories.get(slug)
        if repository is None:
            return 404, {"message": "Not Found"}, {}
        if authorization != f"Bearer {repository.token}":
            return 401, {"message": "Bad credentials"}, {}
        headers = {"X-OAuth-Scopes": repository.scopes} if repository.scopes is not None else {}
        if len(parts) == 3:
            body = {"full_name": slug, "default_branch": repository.default_branch, "private": True}
            return 200, {**body, "permissions": repository.permissions}, headers
        if len(parts) >= 6 and parts[3:5] == ["rules", "branches"]:
            branch = "/".join(parts[5:])
            rules = repository.rules if branch == repository.default_branch else []
            listed = [
                {"type": rule, "ruleset_source_type": "Repository", "ruleset_source": slug, "ruleset_id": 1}
                | ({"parameters": {"required_approving_review_count": 1}} if rule == "pull_request" else {})
                for rule in rules
            ]
            return 200, listed, headers
        return 404, {"message": "Not Found"}, {}

    def __enter__(self) -> GitHubApi:
        self.thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
