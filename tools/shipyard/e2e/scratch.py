"""A scratch copy of the repository, to change without touching the real one.

The canary check promotes a model in a copy: the working tree as it is (so
uncommitted manifests are what gets tested, as in the first half of the
suite), committed as the first commit of a fresh git repository on the same
branch, so commands that branch and commit (promote) work there as usual.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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


def scratch_copy(root: Path, dest: Path, *, branch: str = "main") -> Path:
    """Copy ``root``'s working tree to ``dest`` and commit it there."""
    if dest.exists() and any(dest.iterdir()):
        raise ShipyardError(f"{dest} exists and is not empty", hint="choose an empty folder", check="SY900")
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True, dirs_exist_ok=True)
    for args in (["init", "-q", "-b", branch], ["add", "-A"], ["commit", "-q", "-m", "scratch copy for e2e"]):
        proc = subprocess.run(["git", *args], cwd=dest, capture_output=True, text=True, env=git_env(), timeout=120)
        if proc.returncode != 0:
            raise ShipyardError(f"git {args[0]} in the scratch copy failed: {proc.stderr.strip()}", check="SY903")
    return dest
