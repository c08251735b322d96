"""Ctrl-C ends ocw with exit code 130 wherever it lands, also inside code Python runs with `exec()` of a string: that
is how `dataclasses` and `namedtuple` build their methods while a module loads, and `ocw up` loads its HTTP client
lazily, just as OpenCode starts. A plain KeyboardInterrupt leaving such code makes an interpreter started with
`python -m` (as `python -m ocw`) kill itself with SIGINT at exit even after ocw caught it and returned 130, so the
caller saw -2."""

from __future__ import annotations

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
