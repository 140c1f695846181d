"""Content-hash cache of renders.

A render is stored under the hash of everything that can change it: the
bytes of every input file, remote base URLs (pinned by tag), chart pins and
values, the binaries' versions and the mirror. An unchanged re-run reads
the stored objects instead of running kustomize and helm again.
"""

from __future__ import annotations

import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import Any

CACHE_VERSION = "1"


class RenderCache:
    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled

    @staticmethod
    def key(*parts: Any) -> str:
        import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
        digest = hashlib.sha256(CACHE_VERSION.encode())
        for part in parts:
            if isinstance(part, bytes):
                digest.update(part)
            else:
                digest.update(repr(part).encode())
            digest.update(b"\0")
        return digest.hexdigest()

    @staticmethod
    def files_digest(files: set[Path], root: Path | None = None) -> str:
        """Digest of the files' contents and their paths relative to ``root``,
        so two clones or worktrees of one commit share cache entries."""
        import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
        digest = hashlib.sha256()
        for file in sorted(files):
            name = str(file)
            if root is not None:
                try:
                    name = file.relative_to(root).as_posix()
                except ValueError:
                    pass
            digest.update(name.encode())
            _add_file(digest, file)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / "render" / key[:2] / f"{key}.pickle"

    def has(self, key: str) -> bool:
        """Whether a render is stored under ``key`` (without reading it)."""
        return self.enabled and self._path(key).is_file()

    def get(self, key: str) -> Any | None:
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            return None

    def put(self, key: str, value: Any) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _add_file(digest: Any, file: Path) -> None:
    """Add one input's bytes to ``digest``, read in pieces so that memory
    stays flat whatever the size. A file over the loader's size limit is
    not read at all: its size and time stand in for it (no render of it is
    ever stored, since the preflight refuses it before kustomize runs), so
    a 10 GB resource costs nothing here and is refused there."""
    from shipyard.load import MAX_FILE_BYTES

    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            digest.update(f"<not read: mode {info.st_mode:o}, {info.st_size} bytes, {info.st_mtime_ns}>".encode())
            return
        with file.open("rb") as handle:
            while chunk := handle.read(2**20):
                digest.update(chunk)
    except OSError:
        digest.update(b"<missing>")
