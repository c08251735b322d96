"""The policy for a test whose tool is missing: fail in CI, skip elsewhere with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
NEEDS_A_MISSING_TOOL = """
from support.prerequisites import require_command

def test_uses_the_tool():
    require_command("ocw-no-such-command", package="ocw-no-such-package", purpose="the example needs it")
"""


def run_example(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_example.py").write_text(NEEDS_A_MISSING_TOOL)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(TESTS)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "--basetemp",  # its own: pytest would otherwise spend its exit deleting earlier runs' temporary folders
            str(tmp_path / "base"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_tool_fails_the_test(tmp_path: Path, ci: str) -> None:
    result = run_example(tmp_path, ci)
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout
    assert "ocw-no-such-command is not on PATH; the example needs it; CI must provide it" in result.stdout
    assert "Debian package ocw-no-such-package" in result.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_elsewhere_a_missing_tool_skips_with_the_reason(tmp_path: Path, ci: str | None) -> None:
    result = run_example(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "SKIPPED" in result.stdout and "ocw-no-such-command is not on PATH" in result.stdout
    assert "make test-prerequisites" in result.stdout
