"""Writing files so that a crash at any moment leaves the old file or the
new one, never half of one: every file a command writes goes through here."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path



def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash at any moment leaves either
    the old file or the new one: temp file in the same folder, fsync, rename,
    fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = (path.stat().st_mode & 0o777) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_report(path: Path, text: str) -> None:
    """A report a command was asked to write (--junit, --output): atomic, into
    a folder that must exist (a typo in the path is not a folder to create).
    Errors are OSErrors naming the path; the CLI prints them as SY900."""
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    atomic_write(path, text)


def line_of_entry(kfile: Path, needle: str, *, last: bool = False) -> int | None:
    """The line of ``kfile`` where ``needle`` is written as a whole entry
    (the last such line with ``last``: kustomize fails on the second of two
    equal entries). For messages that name an entry by its text only (a
    kustomize error, a resolved path); with a parsed document, use
    ``shipyard.load.Located.line`` instead."""
    try:
        lines = kfile.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    whole = re.compile(r"(?<![\w./~-])" + re.escape(needle) + r"(?![\w./~-])")
    found = [number for number, text in enumerate(lines, start=1) if whole.search(text)]
    if not found:
        return None
    return found[-1] if last else found[0]
