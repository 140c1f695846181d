"""The record of a change in progress, written before its first edit: each
file's text before and after, the folders it creates, the branch it makes
and the commit it starts from. A run killed at any point leaves it; the next
command reads it and puts things back (`recover`), touching nothing that
changed since."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from shipyard import files, git
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.yaml_edit import read_or_none
from shipyard.repo import Repository

JOURNAL = "journal.json"
_TEMP = re.compile(r"^\.(?P<name>.+)\.\d+\..+\.tmp$")  # atomic_write's temporary files


def journal_path(repo: Repository) -> Path:
    return git.state_dir(repo.root) / JOURNAL


def _missing_folders(paths: list[Path]) -> list[Path]:
    missing: list[Path] = []
    for path in paths:
        parent = path.parent
        chain = []
        while not parent.exists():
            chain.append(parent)
            parent = parent.parent
        missing.extend(f for f in reversed(chain) if f not in missing)
    return missing


def begin_journal(repo: Repository, plan: Plan, changed: dict[Path, str], *, command: str, commit: bool,
                   head: str | None, origin: str | None, branch: str | None) -> Path:
    """Record, before the first change, everything needed to undo it: each
    file's text before and after, the folders it creates, the branch it
    makes and the commit it starts from. A run killed at any point leaves
    this record; the next command reads it (`recover`)."""
    path = journal_path(repo)
    data = {
        "pid": os.getpid(),
        "command": command,
        "started": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "title": plan.title,
        "commit": commit,
        "head": head,
        "origin": origin,
        "branch": branch,
        "files": [{"path": repo.rel(p), "before": read_or_none(p), "after": t} for p, t in changed.items()],
        "folders": [repo.rel(f) for f in _missing_folders(list(changed))],
    }
    files.atomic_write(path, json.dumps(data, indent=1) + "\n")
    return path


def end_journal(path: Path) -> None:
    path.unlink(missing_ok=True)
    files.fsync_dir(path.parent)


def _remove_temp_files(repo: Repository, rels: list[str]) -> None:
    """Temporary files of atomic writes a killed process left next to the
    files it changed (the lock is held, so no live process owns them)."""
    for rel in rels:
        path = repo.root / rel
        if not path.parent.is_dir():
            continue
        for candidate in path.parent.iterdir():
            match = _TEMP.match(candidate.name)
            if match and match.group("name") == path.name:
                candidate.unlink(missing_ok=True)


def recover(repo: Repository) -> list[str]:
    """Repair what a killed command left, from its journal: before anything
    else, a new command puts the files, the index and the branch back as
    they were before the interrupted one started (or, when that one got as
    far as its commit, just drops the record). Returns what was done, for
    the user; refuses, touching nothing, when a file was edited since."""
    path = journal_path(repo)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        recorded = [(str(f["path"]), f["before"], str(f["after"])) for f in data["files"]]
        who = f"an interrupted `{data['command']}` (pid {data['pid']}, started {data['started']})"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShipyardError(f"{path}: the record of an interrupted change cannot be read ({exc})",
                            hint=f"check `git status` and `git branch`, put things back by hand, then delete {path}",
                            check=git.BUSY) from None
    root = repo.root
    rels = [rel for rel, _, _ in recorded]
    head = data.get("head")
    now = git.head(root) if head else None
    _remove_temp_files(repo, rels)
    if head and now is not None and now != head:
        # HEAD moved: the interrupted run made its commit, or someone has moved on by hand since
        end_journal(path)
        if not data.get("commit"):
            left = [rel for rel, _before, after in recorded if read_or_none(root / rel) == after]
            return [f"{who} was stopped half-way, and HEAD has moved since ({head[:12]} -> {now[:12]}): its files "
                    "were left as they are" + (f" ({', '.join(left)} as it wrote them)" if left else "")
                    + "; record dropped, check `git status`"]
        done = all(git.show(root, "HEAD", rel) == after for rel, _, after in recorded)
        if done:
            return [f"{who} had committed its change ({now[:12]}); nothing to repair"]
        return [f"{who} left a record, but HEAD has moved since ({head[:12]} -> {now[:12]}); record dropped, "
                "check `git status`"]
    edited = [rel for rel, before, after in recorded if read_or_none(root / rel) not in (before, after)]
    if edited:
        steps = ["keep or undo those edits yourself (`git status`, `git restore`)"]
        if data.get("branch") and git.rev(root, f"refs/heads/{data['branch']}") == head:
            steps.append(f"switch back to {data.get('origin')} and delete its empty branch "
                         f"(git branch -D {data['branch']})")
        steps.append(f"then delete {path} and run again")
        raise ShipyardError(
            f"{who} was stopped half-way, and {', '.join(edited)} changed since; nothing was touched",
            hint=", ".join(steps), check=git.BUSY)
    if head and not data.get("commit"):
        staged = [rel for rel, before, after in recorded
                  if after != before and read_or_none(root / rel) == after and git.show(root, "", rel) == after
                  and git.show(root, "HEAD", rel) != after]
        if staged:
            raise ShipyardError(
                f"{who} was stopped half-way, and {', '.join(staged)} as it wrote {'it' if len(staged) == 1 else 'them'} "
                "is staged (git add) since: it may be kept on purpose, so nothing was touched",
                hint=f"commit or unstage {'it' if len(staged) == 1 else 'them'} (git restore --staged), "
                     f"then delete {path} and run again", check=git.BUSY)
    if data.get("commit"):
        git.git(root, "reset", "--quiet", "--", *rels, what="unstaging the interrupted change")
    restored = 0
    for rel, before, _after in recorded:
        target = root / rel
        if before is None:
            if target.exists():
                target.unlink()
                restored += 1
        elif read_or_none(target) != before:
            files.atomic_write(target, before)
            restored += 1
    for rel in reversed(data.get("folders") or []):
        try:
            (root / rel).rmdir()
        except OSError:
            pass
    notes = [f"{who} was stopped half-way: put back {restored} file(s)" if restored
             else f"{who} was stopped before it changed any file"]
    branch, origin = data.get("branch"), data.get("origin")
    if branch and head and git.rev(root, f"refs/heads/{branch}") == head:
        if git.current_branch(root) == branch:
            git.abandon_branch(root, branch, origin)
        else:
            git.delete_branch(root, branch)
        notes.append(f"removed its branch {branch}, back on {git.current_branch(root) or origin}")
    end_journal(path)
    return notes
