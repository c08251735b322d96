"""`make setup` and `make test-prerequisites` where apt-get is missing or fails: they say what is missing and what it
is for, and carry on (exit 0), so that a Mac or a machine without root can still set up and run what it can."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from support.prerequisites import require_command

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("system-packages", "test-prerequisites")


def makefile_list(variable: str) -> list[str]:
    """The packages a Makefile variable lists, `$(OTHER)` references expanded (read, not copied here: the lists
    grow)."""
    match = re.search(rf"^{variable} := (.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match, f"the Makefile defines {variable} on one line"
    packages: list[str] = []
    for word in match.group(1).split():
        reference = re.fullmatch(r"\$\((\w+)\)", word)
        packages.extend(makefile_list(reference.group(1)) if reference else [word])
    return packages


USER_PACKAGES = makefile_list("SYSTEM_PACKAGES")
TEST_PACKAGES = makefile_list("TEST_SYSTEM_PACKAGES")


def make(path_dir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    binary = require_command("make", package="make", purpose="the tests run the Makefile's own targets")
    return subprocess.run(
        [str(binary), "--no-print-directory", "-C", str(REPO), *targets],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(path_dir), "HOME": str(path_dir)},
        timeout=60,
    )


def command_dir(tmp_path: Path, scripts: dict[str, str]) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    for name, body in scripts.items():
        script = directory / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    return directory


def test_without_apt_get_it_names_what_is_missing_and_continues(tmp_path: Path) -> None:
    result = make(command_dir(tmp_path, {}), *TARGETS)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "git" in USER_PACKAGES
    assert lines[0].startswith(f"missing: {' '.join(USER_PACKAGES)} -- ocw up ")
    assert lines[2].startswith(f"missing: {' '.join(TEST_PACKAGES)} -- only the tests need them")
    assert "with CI=true they fail" in lines[2]
    assert f"apt-get install {' '.join(TEST_PACKAGES)}); continuing." in lines[3]


def test_nothing_is_said_when_every_command_is_there(tmp_path: Path) -> None:
    present = command_dir(tmp_path, dict.fromkeys([*USER_PACKAGES, *TEST_PACKAGES], "exit 0"))
    result = make(present, *TARGETS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_failing_apt_get_is_reported_and_setup_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "apt-get.log"
    # A stand-in for the system's package manager, running as root, whose install fails (say, no network).
    fake = command_dir(
        tmp_path,
        {
            "id": "echo 0",
            "apt-get": f'echo "$*" >> {log}\ncase "$1" in update) exit 0;; *) exit 100;; esac',
            **dict.fromkeys(USER_PACKAGES, "exit 0"),
        },
    )
    result = make(fake, *TARGETS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text().splitlines() == [
        "update -qq",
        f"install -y -qq --no-install-recommends {' '.join(TEST_PACKAGES)}",
    ]
    assert f"installing Debian packages: {' '.join(TEST_PACKAGES)} (only the tests need them" in result.stdout
    assert f"warning: apt-get could not install {' '.join(TEST_PACKAGES)}" in result.stdout
    assert "continuing." in result.stdout
