"""Git plumbing for changes made as pull requests: work-tree state, branches,
commits and a file's history.

Every call runs the real `git` in the repository root and turns a failure
into a ShipyardError that says what to do, never a traceback. Nothing here
pushes: publishing a branch is the caller's job (the promotion workflow, or
a person).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError, ToolMissing


@dataclass(frozen=True)
class Revision:
    """A commit that touched a file, and the file's text there (None when
    the commit deleted it)."""

    commit: str
    subject: str
    text: str | None


def git(root: Path, *args: str, check: bool = True, what: str | None = None) -> str:
    """Run git in ``root`` and return stdout."""
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    if not root.is_dir():
        raise ShipyardError(f"{root}: no such folder", check="SY900")
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, timeout=120)
    except FileNotFoundError:
        raise ToolMissing("git is not installed", hint="install git", check="SY901") from None
    except subprocess.TimeoutExpired:
        raise ShipyardError(f"git {args[0]} timed out", check="SY903") from None
    if check and proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        hint = None
        if "Please tell me who you are" in message or "empty ident" in message:
            hint = "set an identity: git config user.name NAME && git config user.email EMAIL"
        raise ShipyardError(f"{what or 'git ' + args[0]} failed: {message}", hint=hint, check="SY903")
    return proc.stdout


def require_repository(root: Path) -> None:
    out = git(root, "rev-parse", "--is-inside-work-tree", check=False).strip()
    if out != "true":
        raise ShipyardError(f"{root} is not a git work tree", hint="run inside a clone of the repository", check="SY900")


def dirty_paths(root: Path) -> list[str]:
    """Changed, staged and untracked (not ignored) paths."""
    try:
        out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    except ShipyardError as exc:
        if "not a git repository" in exc.message:
            raise ShipyardError(f"{root} is not a git work tree", hint="run inside a clone of the repository",
                                check="SY900") from None
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
            check="SY900",
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


def show(root: Path, rev: str, path: str) -> str | None:
    """The text of ``path`` at ``rev``, or None when it does not exist there."""
    proc = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True)
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
