"""Conflicts with a branch: the promotion branch already exists with other
content, or the target branch moved and changed the same pin upstream.
Each is refused before anything is written (exit 2, SY906), says what
collides and what to do; following the advice works."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

DEV_PIN = "overlays/dev/models/iris/kustomization.yaml"
PROMOTE_DEV = ["promote", "iris", "--to", "dev", "--version", "1.1.0"]


def state(lc: LifecycleRepo) -> tuple:
    return (lc.head, lc.branch, lc.branches(), lc.dirty(), lc.pin("dev"), lc.pin("staging"))


def test_promotion_branch_made_from_an_older_base(lc: LifecycleRepo) -> None:
    assert lc.shipyard(*PROMOTE_DEV).code == 0
    made = lc.git("log", "-1", "--format=%h %s").strip()
    lc.git("switch", "-q", "main")
    lc.write(DEV_PIN, "# dev runs one replica; ask #ml-platform before changing it\n" + lc.pin("dev"))
    lc.commit_all("document the dev pin")
    edit = lc.git("log", "-1", "--format=%h %s").strip()
    before = state(lc)

    run = lc.shipyard(*PROMOTE_DEV)
    assert run.code == 2
    assert (f"error [SY906]: branch promote/iris-dev-1.1.0 already exists with other content: {DEV_PIN} there "
            f"differs from this change; it was made from an older main: {DEV_PIN} changed on main since "
            f"(latest: {edit}); its commits: {made}") in run.err
    assert "hint: if promote/iris-dev-1.1.0 is an outdated run of this command, delete it and run again " \
           "(git branch -D promote/iris-dev-1.1.0)" in run.err
    assert state(lc) == before

    lc.git("branch", "-D", "promote/iris-dev-1.1.0")  # follow the hint
    again = lc.shipyard(*PROMOTE_DEV)
    assert again.code == 0, again.err
    assert lc.pin("dev").startswith("# dev runs one replica")  # the newer main is kept
    assert lc.predictors("dev") == [("default", "gs://models-example/iris/1.1.0", 100, 1)]


def test_branch_with_an_unrelated_commit(lc: LifecycleRepo) -> None:
    lc.git("switch", "-q", "-c", "promote/iris-dev-1.1.0")
    lc.write("notes.md", "someone else's work\n")
    lc.commit_all("unrelated work")
    lc.git("switch", "-q", "main")
    before = state(lc)
    run = lc.shipyard(*PROMOTE_DEV)
    assert run.code == 2
    assert f"{DEV_PIN} there differs from this change; its commits: " in run.err
    assert "unrelated work" in run.err and "older main" not in run.err
    assert state(lc) == before
    custom = lc.shipyard(*PROMOTE_DEV, "--branch", "promote/iris-dev-1.1.0-b")  # the other way out
    assert custom.code == 0, custom.err
    assert lc.branch == "promote/iris-dev-1.1.0-b"


@pytest.fixture
def clone(lc: LifecycleRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> LifecycleRepo:
    """A second work tree cloned from the first: `lc` plays the remote
    (origin), the clone is where promotions are made."""
    root = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(lc.root), str(root)], check=True, capture_output=True)
    return type(lc)(root, capsys)


def test_target_branch_moved_and_changed_the_pin(lc: LifecycleRepo, clone: LifecycleRepo) -> None:
    # upstream, someone else's change to the staging pin does not stand in the way of a dev promotion
    lc.write("overlays/staging/models/iris/kustomization.yaml", "# staging\n" + lc.pin("staging"))
    lc.commit_all("comment the staging pin")
    # ... but a change to the dev pin does
    lc.write(DEV_PIN, lc.pin("dev").replace("      value: 1\n", "      value: 1   # one is enough in dev\n"))
    lc.commit_all("explain dev replicas")
    upstream = lc.git("log", "-1", "--format=%h %s").strip()
    clone.git("fetch", "-q")
    before = state(clone)

    run = clone.shipyard(*PROMOTE_DEV)
    assert run.code == 2
    assert (f"error [SY906]: {DEV_PIN} changed on origin/main since this work tree's base ({upstream}): "
            "a pull request made from here would conflict with that change or undo it") in run.err
    assert "hint: bring the work tree up to date first (git pull --rebase, or git rebase origin/main)" in run.err
    assert state(clone) == before

    clone.git("pull", "-q", "--rebase")  # follow the hint
    again = clone.shipyard(*PROMOTE_DEV)
    assert again.code == 0, again.err
    assert "value: 1   # one is enough in dev" in clone.pin("dev")
    assert clone.predictors("dev") == [("default", "gs://models-example/iris/1.1.0", 100, 1)]


def test_local_target_branch_moved_under_a_stacked_branch(lc: LifecycleRepo) -> None:
    """Promotions stack (staging is prepared on top of dev's branch). When
    main meanwhile changes the staging pin, the stacked change is refused."""
    assert lc.shipyard(*PROMOTE_DEV).code == 0
    lc.git("switch", "-q", "main")
    staging = "overlays/staging/models/iris/kustomization.yaml"
    lc.write(staging, "# hand-tuned\n" + lc.pin("staging"))
    lc.commit_all("tune staging")
    lc.git("switch", "-q", "promote/iris-dev-1.1.0")
    before = state(lc)
    run = lc.shipyard("promote", "iris", "--to", "staging")
    assert run.code == 2
    assert f"{staging} changed on main since this work tree's base" in run.err and "tune staging" in run.err
    assert state(lc) == before


def test_not_fetched_is_not_seen(lc: LifecycleRepo, clone: LifecycleRepo) -> None:
    """Only fetched refs are compared (no network): an upstream change not
    yet fetched cannot be known, and the promotion goes ahead."""
    lc.write(DEV_PIN, "# upstream\n" + lc.pin("dev"))
    lc.commit_all("upstream edit")
    run = clone.shipyard(*PROMOTE_DEV)
    assert run.code == 0, run.err
