"""The scaffolding commands on a copy of this repository, checked by the real
`shipyard validate`: a new cluster's entry points are clean, a new model is
clean before any version and after register + promote --to dev (and renders
in dev), and after `init` no manifest names the old repository while
everything still validates.

The tests run in order on one copy (module scope): each commits what it
made, so the next starts from a clean work tree, and the last validate
covers all of it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import yaml
from shipyard.models.rules import seldon_deployments
from shipyard.repo import Repository
from shipyard.targets import build_folder

if TYPE_CHECKING:
    from conftest import ScaffoldRepo

OLD_URL = "https://github.com/example/shipyard.git"
NEW_URL = "https://git.example.org/acme/ml-platform.git"
# Files that name the old URL for another reason, left alone by init: the
# pre-commit example says where the hook's own source lives, and the tests
# and benchmarks build fixture repositories with settings of their own.
NOT_THIS_REPOSITORY = (".pre-commit-hooks.yaml", "tests/", "benchmarks/")


def _docs(repo: ScaffoldRepo, rel: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(repo.read(rel)) if d]


def _metrics(repo: ScaffoldRepo, data: dict) -> str:
    path = repo.root.parent / "metrics.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_new_cluster_validates(this_repo: ScaffoldRepo) -> None:
    tree = this_repo.tree()
    dry = this_repo.shipyard("new", "cluster", "edge-1", "--environment", "staging", "--gpus", "4", "--dry-run")
    assert dry.code == 0 and "=== clusters/edge-1/argocd/appproject.yaml (new file)" in dry.out, dry.err
    assert this_repo.tree() == tree

    run = this_repo.shipyard("new", "cluster", "edge-1", "--environment", "staging", "--gpus", "4")
    assert run.code == 0, run.err
    written = sorted(line.split()[-1] for line in run.out.splitlines() if line.startswith("  changed "))
    assert written == sorted(f"clusters/edge-1/{f}" for f in (
        "cluster.yaml", "argocd/kustomization.yaml", "argocd/appproject.yaml", "argocd/root.yaml",
        "argocd/applications.yaml", "flux/kustomization.yaml", "flux/gitrepository.yaml", "flux/kustomizations.yaml"))
    assert this_repo.branch == "main"  # files only, like register

    cluster = Repository.load(this_repo.root).cluster("edge-1")
    assert (cluster.environment, cluster.kubernetes_version, cluster.engines, cluster.gpu_capacity, cluster.istio) == \
        ("staging", "1.34.0", ("argocd", "flux"), 4, True)  # the version and Istio of staging's own cluster
    apps = {d["metadata"]["name"]: d for d in _docs(this_repo, "clusters/edge-1/argocd/applications.yaml")}
    assert apps["platform"]["spec"]["source"]["path"] == "overlays/staging"
    assert apps["models"]["spec"]["source"]["path"] == "overlays/staging/models"
    root = _docs(this_repo, "clusters/edge-1/argocd/root.yaml")[0]
    assert root["spec"]["source"]["path"] == "clusters/edge-1/argocd"
    flux = {d["metadata"]["name"]: d for d in _docs(this_repo, "clusters/edge-1/flux/kustomizations.yaml")}
    assert flux["cluster"]["spec"]["path"] == "./clusters/edge-1/flux"
    assert [d["name"] for d in flux["models"]["spec"]["dependsOn"]] == ["charts"]
    # The same AppProject the hand-written staging cluster has.
    assert _docs(this_repo, "clusters/edge-1/argocd/appproject.yaml")[0]["spec"]["destinations"] == \
        _docs(this_repo, "clusters/staging/argocd/appproject.yaml")[0]["spec"]["destinations"]

    check = this_repo.validate("clusters/edge-1/argocd", "clusters/edge-1/flux")
    assert check.code == 0, check.out + check.err
    this_repo.commit_all("new cluster edge-1")


def test_new_model_then_register_and_promote_to_dev(this_repo: ScaffoldRepo) -> None:
    before = this_repo.tree()
    run = this_repo.shipyard("new", "model", "churn", "--server", "XGBOOST_SERVER", "--owner", "ml-growth@example.com")
    assert run.code == 0, run.err
    gpu = this_repo.shipyard("new", "model", "ranker", "--image", "registry.example.com/ranker:2.1.0",
                             "--protocol", "v2", "--gpus", "1", "--owner", "ml-search@example.com")
    assert gpu.code == 0, gpu.err
    assert "0 replicas in dev" in gpu.err  # kind-e2e has no GPUs
    now = this_repo.tree()
    changed = {rel for rel, data in now.items() if before.get(rel) != data}
    assert {rel.split("/")[1] for rel in changed} == {"churn", "ranker"}
    assert all(rel.startswith("models/") for rel in changed)  # no overlay lists a model without a version
    model = yaml.safe_load(this_repo.read("models/churn/model.yaml"))
    assert model["spec"]["versions"] == []
    assert model["spec"]["serving"]["replicas"] == {"dev": 1, "staging": 1, "production": 2}

    clean = this_repo.validate()
    assert clean.code == 0, clean.out + clean.err

    for name, uri in (("churn", "gs://bucket/churn/1.0.0"), ("ranker", "s3://bucket/ranker/1.0.0")):
        reg = this_repo.shipyard("register", name, "--version", "1.0.0", "--uri", uri,
                                 "--metrics", _metrics(this_repo, {"accuracy": 0.91}))
        assert reg.code == 0, reg.err
    this_repo.commit_all("new models churn and ranker, version 1.0.0")
    for name in ("churn", "ranker"):
        promoted = this_repo.shipyard("promote", name, "--to", "dev", "--no-branch")
        assert promoted.code == 0, promoted.err

    after = this_repo.validate()
    assert after.code == 0, after.out + after.err
    repo = Repository.load(this_repo.root)
    rendered = {o["metadata"]["name"]: o for o in seldon_deployments(build_folder(repo, repo.root / "overlays/dev/models"))}
    assert {"iris", "churn", "ranker"} <= set(rendered)
    churn = rendered["churn"]["spec"]["predictors"]
    assert [(p["graph"]["modelUri"], p["graph"]["implementation"], p["replicas"]) for p in churn] == \
        [("gs://bucket/churn/1.0.0", "XGBOOST_SERVER", 1)]
    ranker = rendered["ranker"]["spec"]["predictors"][0]
    assert ranker["replicas"] == 0 and ranker["componentSpecs"][0]["spec"]["containers"][0]["image"] == \
        "registry.example.com/ranker:2.1.0"


def test_init_points_every_manifest_at_the_fork(this_repo: ScaffoldRepo) -> None:
    start = this_repo.head
    run = this_repo.shipyard("init", "--repo-url", NEW_URL, "--branch", "trunk")
    assert run.code == 0, run.err
    assert this_repo.branch == "init/git.example.org-acme-ml-platform"  # one branch, one commit
    assert this_repo.git("rev-parse", "HEAD~1").strip() == start
    assert this_repo.dirty() == []

    mentions = [rel for rel, data in this_repo.tree().items() if OLD_URL.removesuffix(".git").encode() in data]
    assert mentions and all(rel.startswith(NOT_THIS_REPOSITORY) for rel in mentions), mentions
    settings = yaml.safe_load(this_repo.read("shipyard.yaml"))["repository"]
    assert settings == {"url": NEW_URL, "branch": "trunk"}
    for cluster in ("staging", "edge-1"):
        git_repo = _docs(this_repo, f"clusters/{cluster}/flux/gitrepository.yaml")[0]["spec"]
        assert (git_repo["url"], git_repo["ref"]) == (NEW_URL, {"branch": "trunk"})
        project = _docs(this_repo, f"clusters/{cluster}/argocd/appproject.yaml")[0]["spec"]
        assert project["sourceRepos"][0] == NEW_URL
    values_ref = _docs(this_repo, "base/seldon-core/argocd/application.yaml")[0]["spec"]["sources"][1]
    assert values_ref == {"repoURL": NEW_URL, "targetRevision": "trunk", "ref": "values"}
    assert "# The git URL Argo CD Applications" in this_repo.read("shipyard.yaml")  # comments kept

    check = this_repo.validate()
    assert check.code == 0, check.out + check.err

    again = this_repo.shipyard("init", "--repo-url", NEW_URL, "--branch", "trunk")
    assert again.code == 0 and "already points at" in again.out
    assert this_repo.dirty() == [] and this_repo.branch == "init/git.example.org-acme-ml-platform"
