"""Which OpenCode `ocw up` runs: the pinned npm one, else `opencode` on PATH, whose version is compared with the pin
(a warning on mismatch: it mostly works, but is not what the image runs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ocw import toolchain
from ocw.errors import OcwError
from support.prerequisites import require_path

REPO = Path(__file__).resolve().parents[2]
PIN = json.loads((REPO / "tools" / "package.json").read_text())["dependencies"]["opencode-ai"]


def on_path(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


def test_the_packaged_pin_is_the_one_in_tools_package_json() -> None:
    # An ocw installed as a tool has no tools/ beside it: it reads the copy shipped in the package.
    assert json.loads(toolchain.PACKAGED_PINS.read_text()) == {"opencode-ai": PIN}


def test_without_tools_the_pin_comes_from_the_package(no_pinned_tools: Path) -> None:
    assert toolchain.pinned_opencode_version() == PIN


def test_the_real_opencode_on_path_at_the_pinned_version_runs_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_pinned_tools: Path
) -> None:
    real = require_path(REPO / "tools" / "node_modules" / ".bin" / "opencode", what="the pinned OpenCode")
    directory = tmp_path / "path"
    directory.mkdir()
    (directory / "opencode").symlink_to(real.resolve())
    on_path(monkeypatch, directory)
    assert toolchain.opencode() == directory / "opencode"
    assert capsys.readouterr().err == ""


def test_another_opencode_version_on_path_is_used_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_pinned_tools: Path
) -> None:
    directory = tmp_path / "path"
    directory.mkdir()
    # Stands in for an older OpenCode: it only answers --version.
    (directory / "opencode").write_text("#!/bin/sh\necho 1.2.3\n")
    (directory / "opencode").chmod(0o755)
    on_path(monkeypatch, directory)
    assert toolchain.opencode() == directory / "opencode"
    warning = capsys.readouterr().err
    assert f"{directory / 'opencode'} is OpenCode 1.2.3, but the workspace image and ocw's tests pin {PIN}" in warning
    assert f"opencode-ai@{PIN}" in warning


def test_an_npm_installed_opencode_is_known_by_its_package_without_running_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_pinned_tools: Path
) -> None:
    # As `npm install -g opencode-ai` lays it out: bin/opencode -> ../lib/node_modules/opencode-ai/bin/opencode.
    package = tmp_path / "lib" / "node_modules" / "opencode-ai"
    mark = tmp_path / "ran"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "opencode-ai", "version": "1.2.3"}))
    (package / "bin" / "opencode").write_text(f"#!/bin/sh\ntouch {mark}\necho 9.9.9\n")
    (package / "bin" / "opencode").chmod(0o755)
    directory = tmp_path / "bin"
    directory.mkdir()
    (directory / "opencode").symlink_to(package / "bin" / "opencode")
    on_path(monkeypatch, directory)
    assert toolchain.opencode() == directory / "opencode"
    assert f"{directory / 'opencode'} is OpenCode 1.2.3, but" in capsys.readouterr().err
    assert not mark.exists(), "the version came from the package, not from starting OpenCode"


def test_no_opencode_anywhere_says_how_to_install_the_pinned_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_pinned_tools: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OcwError) as raised:
        toolchain.opencode()
    assert "opencode was expected at" in str(raised.value)
    assert f"npm install -g opencode-ai@{PIN}" in str(raised.value)
