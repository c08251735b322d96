"""`ocw up` keeps its state in the user's state directory, keyed by repository, never in the repository: the
printed `stop with` hint, `ocw ps` and `ocw down` work as printed from any folder, `ocw down --all` stops everything,
and `ocw ps --json` into a closed pipe ends quietly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from check.tree_copy import copy_tree
from support.cli import CliResult, run_ocw, start_ocw, user_env
from support.ports import free_port
from up.helpers import make_source_repo

pytestmark = pytest.mark.timeout(300)


def ocw_at_home(home: Path, cwd: Path, *args: str) -> CliResult:
    """ocw as a user runs it: in some folder, with their HOME and no XDG variables (the defaults apply)."""
    return run_ocw(*args, cwd=cwd, env=user_env({"HOME": str(home)}), timeout=240)


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

    started = ocw_at_home(home, elsewhere, *up_args, "--port", str(free_port()))
    assert started.code == 0, started.stdout + started.stderr
    assert "  stop with: ocw down flux\n" in started.stdout, started.stdout
    assert files_in(repo) == before  # nothing written into the repository
    [state_dir] = (home / ".local" / "state" / "ocw" / "workspaces").iterdir()
    assert state_dir.name.startswith("repo-") and (state_dir / "opencode-flux" / "password").is_file()

    listed = ocw_at_home(home, other, "ps", "--json")
    [entry] = json.loads(listed.stdout)["workspaces"]
    assert entry["running"] and entry["repository"] == str(repo.resolve()), entry

    stopped = ocw_at_home(home, other, "down", "flux")  # the hint, as printed, from another folder
    assert stopped.code == 0 and "opencode-flux stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    [entry] = json.loads(ocw_at_home(home, other, "ps", "--json").stdout)["workspaces"]
    assert not entry["running"]

    restarted = ocw_at_home(home, elsewhere, *up_args, "--port", str(free_port()), "--timings")
    assert restarted.code == 0, restarted.stdout + restarted.stderr
    steps = json.loads((state_dir / "opencode-flux" / "logs" / "timings.json").read_text())["steps"]
    assert "run the init step" in steps and "wait for OpenCode's first answer" in steps, steps
    assert steps["ocw check of the workspace"] < steps["wait for OpenCode's first answer"]  # the cached verdict
    assert "where the start went:" in restarted.stdout and "ocw up: run the init step" in restarted.stderr
    everything = ocw_at_home(home, other, "down", "--all")
    assert everything.code == 0 and "opencode-flux stopped" in everything.stdout, everything.stdout
    assert not json.loads(ocw_at_home(home, other, "ps", "--json").stdout)["workspaces"][0]["running"]


def test_ps_json_into_a_closed_pipe_ends_without_a_traceback(tmp_path: Path) -> None:
    env = user_env({"HOME": str(tmp_path)}, without=["XDG_"])
    for number in range(40):  # more output than a pipe's buffer holds, so the write meets the closed pipe
        (
            tmp_path / ".local" / "state" / "ocw" / "workspaces" / f"repo-{number:08x}" / "opencode-flux" / "volumes"
        ).mkdir(parents=True)
    process = start_ocw("ps", "--json", env=env, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head` does once it has read enough
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 0, errors
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
