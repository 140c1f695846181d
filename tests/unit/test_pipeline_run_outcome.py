"""What `shipyard pipeline run` tells the terminal, without running kfp: the
line that says why a run failed, and the branch a run left the work tree on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shipyard.pipelines import WorkTreeState, branch_switch, failure_reason

CRASH = """\
Traceback (most recent call last):
  File "pipelines/kfp_tool.py", line 198, in run
    task = module.PIPELINE(**params)
kfp.dsl.types.type_utils.InconsistentTypeException: Incompatible argument passed to the input 'regularization'
"""


def test_kfp_tools_own_error_line_wins() -> None:
    log = "ValueError: inside the step\nerror: step 'preprocess' failed: ValueError: inside the step\n"
    assert failure_reason(log, 2) == "step 'preprocess' failed: ValueError: inside the step"


def test_a_crash_is_reported_by_its_exception_line_not_an_exit_code() -> None:
    reason = failure_reason(CRASH, 1)
    assert reason.startswith("kfp.dsl.types.type_utils.InconsistentTypeException: Incompatible argument")


def test_with_nothing_to_quote_the_exit_code_is_named() -> None:
    assert failure_reason("Killed\n", 137) == "kfp_tool exited with code 137"


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture()
def clone(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    return root


def test_a_new_branch_is_named_with_the_way_back(clone: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = WorkTreeState.of(clone)
    assert branch_switch(clone, before) is None
    git(clone, "switch", "-q", "-c", "register/iris-1.1.0")
    switched = branch_switch(clone, before)
    assert switched is not None
    note = switched.note()
    assert note.startswith(f"note: the run left the work tree {clone} on branch register/iris-1.1.0")
    assert f"to go back: git -C {clone} switch main" in note
    monkeypatch.chdir(clone)
    assert switched.note().endswith("to go back: git switch main")


def test_from_a_detached_head_the_way_back_is_the_commit(clone: Path) -> None:
    sha = git(clone, "rev-parse", "HEAD").strip()
    git(clone, "switch", "-q", "--detach", sha)
    before = WorkTreeState.of(clone)
    git(clone, "switch", "-q", "-c", "register/iris-1.2.0")
    switched = branch_switch(clone, before)
    assert switched is not None
    assert f"it was on detached at {sha}" in switched.note()
    assert switched.note().endswith(f"git -C {clone} switch --detach {sha}")


def test_not_a_git_work_tree_says_nothing(tmp_path: Path) -> None:
    before = WorkTreeState.of(tmp_path)
    assert branch_switch(tmp_path, before) is None
