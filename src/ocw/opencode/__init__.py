"""Talking to a running OpenCode server (1.18.x) over its HTTP API."""
