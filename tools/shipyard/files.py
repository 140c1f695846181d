"""Writing files so that a crash at any moment leaves the old file or the
new one, never half of one: every file a command writes goes through here."""

from __future__ import annotations

import errno
import os
import re
import stat
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


def read_exact(path: Path) -> str:
    """A text file as it is written, line endings included (Path.read_text
    turns CRLF into LF, and a file edited from that would change every line)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


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


def check_report_path(path: Path) -> None:
    """Refuse, before a command does its work, a report path that
    `write_report` would refuse afterwards."""
    try:
        info: os.stat_result | None = path.stat()
    except FileNotFoundError:
        info = None
    streams = info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode))
    if info is not None and not streams and not stat.S_ISREG(info.st_mode):
        raise IsADirectoryError(21, "not a regular file: a folder or socket is never written over", str(path))
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if info is None and not target.parent.is_dir():
        raise FileNotFoundError(2, "No such file or directory", str(path))


def write_report(path: Path, text: str) -> None:
    """A file a command was asked to write (--junit, --output, --pr-title,
    --pr-body): into a folder that must exist (a typo in the path is not a
    folder to create), written through what is there: a symlink keeps
    pointing where it did (its target is replaced atomically); a character
    device or a pipe someone reads (/dev/stdout) is written to, never
    replaced; a folder, a socket or a pipe nobody reads is refused. Errors
    are OSErrors naming the path; the CLI prints them as SY900."""
    check_report_path(path)
    try:
        info: os.stat_result | None = path.stat()  # through a symlink
    except FileNotFoundError:
        info = None
    if info is not None and (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        _write_stream(path, text)
        return
    atomic_write(Path(os.path.realpath(path)) if path.is_symlink() else path, text)


def _write_stream(path: Path, text: str) -> None:
    """Write to a device or a pipe; a pipe with no reader is an error at
    once (ENXIO), not a command that hangs."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "a pipe that no process reads (writing would wait forever)", str(path)) from None
        raise
    try:
        os.set_blocking(fd, True)
        with os.fdopen(fd, "w", encoding="utf-8", newline="", closefd=False) as handle:
            handle.write(text)
    finally:
        os.close(fd)


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
