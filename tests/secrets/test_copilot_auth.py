"""Reading OpenCode's auth.json: only the Copilot entry survives, in one canonical form; bad files say why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_auth_file

from ocw.errors import OcwError
from ocw.secrets.copilot import default_auth_file, parse_auth_document, read_auth_file
from support.tokens import random_text


def test_only_the_copilot_entry_is_kept_in_a_stable_form(tmp_path: Path) -> None:
    token = random_text("gho_")
    login = write_auth_file(tmp_path / "auth.json", token, enterpriseUrl="github.example.org")
    auth = read_auth_file(login.path)

    stored = json.loads(auth.document())
    assert stored == {"github-copilot": login.entry}
    assert stored["github-copilot"]["enterpriseUrl"] == "github.example.org"
    # The same login laid out differently (key order, indentation) gives the same bytes.
    reordered = json.dumps({"github-copilot": dict(reversed(list(login.entry.items())))}, indent=1)
    assert parse_auth_document(reordered, "other").document() == auth.document()
    assert "\n" not in auth.document()


def test_default_location_follows_xdg_data_home(tmp_path: Path) -> None:
    assert default_auth_file({"HOME": str(tmp_path)}) == tmp_path / ".local/share/opencode/auth.json"
    xdg = tmp_path / "data"
    assert default_auth_file({"HOME": "/nowhere", "XDG_DATA_HOME": str(xdg)}) == xdg / "opencode/auth.json"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "is not JSON (parse error at line 1"),
        (b"[]", "should hold a JSON object keyed by provider, found an array"),
        (b'{"anthropic": {"type": "oauth"}}', "has no 'github-copilot' entry (providers present: anthropic)"),
        (b'{"github-copilot": "gho_x"}', "'github-copilot' should be an object, found a string"),
        (b'{"github-copilot": {"type": "api", "refresh": "r"}}', "github-copilot.type should be 'oauth', found 'api'"),
        (b'{"github-copilot": {"type": "oauth", "refresh": ""}}', "refresh should be a non-empty token string"),
        (b'{"github-copilot": {"type": "oauth", "refresh": 5}}', "refresh should be a non-empty token string"),
        (b'{"github-copilot": {"type": "oauth", "refresh": "r", "expires": "soon"}}', "expires should be a number"),
        (b"\xff\xfe not utf-8", "auth.json: not UTF-8 text (byte 0xff on line 1)"),
    ],
)
def test_bad_auth_files_are_named_and_explained(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(content)
    with pytest.raises(OcwError) as caught:
        read_auth_file(path)
    assert expected in str(caught.value)
    assert caught.value.hint


def test_missing_file_points_at_opencode_login(tmp_path: Path) -> None:
    with pytest.raises(OcwError) as caught:
        read_auth_file(tmp_path / "absent.json")
    assert "does not exist" in caught.value.message
    assert "opencode auth login" in str(caught.value.hint)


def test_a_token_never_appears_in_a_validation_error(tmp_path: Path) -> None:
    token = random_text("gho_")
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"github-copilot": {"type": token, "refresh": token}}))
    with pytest.raises(OcwError) as caught:
        read_auth_file(path)
    assert "type should be 'oauth', found a string" in str(caught.value)
    assert token not in str(caught.value)
