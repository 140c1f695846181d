"""Rollback finds the previous pin in git history and returns to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

URI = {v: f"gs://models-example/iris/{v}" for v in ("1.0.0", "1.1.0", "1.2.0")}



def test_rollback_returns_to_the_previous_version(lc: LifecycleRepo) -> None:
    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-branch").code == 0
    first = lc.head
    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.2.0", "--no-branch").code == 0
    assert lc.predictors("dev") == [("default", URI["1.2.0"], 100, 1)]

    back = lc.shipyard("rollback", "iris", "--env", "dev")
    assert back.code == 0, back.err
    assert lc.branch == "rollback/iris-dev-1.1.0"
    assert lc.predictors("dev") == [("default", URI["1.1.0"], 100, 1)]
    assert lc.git("log", "-1", "--format=%s") == "Roll back iris in dev from 1.2.0 to 1.1.0\n"
    assert f"Previous pin: commit `{first[:12]}`" in back.out
    # the rolled-back file is exactly the one committed back then
    assert lc.pin("dev") == lc.git("show", f"{first}:overlays/dev/models/iris/kustomization.yaml")


def test_rollback_after_a_finished_canary(lc: LifecycleRepo) -> None:
    lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "10",
                "--force", "--reason", "test", "--no-branch")
    lc.shipyard("rollout", "iris", "--env", "production", "--finish", "--no-branch")
    assert lc.predictors("production") == [("default", URI["1.1.0"], 100, 2)]
    assert lc.shipyard("rollback", "iris", "--env", "production", "--no-branch").code == 0
    assert lc.predictors("production") == [("default", URI["1.0.0"], 100, 2)]
