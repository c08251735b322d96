"""A folder that every worker of one test run shares, for what the run builds once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's own: under xdist the parent of the workers' temporary roots, else the run's temporary root. A new
    run gets a new one, so nothing built by an earlier version of the code is ever reused."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
