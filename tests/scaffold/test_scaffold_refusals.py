"""Bad input to `init`, `new cluster` and `new model`: each is refused with
exit 2, one clear message and no traceback, and the work tree, the branches
and HEAD are exactly as they were. --dry-run writes nothing either."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import yaml

if TYPE_CHECKING:
    from conftest import ScaffoldRepo


def _refused(repo: ScaffoldRepo, args: list[str], *expected: str) -> str:
    tree, head, branches = repo.tree(), repo.head, repo.branches()
    run = repo.shipyard(*args)
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err and "internal error" not in run.err
    for text in expected:
        assert text in run.err, run.err
    assert repo.tree() == tree and repo.head == head and repo.branches() == branches
    return run.err


MODEL = ["new", "model"]
OWNER = ["--owner", "ml@example.com"]


@pytest.mark.parametrize(("args", "expected"), [
    (MODEL + ["iris", "--server", "SKLEARN_SERVER", *OWNER], ("models/iris already exists", "never overwrites")),
    (MODEL + ["Iris_2", "--server", "SKLEARN_SERVER", *OWNER], ("not a DNS-1123 label",)),
    (MODEL + ["a" * 64, "--server", "SKLEARN_SERVER", *OWNER], ("not a DNS-1123 label",)),
    (MODEL + ["m", "--server", "PYTORCH_SERVER", *OWNER], ("not a prepackaged server", "SKLEARN_SERVER")),
    (MODEL + ["m", "--server", "MLSERVER", *OWNER], ("--server SKLEARN_SERVER --protocol v2",)),
    (MODEL + ["m", "--server", "TRITON_SERVER", "--protocol", "seldon", *OWNER], ("--protocol",)),
    (MODEL + ["m", "--server", "SKLEARN_SERVER", "--protocol", "grpc", *OWNER], ("not a protocol",)),
    (MODEL + ["m", "--image", "registry.example.com/m:latest", *OWNER], ("--image", "latest")),
    (MODEL + ["m", "--image", "registry.example.com/m", *OWNER], ("--image", "no tag")),
    (MODEL + ["m", "--server", "SKLEARN_SERVER"], ("--owner",)),  # no git user.email to fall back on
    (MODEL + ["m", "--server", "SKLEARN_SERVER", "--image", "r/m:1", *OWNER], ("not allowed with",)),
    (MODEL + ["m", *OWNER], ("one of the arguments --server --image is required",)),
    (MODEL + ["m", "--server", "SKLEARN_SERVER", "--gpus", "-1", *OWNER], ("--gpus",)),
    (["new", "cluster", "prod-eu", "--environment", "production"], ("clusters/prod-eu already exists",)),
    (["new", "cluster", "edge", "--environment", "qa"], ("unknown environment 'qa'", "dev, staging, production")),
    (["new", "cluster", "edge.1", "--environment", "dev"], ("not a DNS-1123 label",)),
    (["new", "cluster", "edge", "--environment", "dev", "--engines", "argocd,jenkins"], ("unknown engine 'jenkins'",)),
    (["new", "cluster", "edge", "--environment", "dev", "--kubernetes-version", "latest"], ("--kubernetes-version",)),
    # the fixture's environments carry no charts/ for the entry points to deploy
    (["new", "cluster", "edge", "--environment", "dev"], ("overlays/dev/charts/argocd",)),
    (["new"], ("WHAT",)),
    (["init", "--repo-url", "git@github.com:acme/shipyard.git"], ("scp-like", "ssh://git@github.com/acme/shipyard.git")),
    (["init", "--repo-url", "ftp://example.org/shipyard.git"], ("https://, http:// or ssh://",)),
    (["init", "--repo-url", "https://github.com"], ("https://, http:// or ssh://",)),
    (["init", "--repo-url", "https://bot:s3cret@github.com/acme/shipyard.git"], ("password",)),
    (["init", "--repo-url", "https://github.com/acme/shipyard.git", "--branch", "bad..name"], ("not a valid branch name",)),
])
def test_bad_input_is_refused_and_changes_nothing(lc: ScaffoldRepo, args: list[str], expected: tuple[str, ...]) -> None:
    _refused(lc, args, *expected)


def test_anything_in_the_way_is_never_overwritten(lc: ScaffoldRepo) -> None:
    lc.write("models/churn/NOTES.md", "an earlier attempt\n")  # a folder that is not a model yet
    lc.write("clusters/edge", "a file where the folder would go\n")
    _refused(lc, MODEL + ["churn", "--server", "SKLEARN_SERVER", *OWNER], "models/churn already exists")
    _refused(lc, ["new", "cluster", "edge", "--environment", "dev"], "clusters/edge already exists")
    assert lc.read("models/churn/NOTES.md") == "an earlier attempt\n"


def test_init_refuses_a_dirty_work_tree(lc: ScaffoldRepo) -> None:
    lc.write("overlays/dev/extra.yaml", "a: 1\n")
    _refused(lc, ["init", "--repo-url", "https://github.com/acme/shipyard.git"], "uncommitted changes")


def test_new_model_dry_run_prints_the_files_and_writes_nothing(lc: ScaffoldRepo) -> None:
    tree = lc.tree()
    run = lc.shipyard(*MODEL, "churn", "--server", "SKLEARN_SERVER", *OWNER, "--dry-run")
    assert run.code == 0, run.err
    assert lc.tree() == tree and lc.dirty() == []
    for rel in ("model.yaml", "deploy/kustomization.yaml", "deploy/seldondeployment.yaml",
                "monitoring/kustomization.yaml", "monitoring/podmonitor.yaml", "monitoring/prometheusrule.yaml",
                "monitoring/tests/alerts.yaml"):
        assert f"=== models/churn/{rel} (new file)" in run.out
    assert "implementation: SKLEARN_SERVER" in run.out and "nothing was written" in run.out

    as_json = lc.shipyard(*MODEL, "churn", "--server", "SKLEARN_SERVER", *OWNER, "--dry-run", "--format", "json")
    assert as_json.code == 0 and lc.tree() == tree
    files = yaml.safe_load(as_json.out)["files"]
    assert yaml.safe_load(files["models/churn/model.yaml"])["spec"]["versions"] == []


def test_init_dry_run_shows_the_diff_and_writes_nothing(lc: ScaffoldRepo) -> None:
    tree, branches = lc.tree(), lc.branches()
    run = lc.shipyard("init", "--repo-url", "https://github.com/acme/shipyard.git", "--dry-run")
    assert run.code == 0, run.err
    assert "-  url: https://github.com/example/shipyard.git" in run.out
    assert "+  url: https://github.com/acme/shipyard.git" in run.out
    assert lc.tree() == tree and lc.branches() == branches
