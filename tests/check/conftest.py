from __future__ import annotations

from pathlib import Path

import pytest

from check.tree_copy import SHARED_SCHEMAS, TreeCopy, copy_tree


@pytest.fixture
def tree(tmp_path: Path) -> TreeCopy:
    if not SHARED_SCHEMAS.is_dir():
        pytest.fail(f"the shared schemas are expected at {SHARED_SCHEMAS} (a copy of shared/ beside the clone)")
    return copy_tree(tmp_path / "repo")
