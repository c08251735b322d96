"""`ocw up` keeps its state in the user's state directory, keyed by repository, never in the repository: the
printed `stop with` hint, `ocw ps` and `ocw down` work as printed from any folder, `ocw down --all` stops everything,
and `ocw ps --json` into a closed pipe ends quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from check.tree_copy import copy_tree
from up.helpers import free_port, make_source_repo

pytestmark = pytest.mark.timeout(300)


def run_ocw(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """ocw as a user runs it: in some folder, with their HOME and no XDG variables (the defaults apply)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_", "XDG_"))} | {"HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "ocw", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def files_in(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


def test_state_lives_in_the_user_state_dir_and_down_and_ps_work_from_any_folder(tmp_path: Path) -> None:
    home, elsewhere, other = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "other"
    for folder in (home, elsewhere, other):
        folder.mkdir()
    repo = copy_tree(tmp_path / "repo").root
    before = files_in(repo)
    source = str(make_source_repo(tmp_path / "source"))
    up_args = ["up", "flux", "-d", "--engine", "process", "--repo", str(repo), "--source", source]

    started = run_ocw(home, elsewhere, *up_args, "--port", str(free_port()))
    assert started.returncode == 0, started.stdout + started.stderr
    assert "  stop with: ocw down flux\n" in started.stdout, started.stdout
    assert files_in(repo) == before  # nothing written into the repository
    [state_dir] = (home / ".local" / "state" / "ocw" / "workspaces").iterdir()
    assert state_dir.name.startswith("repo-") and (state_dir / "opencode-flux" / "password").is_file()

    listed = run_ocw(home, other, "ps", "--json")
    [entry] = json.loads(listed.stdout)["workspaces"]
    assert entry["running"] and entry["repository"] == str(repo.resolve()), entry

    stopped = run_ocw(home, other, "down", "flux")  # the hint, as printed, from another folder
    assert stopped.returncode == 0 and "opencode-flux stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    [entry] = json.loads(run_ocw(home, other, "ps", "--json").stdout)["workspaces"]
    assert not entry["running"]

    restarted = run_ocw(home, elsewhere, *up_args, "--port", str(free_port()), "--timings")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    steps = json.loads((state_dir / "opencode-flux" / "logs" / "timings.json").read_text())["steps"]
    assert "run the init step" in steps and "wait for OpenCode's first answer" in steps, steps
    assert steps["ocw check of the workspace"] < steps["wait for OpenCode's first answer"]  # the cached verdict
    assert "where the start went:" in restarted.stdout and "ocw up: run the init step" in restarted.stderr
    everything = run_ocw(home, other, "down", "--all")
    assert everything.returncode == 0 and "opencode-flux stopped" in everything.stdout, everything.stdout
    assert not json.loads(run_ocw(home, other, "ps", "--json").stdout)["workspaces"][0]["running"]


def test_ps_json_into_a_closed_pipe_ends_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")} | {"HOME": str(tmp_path)}
    for number in range(40):  # more output than a pipe's buffer holds, so the write meets the closed pipe
        (
            tmp_path / ".local" / "state" / "ocw" / "workspaces" / f"repo-{number:08x}" / "opencode-flux" / "volumes"
        ).mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "ocw", "ps", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head` does once it has read enough
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, errors
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
