"""Where OpenCode's web UI opens a project: `/<base64url(directory), unpadded>/session`.

The UI keeps its list of open projects in the browser's own storage, so a new device starts on an empty home page.
A link of this shape opens the project's new-session view in any browser. `/<segment>` alone is enough for the UI's
classic layout (it forwards to `session`); the current layout only recognises the `session` form, so the landing
redirect and `ocw up` use that one.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

PROJECT_VIEW = "session"


def project_path(directory: str) -> str:
    """The URL path segment naming `directory` (base64url, no padding): the Flux variable WORKSPACE_PROJECT_PATH."""
    if not directory.startswith("/"):
        raise ValueError(f"expected an absolute directory, found {directory!r}")
    return base64.urlsafe_b64encode(directory.encode()).decode().rstrip("=")


def landing_path(directory: str) -> str:
    """The path `/` redirects to: the project's new-session view."""
    return f"/{project_path(directory)}/{PROJECT_VIEW}"


def project_url(base_url: str, directory: str) -> str:
    """The full URL that opens `directory` in the UI served at `base_url`."""
    return base_url.rstrip("/") + landing_path(directory)


def directory_of(path_or_url: str) -> str | None:
    """The directory a project link opens, or None when it is not a project link."""
    parts = [p for p in urlsplit(path_or_url).path.split("/") if p]
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] != PROJECT_VIEW):
        return None
    segment = parts[0]
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if decoded.startswith("/") and project_path(decoded) == segment else None
