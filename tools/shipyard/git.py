"""The one git runner, and the git plumbing every command shares: work-tree
state, branches, commits, a file's history, refs named on the command line.

Every call runs the real `git` (stdin closed, no prompt, output decoded with
replacement characters) and turns a failure into a ShipyardError that says
what to do, never a traceback: SY901 when git is missing, SY904 when a git
command fails. Nothing here pushes: publishing a branch is the caller's job
(the promotion workflow, or a person).

It also holds what keeps two commands off the same work tree at once: a lock
under the repository's git folder, where git itself keeps per-clone state
that is never committed.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from shipyard import ids
from shipyard.errors import ShipyardError, ToolMissing

BUSY: ids.CheckId = ids.WORK_TREE_BUSY  # another command holds the work tree, or an interrupted one left work to repair
CONFLICT: ids.CheckId = ids.BRANCH_CONFLICT  # the change collides with a branch: its own, or the target branch moved
FAILED: ids.CheckId = ids.GIT_FAILED

_REF_HINT = ("list refs with `git branch -a` and `git tag`; in CI fetch the history and the base branch "
             "(actions/checkout with fetch-depth: 0)")


def run(root: Path, *args: str, timeout: float = 120, missing_hint: str = "install git",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run git in ``root`` (``env``: the whole environment, default this
    process's) and return the finished process, whatever its exit code; only
    a missing git (SY901) or a hang (SY904) raise."""
    env = dict(env if env is not None else os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, errors="replace", env=env,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ToolMissing("git is not installed", hint=missing_hint, check=ids.TOOL_MISSING) from None
    except subprocess.TimeoutExpired:
        raise ShipyardError(f"git {args[0] if args else ''} timed out after {timeout:g} s", check=FAILED) from None
    except OSError as exc:
        raise ShipyardError(f"git {' '.join(args)} failed: {exc}", check=FAILED) from None


@dataclass(frozen=True)
class Revision:
    """A commit that touched a file, and the file's text there (None when
    the commit deleted it)."""

    commit: str
    subject: str
    text: str | None


def git(root: Path, *args: str, check: bool = True, what: str | None = None, hint: str | None = None,
        timeout: float = 120, env: dict[str, str] | None = None) -> str:
    """Run git in ``root`` and return stdout; with ``check``, a non-zero exit
    is an SY904 error naming ``what`` was being done."""
    if not root.is_dir():
        raise ShipyardError(f"{root}: no such folder", check=ids.USAGE)
    proc = run(root, *args, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        if "Please tell me who you are" in message or "empty ident" in message:
            hint = "set an identity: git config user.name NAME && git config user.email EMAIL"
        held = re.search(r"'([^']+\.lock)': File exists", message)
        if held:
            hint = (f"git's own lock {held.group(1)} exists: another git process is running in this clone, or one "
                    "was killed mid-way. If no git process runs, remove that file and run the command again")
        raise ShipyardError(f"{what or 'git ' + args[0]} failed: {message}", hint=hint, check=FAILED)
    return proc.stdout


def lines(root: Path, *args: str, what: str, hint: str | None = None) -> list[str]:
    """Non-blank lines of a git command's output (SY904 when it fails)."""
    return [line for line in git(root, *args, what=what, hint=hint).splitlines() if line.strip()]


def verify_ref(root: Path, ref: str, option: str) -> None:
    """A clear error unless ``ref`` names a commit in the repository at
    ``root``; ``option`` is the command-line option that gave it. A ref that
    starts with "-" is refused outright: git would read it as an option."""
    if not ref.strip() or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise ShipyardError(f"{option} {ref!r} is not a git ref", hint="name a branch, a tag or a commit", check=FAILED)
    proc = run(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", timeout=60,
               missing_hint="install git: comparing refs reads the history")
    if proc.returncode == 0:
        return
    if "not a git repository" in proc.stderr:
        raise ShipyardError(f"{root} is not in a git repository, so {option} has no history to compare with",
                            hint="run inside a clone of the repository", check=FAILED)
    raise ShipyardError(f"{option} {ref!r}: no branch, tag or commit of that name in this repository",
                        hint=_REF_HINT, check=FAILED)


def require_repository(root: Path) -> None:
    out = git(root, "rev-parse", "--is-inside-work-tree", check=False).strip()
    if out != "true":
        raise ShipyardError(f"{root} is not a git work tree", hint="run inside a clone of the repository", check=ids.USAGE)


def dirty_paths(root: Path) -> list[str]:
    """Changed, staged and untracked (not ignored) paths."""
    try:
        out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    except ShipyardError as exc:
        if "not a git repository" in exc.message:
            raise ShipyardError(f"{root} is not a git work tree", hint="run inside a clone of the repository",
                                check=ids.USAGE) from None
        raise
    paths = []
    entries = out.split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        paths.append(path)
        if status[0] in "RC":  # a rename carries its source as the next entry
            index += 1
    return paths


def require_clean(root: Path, *, allow: set[str] | None = None) -> None:
    """Refuse to start on a dirty work tree: the branch and commit must hold
    this change and nothing else."""
    dirty = [p for p in dirty_paths(root) if not allow or p not in allow]
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise ShipyardError(
            f"the work tree has uncommitted changes: {shown}",
            hint="commit or stash them first (or pass --no-commit to only edit files)",
            check=ids.USAGE,
        )


def current_branch(root: Path) -> str | None:
    name = git(root, "rev-parse", "--abbrev-ref", "HEAD", check=False).strip()
    return None if name in ("", "HEAD") else name


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def branch_exists(root: Path, name: str) -> bool:
    return bool(git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False).strip())


def valid_branch_name(root: Path, name: str) -> bool:
    return git(root, "check-ref-format", "--branch", name, check=False).strip() == name


def create_branch(root: Path, name: str) -> None:
    """Create ``name`` at HEAD and switch to it."""
    git(root, "switch", "--quiet", "-c", name, what=f"creating branch {name}")


def switch(root: Path, name: str) -> None:
    git(root, "switch", "--quiet", name, what=f"switching to {name}")


def delete_branch(root: Path, name: str) -> None:
    git(root, "branch", "--quiet", "-D", name, check=False)


def abandon_branch(root: Path, created: str | None, origin: str | None) -> None:
    """Undo a branch creation: back on ``origin`` (a branch, or a commit to
    detach at), the ``created`` branch gone. When both name the same commit,
    HEAD is pointed back without touching the index or the files, which
    works even while git's own index.lock is held."""
    if not created or not origin:
        return
    if branch_exists(root, origin):
        if rev(root, f"refs/heads/{origin}") == rev(root, f"refs/heads/{created}") \
                and current_branch(root) == created:
            git(root, "symbolic-ref", "HEAD", f"refs/heads/{origin}", what=f"going back to {origin}")
        else:
            switch(root, origin)
    else:
        git(root, "switch", "--quiet", "--detach", origin, check=False)
    delete_branch(root, created)


def show(root: Path, rev: str, path: str) -> str | None:
    """The text of ``path`` at ``rev``, or None when it does not exist there."""
    proc = run(root, "show", f"{rev}:{path}")
    return proc.stdout if proc.returncode == 0 else None


def commit(root: Path, paths: list[str], message: str) -> str:
    """Stage exactly ``paths`` and commit only them; return the new commit id."""
    git(root, "add", "--", *paths, what="git add")
    git(root, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths, what="git commit")
    return head(root)


def history(root: Path, path: str, *, limit: int = 200) -> list[Revision]:
    """Commits reachable from HEAD that changed ``path``, newest first, with
    the file's text after each."""
    out = git(root, "log", f"--max-count={limit}", "--format=%H%x00%s", "--", path)
    revisions = []
    for line in out.splitlines():
        sha, _, subject = line.partition("\0")
        if sha:
            revisions.append(Revision(sha, subject, show(root, sha, path)))
    return revisions


def rev(root: Path, ref: str) -> str | None:
    """The commit ``ref`` names, or None when it names none."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    return out or None


def merge_base(root: Path, a: str, b: str) -> str | None:
    return git(root, "merge-base", a, b, check=False).strip() or None


def log_lines(root: Path, spec: str, paths: list[str] | None = None, *, limit: int = 3) -> list[str]:
    """``<short sha> <subject>`` of the commits in ``spec`` (a range), newest first."""
    args = ["log", f"--max-count={limit}", "--format=%h %s", spec]
    if paths:
        args += ["--", *paths]
    return [line for line in git(root, *args, check=False).splitlines() if line]


@dataclass(frozen=True)
class UpstreamChange:
    """Files a change would edit that the target branch changed since the
    work tree's base: a pull request from here would conflict with them."""

    ref: str  # short name: origin/main or main
    paths: list[str]
    commits: list[str]  # "<sha> <subject>", newest first


def upstream_changes(root: Path, target: str, paths: list[str]) -> UpstreamChange | None:
    """Whether ``target`` (the branch pull requests go to) or its remote
    counterpart moved past HEAD's base and changed any of ``paths`` there,
    to content other than HEAD's. Only refs already fetched are read: this
    never touches the network."""
    head_sha = head(root)
    out = git(root, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(upstream)",
              f"refs/heads/{target}", f"refs/remotes/*/{target}", check=False)
    refs: dict[str, str] = {}
    upstream = None
    for line in out.splitlines():
        name, _, rest = line.partition("\0")
        sha, _, up = rest.partition("\0")
        refs[name] = sha
        if name == f"refs/heads/{target}" and up:
            upstream = up
    order = [r for r in (upstream, f"refs/remotes/origin/{target}") if r] + \
        sorted(r for r in refs if r.startswith("refs/remotes/")) + [f"refs/heads/{target}"]
    seen: set[str] = set()
    for ref in order:
        tip = refs.get(ref)
        if not tip or ref in seen or tip == head_sha:
            continue
        seen.add(ref)
        base = merge_base(root, head_sha, tip)
        if base is None or base == tip:
            continue  # unrelated history, or the target is behind HEAD: nothing new there
        touched = [p for p in git(root, "diff", "--name-only", base, tip, "--", *paths).splitlines() if p]
        moved = [p for p in touched if show(root, tip, p) != show(root, head_sha, p)]
        if moved:
            short = ref.removeprefix("refs/remotes/").removeprefix("refs/heads/")
            return UpstreamChange(short, moved, log_lines(root, f"{base}..{tip}", moved))
    return None


# --------------------------------------------------------------------------
# One command at a time per work tree


_GIT_DIRS: dict[str, Path] = {}  # work tree -> its git folder; a folder's git dir does not move


def state_dir(root: Path) -> Path:
    """Where Shipyard keeps per-clone state (the lock, the record of a change
    in progress): ``<git dir>/shipyard``, or a folder in the temporary
    directory named after the root when ``root`` is not a git work tree."""
    key = str(root.resolve())
    if key in _GIT_DIRS:
        return _GIT_DIRS[key] / "shipyard"
    try:
        out = run(root, "rev-parse", "--absolute-git-dir", timeout=60) if root.is_dir() else None
    except ShipyardError:
        out = None
    if out is not None and out.returncode == 0 and out.stdout.strip():
        _GIT_DIRS[key] = Path(out.stdout.strip())
        return _GIT_DIRS[key] / "shipyard"
    import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"shipyard-{digest}"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) the work-tree lock, as recorded in the lock file."""

    pid: int
    command: str
    started: str

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        return f"pid {self.pid} (`{self.command}`, started {self.started})"


def _parse_holder(text: str) -> Holder | None:
    try:
        data = json.loads(text)
        return Holder(int(data["pid"]), str(data.get("command", "?")), str(data.get("started", "?")))
    except (ValueError, KeyError, TypeError):
        return None


class WorkTreeLock:
    """Only one Shipyard command changes a work tree at a time.

    The lock is ``fcntl.flock`` on ``<git dir>/shipyard/lock``. The kernel
    drops it when the holder exits, however it exits (even SIGKILL), so a
    dead process never blocks the next one. The file records the holder's
    pid, command and start time, for the message a second command prints.
    A holder still recorded in a file nobody locks is a process that died
    while holding it: ``taken_over`` names it, so the caller can say so.
    """

    def __init__(self, root: Path, command: str) -> None:
        self.path = state_dir(root) / "lock"
        self.command = command
        self.taken_over: Holder | None = None
        self._fd: int | None = None

    def holder(self) -> Holder | None:
        try:
            return _parse_holder(self.path.read_text(encoding="utf-8"))
        except OSError:
            return None

    def _recorded_holder(self, patience: float = 1.0) -> Holder | None:
        """The holder's record; a holder that has just taken the lock writes
        it a moment later, so an empty record is read again for a little while."""
        deadline = time.monotonic() + patience
        while True:
            holder = self.holder()
            if holder is not None or time.monotonic() >= deadline:
                return holder
            time.sleep(0.02)

    def acquire(self, wait: float = 0.0, notify: Callable[[str], None] | None = None) -> None:
        """Take the lock, waiting up to ``wait`` seconds for a live holder;
        then fail with who holds it and what to do."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ShipyardError(f"cannot create the lock file {self.path}: {exc.strerror}",
                                hint="check the permissions of the repository's .git folder", check=BUSY) from None
        deadline = time.monotonic() + max(wait, 0.0)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise ShipyardError(f"cannot lock {self.path}: {exc.strerror}", check=BUSY) from None
            holder = self._recorded_holder()
            who = holder.describe() if holder else "a process that has not recorded itself yet"
            if time.monotonic() >= deadline:
                os.close(fd)
                pid = holder.pid if holder else None
                raise ShipyardError(
                    f"another shipyard command is changing this work tree: {who}",
                    hint="wait for it to finish and run again, or pass --wait SECONDS to queue behind it"
                    + (f"; if pid {pid} hangs, stop it (kill {pid}): its lock goes with it, and the next run "
                       "repairs whatever it left half-done" if pid else ""),
                    check=BUSY,
                )
            if notify is not None and not told:
                notify(f"waiting for {who} to finish")
                told = True
            time.sleep(0.05)
        previous = _parse_holder(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
        if previous is not None and previous.pid != os.getpid():
            self.taken_over = previous
        record = json.dumps({"pid": os.getpid(), "command": self.command,
                             "started": datetime.now(timezone.utc).replace(microsecond=0).isoformat()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        """Clear the record (a clean exit leaves nothing to take over) and unlock."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
