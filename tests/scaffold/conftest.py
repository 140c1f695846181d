"""Repositories to scaffold in: the lifecycle fixture (small, no rendering
beyond a kustomize build) per test, and a copy of this repository itself
per module, where the real `shipyard validate` has to stay clean. Both are
git repositories with one commit, driven through the `shipyard` CLI
in-process."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from shipyard.cli import main

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
LIFECYCLE_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "repos" / "lifecycle"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    # no user.email to fall back on: `new model` must be told --owner
    "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
}
UNTRACKED_STATE = (".git", ".shipyard-cache")


@dataclass
class Run:
    code: int
    out: str
    err: str


class ScaffoldRepo:
    """A git repository to run shipyard in, and ways to look at it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def shipyard(self, *args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--repo", str(self.root)])
        return Run(code, out.getvalue(), err.getvalue())

    def validate(self, *paths: str) -> Run:
        return self.shipyard("validate", *(str(self.root / p) for p in paths))

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True).stdout

    def commit_all(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    @property
    def branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def branches(self) -> set[str]:
        return set(self.git("branch", "--format=%(refname:short)").split())

    def dirty(self) -> list[str]:
        return [line for line in self.git("status", "--porcelain", "--untracked-files=all").splitlines() if line]

    def tree(self) -> dict[str, bytes]:
        """Every file of the work tree (outside git's and the render cache's
        folders) and its bytes: what "nothing changed" is compared with."""
        files = {}
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if rel.parts[0] in UNTRACKED_STATE or not path.is_file():
                continue
            files[rel.as_posix()] = path.read_bytes()
        return files


def _init_git(repo: ScaffoldRepo) -> None:
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("fixture")


@pytest.fixture
def lc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScaffoldRepo:
    """The lifecycle fixture repository, cloned for one test."""
    root = tmp_path / "repo"
    shutil.copytree(LIFECYCLE_FIXTURE, root)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    repo = ScaffoldRepo(root)
    _init_git(repo)
    return repo


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


@pytest.fixture(scope="module")
def this_repo(tmp_path_factory: pytest.TempPathFactory, mirror_dir: Path) -> Iterator[ScaffoldRepo]:
    """This repository's tracked files, as the work tree has them, in a new
    git repository of one commit: the real manifests, charts and models a
    fork starts from. Its render cache is this repository's (renders are
    keyed by content), so only what a test changes is rendered again."""
    root = tmp_path_factory.mktemp("shipyard") / "repo"
    for rel in _tracked_files():
        source = REPO_ROOT / rel
        if not source.is_file():
            continue  # deleted in the work tree
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    cache = REPO_ROOT / ".shipyard-cache"
    cache.mkdir(exist_ok=True)
    (root / ".shipyard-cache").symlink_to(cache, target_is_directory=True)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in GIT_ENV.items():
            patch.setenv(key, value)
        repo = ScaffoldRepo(root)
        _init_git(repo)
        yield repo

