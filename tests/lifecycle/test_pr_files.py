"""--pr-title and --pr-body are written through what the user names: a
symlink stays a symlink, a device or a read pipe is written to (never
replaced), and a path in a folder that does not exist is an error before
anything else happens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

SHIPYARD = Path(sys.executable).parent / "shipyard"
PROMOTE_DEV = ["promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-commit"]


def test_a_symlinked_body_file_is_written_through(lc: LifecycleRepo, tmp_path: Path) -> None:
    real = tmp_path / "body.md"
    real.write_text("old\n")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    run = lc.shipyard(*PROMOTE_DEV, "--pr-body", str(link))
    assert run.code == 0, run.err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("## What changes")


def test_the_body_goes_to_stdout_through_a_pipe(lc: LifecycleRepo) -> None:
    proc = subprocess.run([str(SHIPYARD), *PROMOTE_DEV, "--pr-body", "/dev/stdout", "--repo", str(lc.root)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "## What changes" in proc.stdout
    assert Path("/dev/stdout").exists()  # still the device, not a file that replaced it


def test_a_missing_folder_or_a_folder_is_refused(lc: LifecycleRepo, tmp_path: Path) -> None:
    for target, words in ((tmp_path / "no" / "such" / "body.md", "No such file or directory"),
                          (tmp_path, "not a regular file")):
        run = lc.shipyard(*PROMOTE_DEV, "--pr-body", str(target))
        assert run.code == 2, run.err
        assert words in run.err and "Traceback" not in run.err
        assert not (tmp_path / "no").exists()
        assert lc.dirty() == []  # refused before the change was made


def test_a_pipe_nobody_reads_is_refused_at_once(lc: LifecycleRepo, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    run = lc.shipyard(*PROMOTE_DEV, "--pr-title", str(fifo))
    assert run.code == 2, run.err
    assert "a pipe that no process reads" in run.err
