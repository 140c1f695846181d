"""Several files written as one change: each atomically, and all put back
as they were when anything fails before the change is kept."""

from __future__ import annotations

from pathlib import Path

from shipyard import files

class FileTransaction:
    """Write several files, each atomically; if anything fails before
    `commit`, put every file (and folder) back as it was."""

    def __init__(self) -> None:
        self._saved: list[tuple[Path, str | None]] = []
        self._made: list[Path] = []

    def write(self, path: Path, text: str) -> None:
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self._saved.append((path, old))
        self._made.extend(reversed(missing))
        files.atomic_write(path, text)

    def rollback(self) -> None:
        for path, old in reversed(self._saved):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                files.atomic_write(path, old)
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._saved.clear()
        self._made.clear()
