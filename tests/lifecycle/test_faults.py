"""Promotion under faults, with real processes on a git clone of the
fixture: a `shipyard` killed between its file writes and its commit, killed
together with its git, stopped by SIGTERM, two started at once, and a lock
left by a process that died. Each ends in a state the next run repairs, or
reports with what to do; nothing is lost and nothing is left half-done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

SHIPYARD = Path(sys.executable).parent / "shipyard"
DEV_PIN = "overlays/dev/models/iris/kustomization.yaml"
PROMOTE_DEV = ["promote", "iris", "--to", "dev", "--version", "1.1.0"]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def journal(lc: LifecycleRepo) -> Path:
    return lc.root / ".git" / "shipyard" / "journal.json"


def temp_files(lc: LifecycleRepo) -> list[str]:
    return [str(p.relative_to(lc.root)) for p in lc.root.rglob(".*.tmp") if ".git" not in p.parts]


class CommitGate:
    """A real git hook that holds `git commit` after shipyard has written
    and staged its files: `prepare-commit-msg` runs even with --no-verify.
    The hook waits until the test releases it with an exit code."""

    def __init__(self, lc: LifecycleRepo, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.hook = lc.root / ".git" / "hooks" / "prepare-commit-msg"
        self.hook.parent.mkdir(exist_ok=True)
        self.hook.write_text(textwrap.dedent(f"""\
            #!/bin/sh
            touch '{folder}/entered'
            while [ ! -e '{folder}/release' ]; do sleep 0.02; done
            code=$(cat '{folder}/release')
            touch '{folder}/left'
            exit "$code"
        """))
        self.hook.chmod(0o755)

    def wait_entered(self) -> None:
        wait_for((self.folder / "entered").exists, "git commit to reach the hook")

    def release(self, code: int) -> None:
        (self.folder / "release").write_text(str(code))

    def wait_left(self) -> None:
        wait_for((self.folder / "left").exists, "the hook to finish")

    def remove(self) -> None:
        self.hook.unlink()


def spawn(lc: LifecycleRepo, *args: str, stderr: Path | None = None, **popen) -> subprocess.Popen[str]:
    """`shipyard ARGS --repo ROOT` as its own process."""
    return subprocess.Popen([str(SHIPYARD), *args, "--repo", str(lc.root)], cwd=lc.root, text=True,
                            stdout=subprocess.PIPE,
                            stderr=stderr.open("w") if stderr else subprocess.PIPE, **popen)


def python_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def assert_promoted_once(lc: LifecycleRepo) -> None:
    """The state one clean `promote iris --to dev --version 1.1.0` leaves."""
    assert lc.branch == "promote/iris-dev-1.1.0"
    assert lc.git("log", "--format=%s", "main..HEAD").splitlines() == ["Promote iris 1.1.0 to dev"]
    assert lc.git("show", "--name-only", "--format=", "HEAD").split() == [DEV_PIN]
    assert lc.dirty() == [] and temp_files(lc) == [] and not journal(lc).exists()
    assert lc.predictors("dev") == [("default", "gs://models-example/iris/1.1.0", 100, 1)]


def test_kill_between_write_and_commit_is_repaired_by_a_rerun(lc: LifecycleRepo, tmp_path: Path) -> None:
    original = lc.pin("dev")
    gate = CommitGate(lc, tmp_path / "gate")
    child = spawn(lc, *PROMOTE_DEV)
    gate.wait_entered()
    os.kill(child.pid, signal.SIGKILL)  # shipyard dies; its git commit is still waiting in the hook
    child.wait(timeout=30)
    gate.release(1)  # the orphaned commit then fails, and git cleans up after itself
    gate.wait_left()
    wait_for(lambda: not (lc.root / ".git" / "index.lock").exists(), "git to release its index")
    gate.remove()
    # what the kill left: the new branch, the pin written and staged, no commit, the journal
    assert lc.branch == "promote/iris-dev-1.1.0" and lc.head == lc.git("rev-parse", "main").strip()
    assert lc.dirty() == [f"M  {DEV_PIN}"] and lc.pin("dev") != original
    assert journal(lc).is_file()

    rerun = lc.shipyard(*PROMOTE_DEV)
    assert rerun.code == 0, rerun.err
    assert f"(pid {child.pid}," in rerun.err
    assert "was stopped half-way: put back 1 file(s)" in rerun.err
    assert "removed its branch promote/iris-dev-1.1.0, back on main" in rerun.err
    assert_promoted_once(lc)


def test_kill_with_its_git_is_reported_then_repaired(lc: LifecycleRepo, tmp_path: Path) -> None:
    """The whole job killed at once (a cancelled CI job): git dies holding
    its index lock. The next run says which file that is and what to do, and
    changes nothing; once the lock is gone it repairs and promotes."""
    gate = CommitGate(lc, tmp_path / "gate")
    child = spawn(lc, *PROMOTE_DEV, start_new_session=True)
    gate.wait_entered()
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    gate.remove()
    index_lock = lc.root / ".git" / "index.lock"
    assert index_lock.exists()
    left = (lc.pin("dev"), lc.branch, journal(lc).read_text())

    report = lc.shipyard(*PROMOTE_DEV)
    assert report.code == 2
    assert f"git's own lock {index_lock} exists" in report.err
    assert "If no git process runs, remove that file and run the command again" in report.err
    assert "Traceback" not in report.err
    assert (lc.pin("dev"), lc.branch, journal(lc).read_text()) == left  # the report touched nothing

    index_lock.unlink()
    rerun = lc.shipyard(*PROMOTE_DEV)
    assert rerun.code == 0, rerun.err
    assert "put back 1 file(s)" in rerun.err
    assert_promoted_once(lc)


KILL_AT_COMMIT = """
    import os, signal, sys
    import shipyard.git
    from shipyard.cli import main
    def commit(root, paths, message):
        os.kill(os.getpid(), signal.SIGKILL)  # the pin is written, the branch made, nothing staged yet
    shipyard.git.commit = commit
    sys.argv[0] = "shipyard"  # as the console script names itself
    sys.exit(main(sys.argv[1:]))
"""


def test_a_file_edited_after_the_kill_is_not_overwritten(lc: LifecycleRepo) -> None:
    """The repair only puts back files still as the killed run left them;
    a hand edit since then stops it, with the steps to finish by hand."""
    child = python_child(KILL_AT_COMMIT, *PROMOTE_DEV, "--repo", str(lc.root))
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    lc.write(DEV_PIN, lc.pin("dev") + "# my own edit\n")
    left = (lc.pin("dev"), lc.branch, lc.dirty(), journal(lc).read_text())
    run = lc.shipyard(*PROMOTE_DEV)
    assert run.code == 2
    assert (f"error [SY905]: an interrupted `shipyard promote iris --to dev --version 1.1.0 --repo {lc.root}` "
            f"(pid {child.pid}, started ") in run.err
    assert f"was stopped half-way, and {DEV_PIN} changed since; nothing was touched" in run.err
    assert ("switch back to main and delete its empty branch (git branch -D promote/iris-dev-1.1.0), "
            f"then delete {journal(lc)} and run again") in run.err
    assert (lc.pin("dev"), lc.branch, lc.dirty(), journal(lc).read_text()) == left


KILL_AT_COMPONENT = """
    import os, signal, sys
    from shipyard.cli import main
    real_replace = os.replace
    def replace(src, dst):
        if str(dst).endswith("versions/1.3.0/kustomization.yaml"):
            os.kill(os.getpid(), signal.SIGKILL)  # model.yaml is written, the component's temp file is not renamed
        return real_replace(src, dst)
    os.replace = replace
    sys.argv[0] = "shipyard"  # as the console script names itself
    sys.exit(main(sys.argv[1:]))
"""


def test_kill_in_the_middle_of_a_multi_file_change(lc: LifecycleRepo, tmp_path: Path) -> None:
    """register writes model.yaml and two new component files; killed after
    the first, a re-run puts model.yaml back, removes the temporary file and
    the new folder, and registers the version once."""
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.98, "f1_macro": 0.97}')
    args = ["register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0",
            "--metrics", str(metrics), "--created", "2026-11-20T10:00:00Z", "--repo", str(lc.root)]
    model = lc.read("models/iris/model.yaml")
    child = python_child(KILL_AT_COMPONENT, *args)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert "1.3.0" in lc.read("models/iris/model.yaml")
    assert [Path(t).parent.as_posix() for t in temp_files(lc)] == ["models/iris/versions/1.3.0"]

    rerun = lc.shipyard(*args[:-2])
    assert rerun.code == 0, rerun.err
    assert "was stopped half-way: put back 1 file(s)" in rerun.err  # model.yaml; the component never got renamed
    after = lc.read("models/iris/model.yaml")
    assert after.startswith(model) and after.count("version: 1.3.0") == 1
    assert sorted(lc.dirty()) == [" M models/iris/model.yaml", "?? models/iris/versions/1.3.0/"]
    assert sorted(p.name for p in (lc.root / "models/iris/versions/1.3.0").rglob("*")) == \
        ["canary", "kustomization.yaml", "kustomization.yaml"]
    assert not journal(lc).exists()


SIGTERM_AT_PIN = """
    import os, signal, sys
    import shipyard.files
    from shipyard.cli import main
    real_write = shipyard.files.atomic_write
    sent = []
    def write(path, text):
        if str(path).endswith("overlays/dev/models/iris/kustomization.yaml") and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # a cancelled job, while the pin is being written
        return real_write(path, text)
    shipyard.files.atomic_write = write
    sys.argv[0] = "shipyard"  # as the console script names itself
    sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_stops_at_a_safe_point_and_puts_everything_back(lc: LifecycleRepo) -> None:
    before = (lc.head, lc.branch, lc.branches(), lc.pin("dev"))
    child = python_child(SIGTERM_AT_PIN, *PROMOTE_DEV, "--repo", str(lc.root))
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    assert "stopped by SIGTERM before the change was committed" in err and "Traceback" not in err
    assert (lc.head, lc.branch, lc.branches(), lc.pin("dev")) == before
    assert lc.dirty() == [] and temp_files(lc) == [] and not journal(lc).exists()


def test_a_second_command_fails_clearly_or_waits(lc: LifecycleRepo, tmp_path: Path) -> None:
    gate = CommitGate(lc, tmp_path / "gate")
    first = spawn(lc, *PROMOTE_DEV)
    gate.wait_entered()  # the first holds the work tree, half-way through its change

    second = spawn(lc, "promote", "resnet", "--to", "staging")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2, out
    assert (f"another shipyard command is changing this work tree: pid {first.pid} "
            f"(`shipyard promote iris --to dev --version 1.1.0 --repo {lc.root}`, started ") in err
    assert f"pass --wait SECONDS to queue behind it; if pid {first.pid} hangs, stop it (kill {first.pid})" in err
    assert "promote/resnet-staging-2026.10" not in lc.branches()

    waited_log = tmp_path / "waited.err"
    waiting = spawn(lc, "promote", "resnet", "--to", "staging", "--wait", "60", stderr=waited_log)
    wait_for(lambda: f"note: waiting for pid {first.pid}" in waited_log.read_text(), "the second to wait")
    assert waiting.poll() is None
    gate.release(0)
    assert first.wait(timeout=60) == 0
    assert waiting.wait(timeout=60) == 0, waited_log.read_text()
    gate.remove()
    # serialized: the second started where the first left the work tree
    assert lc.git("log", "--format=%s", "main..promote/resnet-staging-2026.10").splitlines() == \
        ["Promote resnet 2026.10 to staging", "Promote iris 1.1.0 to dev"]
    assert lc.dirty() == [] and not journal(lc).exists()


def test_two_promotions_started_at_once(lc: LifecycleRepo) -> None:
    """Whatever the timing: each either succeeds or fails cleanly naming
    the other, at least one succeeds, and the repository is consistent."""
    runs = [spawn(lc, *PROMOTE_DEV), spawn(lc, "promote", "resnet", "--to", "staging")]
    results = [(run.pid, *run.communicate(timeout=60), run.returncode) for run in runs]
    won = [pid for pid, _out, _err, code in results if code == 0]
    assert won
    branches = {"promote/iris-dev-1.1.0": "Promote iris 1.1.0 to dev",
                "promote/resnet-staging-2026.10": "Promote resnet 2026.10 to staging"}
    for (pid, _out, err, code), (branch, title) in zip(results, branches.items()):
        if code == 0:
            assert lc.git("log", "-1", "--format=%s", branch).strip() == title
        else:
            assert code == 2 and "another shipyard command is changing this work tree: pid " in err, err
            assert branch not in lc.branches()
    assert lc.dirty() == [] and temp_files(lc) == [] and not journal(lc).exists()


HOLD_LOCK = """
    import sys, time
    from pathlib import Path
    from shipyard.git import WorkTreeLock
    lock = WorkTreeLock(Path(sys.argv[1]), "shipyard promote iris --to production")
    lock.acquire()
    print("locked", flush=True)
    time.sleep(120)
"""


def test_lock_of_a_dead_process_is_taken_over(lc: LifecycleRepo) -> None:
    holder = python_child(HOLD_LOCK, str(lc.root))
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait(timeout=30)
    run = lc.shipyard(*PROMOTE_DEV)
    assert run.code == 0, run.err
    assert (f"note: took over the work-tree lock of pid {holder.pid} (`shipyard promote iris --to production`, "
            "started ") in run.err
    assert "which is no longer running" in run.err
    assert_promoted_once(lc)
    # a clean exit leaves nothing to take over
    lc.git("switch", "-q", "main")
    again = lc.shipyard("promote", "resnet", "--to", "staging")
    assert again.code == 0 and "took over" not in again.err


REGISTER_1_3 = ["register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0",
                "--created", "2026-11-20T10:00:00Z"]


def _kill_files_only_register(lc: LifecycleRepo, tmp_path: Path) -> list[str]:
    """A files-only `register` killed after model.yaml is written, before
    its components are: the journal it leaves records HEAD."""
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.98, "f1_macro": 0.97}')
    args = [*REGISTER_1_3, "--metrics", str(metrics), "--repo", str(lc.root)]
    child = python_child(KILL_AT_COMPONENT, *args)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert "1.3.0" in lc.read("models/iris/model.yaml") and journal(lc).exists()
    return args


def test_a_files_only_run_committed_by_hand_is_never_reverted(lc: LifecycleRepo, tmp_path: Path) -> None:
    """The user commits what the killed run wrote; the next command sees
    HEAD moved and leaves every file as it is (it used to put model.yaml
    back, and the committed version was lost from the work tree)."""
    _kill_files_only_register(lc, tmp_path)
    lc.git("add", "models/iris/model.yaml")
    lc.git("commit", "-q", "-m", "wip: iris 1.3.0")
    committed = lc.read("models/iris/model.yaml")
    run = lc.shipyard("promote", "resnet", "--to", "staging", "--no-commit")
    assert run.code == 0, run.err
    assert "HEAD has moved since" in run.err and "its files were left as they are" in run.err
    assert "models/iris/model.yaml as it wrote them" in run.err
    assert lc.read("models/iris/model.yaml") == committed and "1.3.0" in committed
    assert not journal(lc).exists() and temp_files(lc) == []


def test_a_half_written_file_staged_since_is_left_alone(lc: LifecycleRepo, tmp_path: Path) -> None:
    """Staged but not committed: the user may mean to keep it, so the repair
    refuses, touches nothing, and says what it found."""
    _kill_files_only_register(lc, tmp_path)
    lc.git("add", "models/iris/model.yaml")
    left = (lc.read("models/iris/model.yaml"), journal(lc).read_text())
    run = lc.shipyard("promote", "resnet", "--to", "staging", "--no-commit")
    assert run.code == 2, run.err
    assert "models/iris/model.yaml as it wrote it is staged (git add) since" in run.err
    assert "Traceback" not in run.err
    assert (lc.read("models/iris/model.yaml"), journal(lc).read_text()) == left


def test_a_stale_index_lock_puts_the_user_back_where_they_were(lc: LifecycleRepo) -> None:
    """git's own lock left by a killed git: the commit fails; the error
    names that step and the lock, and the branch, files and journal are
    gone again (it used to leave the new branch checked out)."""
    before = (lc.head, lc.branch, lc.branches(), lc.pin("dev"))
    index_lock = lc.root / ".git" / "index.lock"
    index_lock.write_text("")
    run = lc.shipyard(*PROMOTE_DEV)
    assert run.code == 2, run.err
    assert f"git's own lock {index_lock} exists" in run.err and "Traceback" not in run.err
    assert "git add failed" in run.err
    index_lock.unlink()
    assert (lc.head, lc.branch, lc.branches(), lc.pin("dev")) == before
    assert lc.dirty() == [] and temp_files(lc) == [] and not journal(lc).exists()
    assert lc.shipyard(*PROMOTE_DEV).code == 0
    assert_promoted_once(lc)


DISK_FULL_AT_PIN = """
    import errno, os, sys
    import shipyard.files
    from shipyard.cli import main
    real_write = shipyard.files.atomic_write
    def write(path, text):
        if str(path).endswith("overlays/dev/models/iris/kustomization.yaml"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, text)
    shipyard.files.atomic_write = write
    sys.argv[0] = "shipyard"
    sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_puts_the_user_back_where_they_were(lc: LifecycleRepo) -> None:
    before = (lc.head, lc.branch, lc.branches(), lc.pin("dev"))
    child = python_child(DISK_FULL_AT_PIN, *PROMOTE_DEV, "--repo", str(lc.root))
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    assert "No space left on device" in err and "Traceback" not in err
    assert (lc.head, lc.branch, lc.branches(), lc.pin("dev")) == before
    assert lc.dirty() == [] and temp_files(lc) == [] and not journal(lc).exists()


TWO_SIGTERMS_AFTER_COMMIT = """
    import os, signal, sys
    import shipyard.git
    from shipyard.cli import main
    real_commit = shipyard.git.commit
    def commit(root, paths, message):
        made = real_commit(root, paths, message)
        os.kill(os.getpid(), signal.SIGTERM)  # a cancelled job ...
        os.kill(os.getpid(), signal.SIGTERM)  # ... and its runner insisting, just after the commit
        return made
    shipyard.git.commit = commit
    sys.argv[0] = "shipyard"
    sys.exit(main(sys.argv[1:]))
"""


def test_a_second_sigterm_just_after_the_commit_keeps_the_commit(lc: LifecycleRepo) -> None:
    """The commit is made: the work tree keeps matching it (it used to be
    put back, leaving main one commit ahead of its own files)."""
    start = lc.head
    child = python_child(TWO_SIGTERMS_AFTER_COMMIT, *PROMOTE_DEV, "--no-branch", "--repo", str(lc.root))
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    assert "stopped by a second SIGTERM, after the change was committed" in err and "Traceback" not in err
    assert lc.branch == "main" and lc.head != start
    assert lc.git("log", "-1", "--format=%s").strip() == "Promote iris 1.1.0 to dev"
    assert lc.dirty() == [] and temp_files(lc) == [] and not journal(lc).exists()
    again = lc.shipyard(*PROMOTE_DEV, "--no-branch")
    assert again.code == 0 and "already pinned in dev" in again.out
