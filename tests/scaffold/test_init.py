"""init on hand-written manifests: only the URL and branch of sources on this
repository change, everything else (comments, other documents, chart
sources, other repositories, pinned tags) stays byte for byte, and a second
run changes nothing."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from conftest import ScaffoldRepo

OLD = "https://github.com/example/shipyard.git"
NEW = "ssh://git@git.acme.internal/ml/shipyard.git"

APPS = f"""\
# Two applications and a project, one file.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: platform
  namespace: argocd
spec:
  project: shipyard
  source:
    repoURL: {OLD}   # this repository
    targetRevision: main
    path: overlays/dev
---
# A chart, its values from this repository.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: seldon-core
spec:
  sources:
  - repoURL: https://storage.googleapis.com/seldon-charts
    chart: seldon-core-operator
    targetRevision: 1.17.1
  - repoURL: https://github.com/example/shipyard   # without .git: the same repository
    targetRevision: main
    ref: values
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: pinned
spec:
  source:
    repoURL: {OLD}
    targetRevision: v1.2.0
    path: base/policies
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: elsewhere
spec:
  source:
    repoURL: https://github.com/example/other.git
    targetRevision: main
    path: deploy
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: shipyard
spec:
  sourceRepos:
  - {OLD}
  - https://storage.googleapis.com/seldon-charts
"""

FLUX = f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: shipyard
  namespace: flux-system
spec:
  interval: 1m
  url: {OLD}
  ref:
    branch: main
"""


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_only_the_url_and_branch_of_this_repository_change(lc: ScaffoldRepo, tmp_path) -> None:
    lc.write("clusters/dev-kind/argocd/apps.yaml", APPS)
    lc.write("clusters/dev-kind/flux/gitrepository.yaml", FLUX)
    lc.write("base/notes.yaml", f"# cloned from {OLD}\nkey: value\n")
    lc.commit_all("entry points")
    body = tmp_path / "body.md"
    run = lc.shipyard("init", "--repo-url", NEW, "--branch", "trunk", "--pr-body", str(body))
    assert run.code == 0, run.err

    # ruamel keeps a comment's column when the longer URL leaves room, one space before it otherwise
    assert _changed_lines(APPS, lc.read("clusters/dev-kind/argocd/apps.yaml")) == [
        f"-    repoURL: {OLD}   # this repository",
        "-    targetRevision: main",
        f"+    repoURL: {NEW} # this repository",
        "+    targetRevision: trunk",
        "-  - repoURL: https://github.com/example/shipyard   # without .git: the same repository",
        "-    targetRevision: main",
        f"+  - repoURL: {NEW} # without .git: the same repository",
        "+    targetRevision: trunk",
        f"-    repoURL: {OLD}",  # the pinned Application moves with the repository, its tag stays
        f"+    repoURL: {NEW}",
        f"-  - {OLD}",
        f"+  - {NEW}",
    ]
    assert _changed_lines(FLUX, lc.read("clusters/dev-kind/flux/gitrepository.yaml")) == [
        f"-  url: {OLD}", f"+  url: {NEW}", "-    branch: main", "+    branch: trunk"]
    settings = lc.read("shipyard.yaml")
    assert yaml.safe_load(settings)["repository"] == {"url": NEW, "branch": "trunk"}
    assert settings.startswith("# A small Shipyard repository")

    # what init leaves alone, it says so
    assert "pinned spec.source.targetRevision is 'v1.2.0'" in run.err
    assert "base/notes.yaml still mentions" in run.err and lc.read("base/notes.yaml").startswith(f"# cloned from {OLD}")
    # one commit on its own branch, whose message and pull request say what moved
    assert lc.branch.startswith("init/") and lc.dirty() == []
    message = lc.git("log", "-1", "--format=%B")
    assert f"- Repository: `{OLD}` → `{NEW}`" in message and "- Branch: `main` → `trunk`" in message
    assert "clusters/dev-kind/argocd/apps.yaml" in body.read_text()

    again = lc.shipyard("init", "--repo-url", NEW, "--branch", "trunk")
    assert again.code == 0 and "already points at" in again.out and lc.dirty() == []


def test_a_half_edited_fork_is_finished_and_no_commit_only_edits(lc: ScaffoldRepo) -> None:
    # shipyard.yaml already moved by hand; the GitRepository did not
    lc.write("shipyard.yaml", lc.read("shipyard.yaml").replace(OLD, NEW))
    lc.write("clusters/dev-kind/flux/gitrepository.yaml", FLUX)
    lc.commit_all("half a fork")
    run = lc.shipyard("init", "--repo-url", NEW, "--no-commit")
    assert run.code == 0, run.err
    assert yaml.safe_load(lc.read("clusters/dev-kind/flux/gitrepository.yaml"))["spec"] == \
        {"interval": "1m", "url": NEW, "ref": {"branch": "main"}}
    assert lc.branch == "main" and lc.dirty() == [" M clusters/dev-kind/flux/gitrepository.yaml"]
