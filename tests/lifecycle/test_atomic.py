"""A kill in the middle of a write leaves the old file, whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shipyard.files import atomic_write
from shipyard.lifecycle.transaction import FileTransaction


def test_sigkill_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "kustomization.yaml"
    target.write_text("old: content\n")
    started = tmp_path / "started"
    # The child writes a large new version and is killed after the bytes are
    # in the temporary file but before the rename.
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        import shipyard.files as files
        real_fsync = os.fsync
        def slow_fsync(fd):
            real_fsync(fd)
            Path({str(started)!r}).write_text("x")
            time.sleep(60)
        os.fsync = slow_fsync
        files.atomic_write(Path({str(target)!r}), "new: " + "x" * 5_000_000 + "\\n")
    """)])
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert child.poll() is None, "the writer exited early"
            assert time.monotonic() < deadline, "the writer never reached fsync"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert target.read_text() == "old: content\n"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in {"kustomization.yaml", "started"}]
    assert len(leftovers) == 1 and leftovers[0].startswith(".kustomization.yaml.")  # the temp file, never the target


def test_failed_write_removes_its_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.yaml"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.yaml"]


def test_transaction_rollback_restores_files_and_folders(tmp_path: Path) -> None:
    existing = tmp_path / "a.yaml"
    existing.write_text("a\n")
    created = tmp_path / "new" / "deeper" / "b.yaml"
    transaction = FileTransaction()
    transaction.write(existing, "changed\n")
    transaction.write(created, "b\n")
    assert existing.read_text() == "changed\n" and created.is_file()
    transaction.rollback()
    assert existing.read_text() == "a\n"
    assert not (tmp_path / "new").exists()


def test_mode_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    target.write_text("echo old\n")
    target.chmod(0o755)
    atomic_write(target, "echo new\n")
    assert target.stat().st_mode & 0o777 == 0o755
    fresh = tmp_path / "fresh.yaml"
    atomic_write(fresh, "x: 1\n")
    assert fresh.stat().st_mode & 0o777 == 0o644
