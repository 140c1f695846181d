"""Git refs that do not exist, look like options, or have no repository.

`shipyard diff --base/--head REF` and `shipyard validate --changed-since REF`
read the history with the real git.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

HINT = "list refs with `git branch -a` and `git tag`"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args], cwd=root,
                          check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture()
def history(corpus: Path) -> Path:
    """The corpus as a git repository with one commit."""
    git(corpus, "init", "-q", "-b", "main")
    git(corpus, "add", "-A")
    git(corpus, "commit", "-q", "-m", "corpus")
    return corpus


@pytest.mark.parametrize(("argv", "option", "ref"), [
    (["diff", "--base", "nope"], "--base", "nope"),
    (["diff", "--base", "HEAD", "--head", "nope"], "--head", "nope"),
    (["diff", "--base", "HEAD~1"], "--base", "HEAD~1"),
    (["validate", "--changed-since", "nope"], "--changed-since", "nope"),
    (["validate", "--changed-since", "origin/main"], "--changed-since", "origin/main"),
])
def test_a_ref_that_does_not_exist(history: Path, shipyard, argv: list[str], option: str, ref: str) -> None:
    error = shipyard(*argv).error
    assert error["check"] == "SY904"
    assert error["message"] == f"{option} {ref!r}: no branch, tag or commit of that name in this repository"
    assert HINT in error["hint"] and "fetch-depth: 0" in error["hint"]
    worktrees = git(history, "worktree", "list").strip().splitlines()
    assert len(worktrees) == 1  # the base's temporary worktree is gone too


@pytest.mark.parametrize(("argv", "option", "ref"), [
    (["diff", "--base=--output=written.txt"], "--base", "--output=written.txt"),
    (["validate", "--changed-since=-p"], "--changed-since", "-p"),
    (["diff", "--base", "main branch"], "--base", "main branch"),
])
def test_a_ref_that_is_not_a_ref_never_reaches_git(history: Path, shipyard, argv: list[str], option: str,
                                                   ref: str) -> None:
    error = shipyard(*argv).error
    assert error["check"] == "SY904"
    assert error["message"] == f"{option} {ref!r} is not a git ref"
    assert not (history / "written.txt").exists()


def test_no_git_repository(corpus: Path, shipyard) -> None:
    for argv, option in ((["diff", "--base", "HEAD"], "diff"), (["validate", "--changed-since", "HEAD"], "--changed-since")):
        error = shipyard(*argv).error
        assert error["check"] == "SY904"
        assert error["message"] == f"{corpus} is not in a git repository, so {option} has no history to compare with"


def test_an_existing_ref_works(history: Path, shipyard) -> None:
    """The same commands with a ref that exists: the errors above are the refs."""
    assert shipyard("diff", "--base", "HEAD").code == 0
    assert shipyard("validate", "--changed-since", "main").code == 0


def test_git_not_installed(history: Path, shipyard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for argv in (["diff", "--base", "HEAD"], ["validate", "--changed-since", "HEAD"]):
        error = shipyard(*argv).error
        assert (error["check"], error["message"]) == ("SY901", "git is not installed")
