"""The kind suite deploys only the models whose artifact a kind cluster can fetch.

Hermetic: the real plan of clusters/kind-e2e (rendered from this
repository), with shipyard.e2e.artifacts deciding per SeldonDeployment as
the storage initializer would. tabular-xgb is pinned at the private example
store (s3://shipyard-models), which a kind cluster has no credentials
for: it is left out, and named with the reason. iris is Seldon's public
gs:// artifact: the probe is asked about it (here a probe that says yes;
the real one lists it with rclone, anonymously). The Secret both models'
storage initializers read (model-store-credentials) is never in git: the
kind plan gets an empty stand-in before the first model that reads it.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from shipyard.e2e.artifacts import deployable, kind_plan, rclone_probe, unreachable_models
from shipyard.e2e.plan import plan_for
from shipyard.repo import Repository

REPO_ROOT = Path(__file__).resolve().parents[2]
SDEP = ("machinelearning.seldon.io", "SeldonDeployment")


def test_the_kind_plan_leaves_out_the_model_it_cannot_fetch(mirror_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    repo = Repository.load(REPO_ROOT)
    full = plan_for(repo, "kind-e2e")
    assert {o.name for o in full.ordered_objects() if (o.group, o.kind) == SDEP} >= {"iris", "tabular-xgb"}
    asked: list[str] = []

    def probe(uri: str) -> str | None:
        asked.append(uri)
        return None

    def real_for_s3(uri: str) -> str | None:
        asked.append(uri)
        return rclone_probe()(uri) if uri.startswith("s3://") else None

    plan, gone = kind_plan(repo, "kind-e2e", None, real_for_s3, tmp_path)
    assert sorted(asked) == ["gs://seldon-models/v1.17.0-dev/sklearn/iris", "s3://shipyard-models/tabular-xgb/1.0.1"]
    assert [(u.obj.name, u.uri) for u in gone] == [("tabular-xgb", "s3://shipyard-models/tabular-xgb/1.0.1")]
    assert "no s3 remote without a Secret that configures one" in gone[0].reason
    objects = plan.ordered_objects()
    assert [o.name for o in objects if (o.group, o.kind) == SDEP] == ["iris"]
    (stand_in,) = [o for o in objects if o.kind == "Secret" and o.name == "model-store-credentials"]
    assert stand_in.namespace == "models" and "data" not in stand_in.body and "stringData" not in stand_in.body
    iris = next(i for i, o in enumerate(objects) if (o.group, o.kind) == SDEP)
    assert objects.index(stand_in) == iris - 1  # in the model's step, just before it
    assert len(objects) == len(full.ordered_objects())  # one model out, one Secret in
    assert any(s.obj.name == "tabular-xgb" and "not deployed on kind" in s.reason for s in plan.skipped)
    said = (tmp_path / "models-not-deployed.txt").read_text()
    assert said.startswith("not deployed on kind: models/tabular-xgb: s3://shipyard-models/tabular-xgb/1.0.1: ")
    assert said in capsys.readouterr().out


def test_the_rclone_probe_answers_as_the_initializer_would() -> None:
    probe = rclone_probe()
    assert "no s3 remote without a Secret" in str(probe("s3://shipyard-models/tabular-xgb/1.0.1"))
    assert "cannot fetch a file URI" in str(probe("file:///srv/models/x/1.0.0"))
    assert probe("https://example.com/model.tar.gz") is None  # left to the cluster
    # real rclone, anonymous gs: a bucket that does not exist is unreachable,
    # with or without a network, and answers within the probe's timeouts
    started = time.monotonic()
    missing = f"gs://shipyard-no-such-bucket-{uuid.uuid4().hex[:12]}/model"
    reason = probe(missing)
    assert reason is not None and reason.startswith("rclone without credentials")
    assert time.monotonic() - started < 90
    assert probe(missing) == reason  # cached: asked once per URI


def test_every_model_reachable_keeps_every_model(mirror_dir: Path) -> None:
    plan = plan_for(Repository.load(REPO_ROOT), "kind-e2e")
    assert unreachable_models(plan, lambda uri: None) == []
    kept, gone = deployable(plan, lambda uri: None)
    assert gone == [] and kept.skipped == plan.skipped
    names = [o.name for o in kept.ordered_objects() if (o.group, o.kind) == SDEP]
    assert names == [o.name for o in plan.ordered_objects() if (o.group, o.kind) == SDEP]
    assert [o.name for o in kept.ordered_objects() if o.kind == "Secret"].count("model-store-credentials") == 1
