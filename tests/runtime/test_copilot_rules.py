"""The init step checks a Copilot login with the rules of ocw's own check (src/ocw/secrets/copilot.py): the jq
program the step runs (the component's scripts/copilot-login.jq) accepts and refuses exactly what Python does."""

from __future__ import annotations

import subprocess

import pytest

from ocw.errors import OcwError
from ocw.secrets.copilot import parse_auth_document
from runtime.workspace_pod import SCRIPTS_DIR
from support.prerequisites import require_command

ENTRY = '"type": "oauth", "refresh": "gho_r", "access": "gho_a", "expires": 0'
DOCUMENTS = {
    "valid": f'{{"github-copilot": {{{ENTRY}}}}}',
    "valid, other providers too": f'{{"anthropic": {{"type": "api"}}, "github-copilot": {{{ENTRY}}}}}',
    "valid, enterprise": f'{{"github-copilot": {{{ENTRY}, "enterpriseUrl": "github.example.com"}}}}',
    "valid, enterpriseUrl null": f'{{"github-copilot": {{{ENTRY}, "enterpriseUrl": null}}}}',
    "valid, only type and refresh": '{"github-copilot": {"type": "oauth", "refresh": "gho_r"}}',
    "not JSON": '{"github-copilot": ',
    "two documents": '{"github-copilot": {"type": "oauth", "refresh": "r"}} {}',
    "an array": "[]",
    "a string": '"gho_r"',
    "no entry": '{"anthropic": {"type": "api"}}',
    "entry not an object": '{"github-copilot": "gho_r"}',
    "type api": '{"github-copilot": {"type": "api", "refresh": "gho_r"}}',
    "no type": '{"github-copilot": {"refresh": "gho_r"}}',
    "no refresh": '{"github-copilot": {"type": "oauth"}}',
    "empty refresh": '{"github-copilot": {"type": "oauth", "refresh": ""}}',
    "blank refresh": '{"github-copilot": {"type": "oauth", "refresh": " \\t "}}',
    "refresh a number": '{"github-copilot": {"type": "oauth", "refresh": 7}}',
    "access a number": '{"github-copilot": {"type": "oauth", "refresh": "r", "access": 1}}',
    "access null": '{"github-copilot": {"type": "oauth", "refresh": "r", "access": null}}',
    "expires a string": '{"github-copilot": {"type": "oauth", "refresh": "r", "expires": "0"}}',
    "expires a boolean": '{"github-copilot": {"type": "oauth", "refresh": "r", "expires": false}}',
    "expires null": '{"github-copilot": {"type": "oauth", "refresh": "r", "expires": null}}',
    "enterpriseUrl empty": '{"github-copilot": {"type": "oauth", "refresh": "r", "enterpriseUrl": ""}}',
    "enterpriseUrl blank": '{"github-copilot": {"type": "oauth", "refresh": "r", "enterpriseUrl": "  "}}',
    "enterpriseUrl a number": '{"github-copilot": {"type": "oauth", "refresh": "r", "enterpriseUrl": 1}}',
}


def _python_accepts(document: str) -> bool:
    try:
        parse_auth_document(document, "the document")
    except OcwError:
        return False
    return True


def _step_problem(document: str) -> str:
    """What the step says of the document: its jq program run as the step runs it (empty: accepted)."""
    jq = require_command("jq", package="jq", purpose="the init step checks the Copilot login with it")
    result = subprocess.run(
        [jq, "-r", "-s", "-f", str(SCRIPTS_DIR / "copilot-login.jq")],
        input=document,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else "is not valid JSON"


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_the_step_and_ocw_accept_the_same_logins(name: str) -> None:
    document = DOCUMENTS[name]
    problem = _step_problem(document)
    assert (problem == "") == _python_accepts(document), f"{name}: the step says {problem!r}"
    assert name.startswith("valid") == (problem == ""), problem
    assert "gho_r" not in problem  # a reason names no value
