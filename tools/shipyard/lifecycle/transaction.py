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
        self._originals: dict[Path, str | None] = {}
        self._made: list[Path] = []

    def write(self, path: Path, text: str) -> None:
        old = files.read_exact(path) if path.is_file() else None
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self._saved.append((path, old))
        self._originals.setdefault(path, old)
        self._made.extend(reversed(missing))
        files.atomic_write(path, text)

    def original(self, path: Path) -> str | None:
        """``path``'s text before this transaction (None: it did not exist)."""
        if path in self._originals:
            return self._originals[path]
        return files.read_exact(path) if path.is_file() else None

    def rollback(self) -> None:
        """Put every file back; a file already as it was is not written again
        (a read-only or full disk may refuse the write), and one file that
        cannot be put back does not stop the others: the first error is
        raised once all were tried."""
        first: OSError | None = None
        for path, old in reversed(self._saved):
            try:
                current = files.read_exact(path) if path.is_file() else None
                if current == old:
                    continue
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    files.atomic_write(path, old)
            except OSError as exc:
                first = first or exc
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._saved.clear()
        self._made.clear()
        if first is not None:
            raise first
