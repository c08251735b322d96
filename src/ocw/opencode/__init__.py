"""Talking to a running OpenCode server (1.18.x) over its HTTP API."""

DEFAULT_USERNAME = "opencode"  # of HTTP Basic, unless OPENCODE_SERVER_USERNAME says otherwise
