"""Which file in the repository an object came from, so that findings point at the file to edit."""

from __future__ import annotations

import threading
from pathlib import Path

from ocw.yamlio import iter_yaml_files, load_all_fast


class SourceIndex:
    def __init__(self, repo: Path) -> None:
        self._repo = repo
        self._index: dict[tuple[str, str], str] | None = None
        self._lock = threading.Lock()

    def locate(self, kind: str, raw_name: str) -> str | None:
        with self._lock:
            if self._index is None:
                self._index = self._scan()
        return self._index.get((kind, raw_name))

    def _scan(self) -> dict[tuple[str, str], str]:
        index: dict[tuple[str, str], str] = {}
        root = self._repo / "kubernetes"
        if not root.is_dir():
            return index
        for path in iter_yaml_files(root):
            try:
                docs = load_all_fast(path.read_text())
            except Exception:  # noqa: S112 - unreadable files are reported by the strict pass, not here
                continue
            for doc in docs:
                if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
                    key = (str(doc.get("kind", "")), str(doc["metadata"].get("name", "")))
                    index.setdefault(key, str(path.relative_to(self._repo)))
        return index
