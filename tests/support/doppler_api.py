"""A local stand-in for Doppler's REST API (v3), for tests that drive the real Doppler CLI or ocw's REST client.

It answers the documented endpoints with the documented response shapes:
  GET  /v3/me                                   the token's identity
  GET  /v3/projects/project?project=            one project
  GET  /v3/configs/config?project=&config=      one config
  GET  /v3/configs/config/secrets               every secret (raw/computed/note/visibility); `secrets=A,B` filters
  GET  /v3/configs/config/secrets/names         secret names only
  GET  /v3/configs/config/secrets/download      `format=json`: a flat name -> value object
  GET  /v3/configs/config/secret?name=          one secret
  POST /v3/configs/config/secrets               `{"project","config","secrets":{...}}` or `{"change_requests":[...]}`
  GET  /v3/configs/config/logs                  the config's change log, newest first
Authentication is `Authorization: Bearer <token>`; errors are `{"messages": [...], "success": false}` with a JSON
content type, as Doppler sends them. Every request is recorded, and failures (a status code, or a delay longer than
the client's timeout) can be injected per method and path.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    authorization: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class InjectedFailure:
    method: str
    path: str
    status: int
    messages: list[str]
    delay: float
    remaining: int
    passes: int


@dataclass
class ConfigState:
    secrets: dict[str, str] = field(default_factory=dict)
    logs: list[JsonObject] = field(default_factory=list)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _secret_entry(value: str) -> JsonObject:
    return {
        "raw": value,
        "computed": value,
        "note": "",
        "rawVisibility": "masked",
        "computedVisibility": "masked",
        "rawValueType": {"type": "string"},
        "computedValueType": {"type": "string"},
    }


class DopplerApi:
    """The server's state: projects -> configs -> secrets, accepted tokens, the request log, pending failures."""

    def __init__(self, tokens: set[str]) -> None:
        self.tokens = set(tokens)
        self.projects: dict[str, dict[str, ConfigState]] = {}
        self.requests: list[RecordedRequest] = []
        self._failures: list[InjectedFailure] = []
        self._lock = threading.Lock()

    # --- test-facing controls
    def add_config(self, project: str, config: str, secrets: Mapping[str, str] | None = None) -> None:
        with self._lock:
            state = self.projects.setdefault(project, {}).setdefault(config, ConfigState())
            state.secrets.update(secrets or {})

    def secrets(self, project: str, config: str) -> dict[str, str]:
        with self._lock:
            return dict(self.projects[project][config].secrets)

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        messages: list[str] | None = None,
        delay: float = 0.0,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Let `after` requests to `method path` through, then make the next `times` wait `delay` seconds and
        answer `status`."""
        with self._lock:
            self._failures.append(
                InjectedFailure(method, path, status, messages or [f"Injected failure {status}"], delay, times, after)
            )

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    # --- request handling
    def take_failure(self, method: str, path: str) -> InjectedFailure | None:
        with self._lock:
            for failure in self._failures:
                if failure.method != method or failure.path != path or failure.remaining <= 0:
                    continue
                if failure.passes > 0:
                    failure.passes -= 1
                    return None
                failure.remaining -= 1
                return failure
        return None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def handle(self, method: str, path: str, query: dict[str, str], authorization: str, body: bytes) -> JsonObject:
        token = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        if token not in self.tokens:
            raise ApiError(HTTPStatus.UNAUTHORIZED, "Invalid Auth token")
        payload: JsonObject = {}
        if body:
            try:
                payload = json.loads(body)
            except ValueError as exc:
                raise ApiError(HTTPStatus.BAD_REQUEST, "Invalid JSON body") from exc
        with self._lock:
            return self._route(method, path, query, payload)

    def _route(self, method: str, path: str, query: dict[str, str], payload: JsonObject) -> JsonObject:
        routes = {
            ("GET", "/v3/me"): self._me,
            ("GET", "/v3/projects/project"): self._project,
            ("GET", "/v3/configs/config"): self._config,
            ("GET", "/v3/configs/config/secrets"): self._list_secrets,
            ("GET", "/v3/configs/config/secrets/names"): self._names,
            ("GET", "/v3/configs/config/secrets/download"): self._download,
            ("GET", "/v3/configs/config/secret"): self._one_secret,
            ("POST", "/v3/configs/config/secrets"): self._update_secrets,
            ("GET", "/v3/configs/config/logs"): self._logs,
        }
        route = routes.get((method, path))
        if route is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"Unknown endpoint {method} {path}")
        params = {**query, **{k: v for k, v in payload.items() if isinstance(v, str)}}
        return route(params, payload)

    def _config_state(self, params: Mapping[str, str]) -> ConfigState:
        project, config = params.get("project", ""), params.get("config", "")
        if project not in self.projects:
            raise ApiError(HTTPStatus.NOT_FOUND, "Could not find requested project")
        if config not in self.projects[project]:
            raise ApiError(HTTPStatus.NOT_FOUND, "Could not find requested config")
        return self.projects[project][config]

    def _me(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        return {
            "workplace": {"name": "Home lab", "slug": "home-lab"},
            "type": "cli",
            "token_preview": "dp.ct.…",
            "slug": "local-test-token",
            "created_at": "2025-01-01T00:00:00.000Z",
            "name": "local test token",
            "last_seen_at": _now(),
        }

    def _project(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        name = params.get("project", "")
        if name not in self.projects:
            raise ApiError(HTTPStatus.NOT_FOUND, "Could not find requested project")
        info = {"id": name, "slug": name, "name": name, "description": "", "created_at": "2025-01-01T00:00:00.000Z"}
        return {"project": info, "success": True}

    def _config(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        self._config_state(params)
        info = {
            "name": params["config"],
            "root": True,
            "locked": False,
            "initial_fetch_at": None,
            "last_fetch_at": None,
            "created_at": "2025-01-01T00:00:00.000Z",
            "environment": params["config"],
            "project": params["project"],
            "slug": params["config"],
        }
        return {"config": info, "success": True}

    def _list_secrets(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        state = self._config_state(params)
        wanted = set(params["secrets"].split(",")) if params.get("secrets") else None
        chosen = {k: _secret_entry(v) for k, v in state.secrets.items() if wanted is None or k in wanted}
        return {"secrets": chosen, "success": True}

    def _names(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        return {"names": sorted(self._config_state(params).secrets), "success": True}

    def _download(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        if params.get("format", "json") != "json":
            raise ApiError(HTTPStatus.BAD_REQUEST, "Only format=json is served here")
        return dict(self._config_state(params).secrets)

    def _one_secret(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        state = self._config_state(params)
        name = params.get("name", "")
        if name not in state.secrets:
            raise ApiError(HTTPStatus.NOT_FOUND, "Could not find requested secret")
        return {"name": name, "value": _secret_entry(state.secrets[name]), "success": True}

    def _update_secrets(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        state = self._config_state(params)
        changes = self._changes(payload)
        if not changes:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Either secrets or change_requests is required")
        state.secrets.update(changes)
        state.logs.insert(
            0,
            {
                "id": f"log-{len(state.logs) + 1}",
                "text": f"Updated {len(changes)} secret(s)",
                "html": "",
                "diff": [{"name": name} for name in sorted(changes)],
                "rollback": False,
                "created_at": _now(),
                "config": params["config"],
                "environment": params["config"],
                "project": params["project"],
                "user": {"email": "me@example.org", "name": "Me", "username": "me", "profile_image_url": ""},
            },
        )
        return {"secrets": {k: _secret_entry(v) for k, v in state.secrets.items()}, "success": True}

    @staticmethod
    def _changes(payload: JsonObject) -> dict[str, str]:
        if "secrets" in payload and "change_requests" in payload:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Send either secrets or change_requests, not both")
        if isinstance(payload.get("secrets"), dict):
            secrets = payload["secrets"]
            if not all(isinstance(v, str) for v in secrets.values()):
                raise ApiError(HTTPStatus.BAD_REQUEST, "Secret values must be strings")
            return dict(secrets)
        changes: dict[str, str] = {}
        for request in payload.get("change_requests") or []:
            if not isinstance(request, dict) or not isinstance(request.get("name"), str):
                raise ApiError(HTTPStatus.BAD_REQUEST, "Each change request needs a name")
            if isinstance(request.get("value"), str):
                changes[request["name"]] = request["value"]
        return changes

    def _logs(self, params: Mapping[str, str], payload: JsonObject) -> JsonObject:
        state = self._config_state(params)
        page, per_page = int(params.get("page", "1")), int(params.get("per_page", "20"))
        start = (page - 1) * per_page
        return {"logs": state.logs[start : start + per_page], "page": page, "success": True}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded on the API object; nothing goes to stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        api = self.server.api
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        authorization = self.headers.get("Authorization", "")
        api.record(RecordedRequest(self.command, split.path, query, authorization, body))
        failure = api.take_failure(self.command, split.path)
        if failure is not None:
            time.sleep(failure.delay)
            self._reply(failure.status, {"messages": failure.messages, "success": False})
            return
        try:
            self._reply(HTTPStatus.OK, api.handle(self.command, split.path, query, authorization, body))
        except ApiError as exc:
            self._reply(exc.status, {"messages": [exc.message], "success": False})

    def _reply(self, status: int, document: JsonObject) -> None:
        data = json.dumps(document).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing left to tell it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: DopplerApi


@contextmanager
def serve_doppler_api(tokens: set[str]) -> Iterator[tuple[DopplerApi, str]]:
    """Run the API on a free loopback port; yields the state object and the base URL (no trailing slash)."""
    api = DopplerApi(tokens)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.api = api
    thread = threading.Thread(target=server.serve_forever, name="doppler-api", daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
