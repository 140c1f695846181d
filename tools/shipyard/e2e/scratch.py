"""A scratch copy of the repository, to change without touching the real one.

The canary check promotes a model in a copy: the working tree as it is (so
uncommitted manifests are what gets tested, as in the first half of the
suite), committed as the first commit of a fresh git repository on the same
branch, so commands that branch and commit (promote) work there as usual.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from shipyard import git
from shipyard.errors import ShipyardError

# Local state that is not part of the repository: environments, caches.
IGNORED = (".git", ".venv", ".venv-*", ".shipyard-cache", ".pytest_cache", ".pytest-kind", "__pycache__",
           "*.egg-info", "node_modules")

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "shipyard e2e", "GIT_AUTHOR_EMAIL": "e2e@shipyard.invalid",
    "GIT_COMMITTER_NAME": "shipyard e2e", "GIT_COMMITTER_EMAIL": "e2e@shipyard.invalid",
}


def git_env() -> dict[str, str]:
    return {**os.environ, **GIT_IDENTITY}


CACHE = ".shipyard-cache"


def scratch_copy(root: Path, dest: Path, *, branch: str = "main", share_cache: bool = True) -> Path:
    """Copy ``root``'s working tree to ``dest`` and commit it there. The
    render cache is shared (a symlink, untracked): its keys are content
    hashes, so the copy re-renders only what it changed."""
    if dest.exists() and any(dest.iterdir()):
        raise ShipyardError(f"{dest} exists and is not empty", hint="choose an empty folder", check="SY900")
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True, dirs_exist_ok=True)
    if share_cache and (root / CACHE).is_dir():
        (dest / CACHE).symlink_to((root / CACHE).resolve(), target_is_directory=True)
    _git(dest, "init", "-q", "-b", branch)
    exclude = dest / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text(f"/{CACHE}\n", encoding="utf-8")  # whatever the copied .gitignore says
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "scratch copy for e2e")
    return dest


def _git(cwd: Path, *args: str) -> None:
    git.git(cwd, *args, env=git_env(), what=f"git {args[0]} in the scratch copy")
