"""dev -> staging -> production through the CLI, on a git clone of the
fixture: each step is a branch with one commit, edits only the pin, keeps
its comments, and renders the SeldonDeployment the pin promises."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

URI = {v: f"gs://models-example/iris/{v}" for v in ("1.0.0", "1.1.0", "1.2.0")}



def test_dev_to_staging_to_production(lc: LifecycleRepo, tmp_path) -> None:
    assert lc.predictors("production") == [("default", URI["1.0.0"], 100, 2)]

    dev = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert dev.code == 0, dev.err
    assert lc.branch == "promote/iris-dev-1.1.0"
    assert lc.git("show", "--name-only", "--format=%s", "HEAD").split() == \
        ["Promote", "iris", "1.1.0", "to", "dev", "overlays/dev/models/iris/kustomization.yaml"]
    assert lc.predictors("dev") == [("default", URI["1.1.0"], 100, 1)]
    assert lc.rendered("dev")["iris"]["metadata"]["labels"]["shipyard.dev/model-version"] == "1.1.0"
    assert lc.dirty() == []

    # without --version, staging takes what dev runs
    staging = lc.shipyard("promote", "iris", "--to", "staging")
    assert staging.code == 0, staging.err
    assert lc.predictors("staging") == [("default", URI["1.1.0"], 100, 1)]

    body, title = tmp_path / "body.md", tmp_path / "title.txt"
    prod = lc.shipyard("promote", "iris", "--to", "production", "--from", "staging",
                       "--pr-body", str(body), "--pr-title", str(title))
    assert prod.code == 0, prod.err
    assert lc.predictors("production") == [("default", URI["1.1.0"], 100, 2)]
    assert lc.branch == "promote/iris-production-1.1.0"
    assert title.read_text() == "Promote iris 1.1.0 to production\n"
    text = body.read_text()
    assert "| accuracy | 0.95 | 0.97 | >= 0.93 pass |" in text  # metrics old vs new, with the gate
    assert f"`spec.predictors[default].graph.modelUri`: `{URI['1.0.0']}` → `{URI['1.1.0']}`" in text
    assert "Clusters: prod-eu, prod-us" in text
    # three commits on top of the fixture, each touching one pin
    log = lc.git("log", "--format=%s", "main..HEAD").splitlines()
    assert log == ["Promote iris 1.1.0 to production", "Promote iris 1.1.0 to staging", "Promote iris 1.1.0 to dev"]
    # staging and production monitor the model; dev does not
    assert {o["kind"] for o in lc.objects("production")} == {"PodMonitor", "PrometheusRule", "SeldonDeployment"}
    assert {o["kind"] for o in lc.objects("dev")} == {"SeldonDeployment"}


def test_edit_keeps_comments_and_other_patches(lc: LifecycleRepo) -> None:
    pin = "overlays/dev/models/iris/kustomization.yaml"
    original = lc.read(pin)
    edited = original.replace(
        "- ../../../../models/iris/versions/1.0.0\n",
        "- ../../../../models/iris/versions/1.0.0   # pinned by the ML platform team\n",
    ).replace(
        "      value: 1\n",
        "      value: 1\n"
        "    # keep requests logged in dev\n"
        "    - op: add\n"
        "      path: /metadata/annotations\n"
        "      value: {seldon.io/logger: all}\n",
    )
    lc.write(pin, "# Owned by ml-platform.\n" + edited)
    lc.commit_all("hand edits")
    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0").code == 0
    after = lc.read(pin)
    assert after.startswith("# Owned by ml-platform.\n")
    assert "- ../../../../models/iris/versions/1.1.0   # pinned by the ML platform team\n" in after
    assert "# keep requests logged in dev" in after
    assert lc.rendered("dev")["iris"]["metadata"]["annotations"] == {"seldon.io/logger": "all"}
    diff = [line for line in lc.git("diff", "HEAD~1", "--unified=0", "--", pin).splitlines()
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert diff == ["-- ../../../../models/iris/versions/1.0.0   # pinned by the ML platform team",
                    "+- ../../../../models/iris/versions/1.1.0   # pinned by the ML platform team"]


def test_rerun_is_idempotent(lc: LifecycleRepo) -> None:
    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0").code == 0
    head = lc.head
    again = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert again.code == 0
    assert "already pinned" in again.out
    assert lc.head == head
    # from main, the branch made by the first run is recognised, not duplicated or clobbered
    lc.git("switch", "-q", "main")
    third = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0")
    assert third.code == 0, third.err
    assert "already prepared on branch promote/iris-dev-1.1.0" in third.out
    assert lc.branch == "main" and lc.dirty() == []
    assert lc.git("rev-parse", "promote/iris-dev-1.1.0").strip() == head


def test_first_promotion_of_a_model_to_an_environment(lc: LifecycleRepo) -> None:
    models = "overlays/staging/models/kustomization.yaml"
    assert "resnet" not in lc.read(models)
    run = lc.shipyard("promote", "resnet", "--to", "staging")  # dev runs it on CPU: no --force
    assert run.code == 0, run.err
    assert lc.read(models).endswith("- iris   # the reference model\n- resnet\n")  # sorted in, comment kept
    assert "../../../../models/resnet/deploy" in lc.pin("staging", "resnet")
    sd = lc.rendered("staging")["resnet"]
    assert sd["spec"]["predictors"][0]["graph"]["modelUri"] == "s3://vision-models/resnet/2026.10"
    assert sd["spec"]["predictors"][0]["replicas"] == 1
    assert set(lc.git("show", "--name-only", "--format=", "HEAD").split()) == {
        models, "overlays/staging/models/resnet/kustomization.yaml"}


def test_force_with_reason_is_recorded(lc: LifecycleRepo) -> None:
    run = lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0",
                      "--force", "--reason", "hotfix for incident 42")
    assert run.code == 0, run.err
    assert lc.predictors("production") == [("default", URI["1.1.0"], 100, 2)]
    assert "reason: hotfix for incident 42" in run.out
    assert "skipped: iris 1.1.0 is not running in staging (staging runs 1.0.0)" in lc.git("log", "-1", "--format=%B")


def test_no_commit_only_edits_files(lc: LifecycleRepo) -> None:
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-commit")
    assert run.code == 0, run.err
    assert lc.branch == "main"
    assert lc.dirty() == [" M overlays/dev/models/iris/kustomization.yaml"]
    assert lc.predictors("dev") == [("default", URI["1.1.0"], 100, 1)]


def test_json_output(lc: LifecycleRepo) -> None:
    import json

    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--format", "json")
    data = json.loads(run.out)
    assert data["title"] == "Promote iris 1.1.0 to dev"
    assert data["branch"] == "promote/iris-dev-1.1.0" and data["commit"] == lc.head
    assert data["changed"] == ["overlays/dev/models/iris/kustomization.yaml"]
    assert "## Rendered change" in data["body"]
