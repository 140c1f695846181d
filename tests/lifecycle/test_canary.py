"""Canary: a second predictor with a share of the traffic (Seldon's traffic
split), adjusted, finished or aborted, each as its own commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

URI = {v: f"gs://models-example/iris/{v}" for v in ("1.0.0", "1.1.0", "1.2.0")}



def _to_staging(lc: LifecycleRepo) -> None:
    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-branch").code == 0
    assert lc.shipyard("promote", "iris", "--to", "staging", "--no-branch").code == 0


def test_canary_start_adjust_finish(lc: LifecycleRepo) -> None:
    _to_staging(lc)
    start = lc.shipyard("promote", "iris", "--to", "production", "--from", "staging", "--canary", "10")
    assert start.code == 0, start.err
    assert lc.branch == "canary/iris-production-1.1.0-10"
    # stable keeps 90% on model.yaml's 2 replicas; the canary takes 10% on canaryReplicas.production = 2
    assert lc.predictors("production") == [("default", URI["1.0.0"], 90, 2), ("canary", URI["1.1.0"], 10, 2)]
    sd = lc.rendered("production")["iris"]
    assert sd["metadata"]["labels"]["shipyard.dev/canary-version"] == "1.1.0"
    assert [p["labels"]["version"] for p in sd["spec"]["predictors"]] == ["1.0.0", "1.1.0"]
    assert "`spec.predictors[canary]`: added" in start.out

    status = json.loads(lc.shipyard("status", "iris", "--env", "production", "--format", "json").out)
    rows = {(r["cluster"], r["role"]): (r["version"], r["traffic"], r["replicas"]) for r in status["placements"]}
    assert rows == {("prod-eu", "stable"): ("1.0.0", 90, 2), ("prod-eu", "canary"): ("1.1.0", 10, 2),
                    ("prod-us", "stable"): ("1.0.0", 90, 2), ("prod-us", "canary"): ("1.1.0", 10, 2)}

    adjust = lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "50", "--no-branch")
    assert adjust.code == 0, adjust.err
    assert lc.predictors("production") == [("default", URI["1.0.0"], 50, 2), ("canary", URI["1.1.0"], 50, 2)]

    finish = lc.shipyard("rollout", "iris", "--env", "production", "--finish")
    assert finish.code == 0, finish.err
    assert lc.branch == "rollout/iris-production-1.1.0-finish"
    assert lc.predictors("production") == [("default", URI["1.1.0"], 100, 2)]
    pin = lc.pin("production")
    assert "canary" not in pin and "traffic" not in pin
    assert "shipyard.dev/canary-version" not in lc.rendered("production")["iris"]["metadata"]["labels"]


def test_canary_abort_restores_the_pin(lc: LifecycleRepo) -> None:
    _to_staging(lc)
    before = lc.pin("production")
    assert lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "20",
                       "--no-branch").code == 0
    assert len(lc.predictors("production")) == 2
    abort = lc.shipyard("rollout", "iris", "--env", "production", "--abort")
    assert abort.code == 0, abort.err
    assert lc.branch == "rollout/iris-production-1.1.0-abort"
    assert lc.pin("production") == before  # byte for byte
    assert lc.predictors("production") == [("default", URI["1.0.0"], 100, 2)]
    assert "Canary `1.1.0` (20% of traffic) is removed" in abort.out


def test_canary_replaces_a_running_canary(lc: LifecycleRepo) -> None:
    _to_staging(lc)
    # staging runs 1.1.0; dev never ran 1.2.0 or 1.0.0 at this point, hence --force
    assert lc.shipyard("promote", "iris", "--to", "staging", "--version", "1.2.0", "--canary", "10",
                       "--force", "--reason", "try 1.2.0 next to 1.1.0", "--no-branch").code == 0
    run = lc.shipyard("promote", "iris", "--to", "staging", "--version", "1.0.0", "--canary", "30",
                      "--force", "--reason", "compare with the old one", "--no-branch")
    assert run.code == 0, run.err
    assert "Replaces the running canary `1.2.0`" in run.out
    assert lc.predictors("staging") == [("default", URI["1.1.0"], 70, 1), ("canary", URI["1.0.0"], 30, 1)]
    assert lc.pin("staging").count("/canary") == 1
