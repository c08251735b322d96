"""Ctrl-C ends ocw with exit code 130 wherever it lands, also inside code Python runs with `exec()` of a string: that
is how `dataclasses` and `namedtuple` build their methods while a module loads, and `ocw up` loads its HTTP client
lazily, just as OpenCode starts. A plain KeyboardInterrupt leaving such code makes an interpreter started with
`python -m` (as `python -m ocw`) kill itself with SIGINT at exit even after ocw caught it and returned 130, so the
caller saw -2."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

# A Ctrl-C inside exec()-run source, handled as ocw's command line handles it (ocw.cli.main).
CTRL_C_INSIDE_EXEC = textwrap.dedent(
    """
    import os, signal, sys
    from ocw.interrupts import ctrl_c_raises_interrupted

    with ctrl_c_raises_interrupted():
        try:
            exec("os.kill(os.getpid(), signal.SIGINT)", {"os": os, "signal": signal})
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """
)


def test_ctrl_c_inside_exec_run_code_still_exits_130(tmp_path: Path) -> None:
    (tmp_path / "interrupted_command.py").write_text(CTRL_C_INSIDE_EXEC)
    result = subprocess.run(
        [sys.executable, "-m", "interrupted_command"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (130, "interrupted\n"), result.stderr


def _ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_the_suite_started_with_ctrl_c_ignored_still_interrupts_what_it_starts(tmp_path: Path) -> None:
    """`make test &` in a script starts the suite with SIGINT ignored, which every program it starts would inherit;
    the test above must still see its Ctrl-C land. (A base temp of its own: pytest would otherwise spend its exit
    deleting earlier runs' temporary folders.)"""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "base")),
            *(__file__, "-k", "exec_run_code"),
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        preexec_fn=_ignore_ctrl_c,  # safe: the test starts no thread
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
