"""The habits every ocw command shares, as a shell user meets them: completion scripts the three shells load, errors
as a document under -o json|yaml, no traceback when the reader of the output has gone, and colour and ✓/✗ only on a
terminal that wants them."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.cli import CliResult, run_ocw, start_ocw
from support.prerequisites import require_command

REPO = Path(__file__).resolve().parents[2]


def ocw(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> CliResult:
    return run_ocw(*args, cwd=cwd, env=env)


# What a command's work needs and its parser does not: schema validation, YAML, HTTP clients, the check pipeline.
WORK_MODULES = ("jsonschema", "referencing", "kubernetes_validate", "yaml", "httpx", "ocw.check.run", "ocw.flux.build")


def test_the_parsers_load_none_of_the_commands_work() -> None:
    # Every ocw run builds its command's parser, `ocw --help` and completion all of them: `ocw ps` or a `--help` must
    # not wait for modules only another command's work uses.
    code = "import sys; from ocw.cli import build_parser; build_parser(); print(*sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert [m for m in loaded if m.startswith(WORK_MODULES)] == []
    assert "ocw.up.supervisor" not in loaded and "ocw.secrets.store" not in loaded


def test_bash_completion_offers_commands_subcommands_and_options(tmp_path: Path) -> None:
    script = tmp_path / "ocw.bash"
    script.write_text(ocw("completion", "bash").stdout)

    def complete(*words: str) -> set[str]:
        line = " ".join(words)
        probe = f'source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _ocw; echo "${{COMPREPLY[@]}}"'
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
        return set(done.stdout.split())

    assert {"secrets", "schemas"} <= complete("ocw", "s")
    assert complete("ocw", "secrets", "s") == {"seed-copilot", "status", "set"}
    assert {"--repo", "--repository"} <= complete("ocw", "install", "--rep")
    assert complete("ocw", "check", "-o", "") == {"text", "json", "yaml"}


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_load_their_completion(shell: str, tmp_path: Path) -> None:
    script = tmp_path / f"ocw.{shell}"
    script.write_text(ocw("completion", shell).stdout)
    loads = {
        "zsh": f"autoload -Uz compinit && compinit -u -d {tmp_path}/zcompdump && source {script} && echo loaded",
        "fish": f"source {script}; and complete -c ocw | string match -q '*secrets*'; and echo loaded",
    }[shell]
    program = require_command(shell, package=shell, purpose="loads the script of `ocw completion`")
    done = subprocess.run(
        [str(program), "-c", loads],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.stdout.strip() == "loaded", done.stderr


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_an_error_under_o_is_a_document_on_stdout_and_one_line_on_stderr(fmt: str, tmp_path: Path) -> None:
    result = ocw("secrets", "status", "--repo", str(tmp_path / "nowhere"), "-o", fmt, cwd=tmp_path)

    assert result.code == 2
    document = json.loads(result.stdout) if fmt == "json" else yaml.safe_load(result.stdout)
    assert document["error"]["command"] == "secrets"
    assert document["error"]["exit_code"] == 2
    assert str(tmp_path / "nowhere") in document["error"]["message"]
    assert [line for line in result.stderr.splitlines() if line.startswith("ocw secrets: error:")]
    assert "Traceback" not in result.stderr


def test_a_usage_error_under_json_is_a_document_too(tmp_path: Path) -> None:
    result = ocw("verify", "--json", "--phase", "9", cwd=tmp_path)

    assert result.code == 2
    assert "invalid choice" in json.loads(result.stdout)["error"]["message"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["completion", "bash"], 141),
        (["check", "--repo", str(REPO), "-o", "json"], 141),
        (["install", "--help"], 0),  # argparse drops a help text nobody reads
    ],
)
def test_no_traceback_when_the_reader_has_gone(args: list[str], code: int) -> None:
    read, write = os.pipe()
    os.close(read)  # `ocw ... | head` after head has exited
    try:
        done = start_ocw(*args, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)
    _, errors = done.communicate(timeout=300)
    assert "Traceback" not in errors
    assert "BrokenPipeError" not in errors
    assert done.returncode == code


def run_on_terminal(args: list[str], env: dict[str, str]) -> str:
    """The output of ocw with stdout and stderr on a pseudo-terminal, as a person at a terminal sees it."""
    leader, follower = pty.openpty()
    process = start_ocw(*args, stdout=follower, stderr=follower, env=env, cwd=REPO)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has finished
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=300)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_and_marks_only_on_a_terminal_and_never_with_no_color() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {"TERM": "xterm-256color"}

    coloured = run_on_terminal(["check", "--repo", str(REPO)], env)
    plain = run_on_terminal(["check", "--repo", str(REPO)], {**env, "NO_COLOR": "1"})
    piped = ocw("check", "--repo", str(REPO), env=env)

    assert "\x1b[32m" in coloured and "✓" in coloured
    assert "\x1b[" not in plain and "✓" not in plain
    assert "\x1b[" not in piped.stdout and "✓" not in piped.stdout
    assert "ok: 0 error(s)" in plain and "ok: 0 error(s)" in piped.stdout


BAD_FILES = {"not UTF-8": b"apiVersion: v1\n# caf\xe9\n", "not YAML": b"apiVersion: v1\nclusters: [\n"}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
@pytest.mark.parametrize(
    ("what", "args"),
    [
        ("variables file", ["check", "--repo", str(REPO), "--vars", "{file}"]),
        ("kubeconfig", ["verify", "--repo", str(REPO), "--kubeconfig", "{file}", "--phase", "1"]),
    ],
)
def test_an_input_file_that_cannot_be_read_is_exit_2_in_one_line(
    content: bytes, what: str, args: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "input.yaml"
    bad.write_bytes(content)

    result = ocw(*(arg.format(file=bad) for arg in args), cwd=tmp_path)

    assert result.code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and str(bad) in errors[0], result.stderr
    assert re.search(r"line [23]\b|\.yaml:[23]:", errors[0]), "it says where"
    assert "Traceback" not in result.stderr
