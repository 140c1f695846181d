"""`shipyard diff` and `validate --changed-since` on two commits of a fixture
repository: what changed is rendered and summarised, and only the targets a
change reaches are selected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shipyard.changes import affected, changed_files
from shipyard.diff import diff, format_markdown
from shipyard.errors import ShipyardError
from shipyard.repo import Repository
from shipyard.targets import all_targets
from shipyard.validate import validate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "engines"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def repo(tmp_path: Path, mirror_dir: Path) -> Repository:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return Repository.load(root)


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def selected(repo: Repository, ref: str = "HEAD") -> set[str]:
    return {s.path for s in affected(repo, all_targets(repo), changed_files(repo, ref))}


def test_changed_since_selects_exactly_the_targets_a_change_reaches(repo: Repository) -> None:
    assert selected(repo) == set()
    values = repo.root / "base/seldon-core/values.yaml"
    values.write_text(values.read_text() + "crd:\n  create: true\n")
    # values reach both entry points (Flux via configMapGenerator, Argo CD via
    # $values), never the overlay
    assert selected(repo) == {"clusters/c1/argocd", "clusters/c1/flux"}
    git(repo.root, "checkout", "--", ".")
    (repo.root / "base/app/new.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: app}\n")
    assert selected(repo) == set()  # untracked but referenced by nothing
    edit = repo.root / "base/app/configmap.yaml"
    edit.write_text(edit.read_text().replace("mode: dev", "mode: test"))
    assert selected(repo) == {"overlays/dev", "clusters/c1/argocd", "clusters/c1/flux"}


def test_changed_since_an_unknown_ref_is_a_clear_error(repo: Repository) -> None:
    with pytest.raises(ShipyardError) as err:
        validate(repo, changed_since="no-such-ref")
    assert "no-such-ref" in str(err.value)


def test_diff_summarises_a_model_version_change_per_environment_and_cluster(repo: Repository) -> None:
    sdep = repo.root / "base/app/seldondeployment.yaml"
    sdep.write_text(sdep.read_text().replace("gs://models/iris/1.0.0", "gs://models/iris/1.1.0").replace("replicas: 1", "replicas: 2"))
    commit(repo.root, "promote")
    report = diff(repo, "HEAD~1", "HEAD")
    rows = [r for r in report.models if r.changed]
    assert [(r.model, r.environment, r.cluster, r.before, r.after) for r in rows] == [
        ("app/iris", "dev", "c1", "1.0.0 100% x1", "1.1.0 100% x2")
    ]
    targets = {c.target for c in report.changes}
    assert targets == {"overlays/dev", "clusters/c1/argocd", "clusters/c1/flux"}
    assert all(c.change == "changed" for c in report.changes)
    markdown = format_markdown(report)
    assert "| app/iris | dev | c1 | 1.0.0 100% x1 | 1.1.0 100% x2 |" in markdown
    assert "+      modelUri: gs://models/iris/1.1.0" in markdown


def test_diff_against_the_working_tree_and_secrets_are_redacted(repo: Repository) -> None:
    (repo.root / "base/app/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: app}\nstringData: {token: hunter2}\n"
    )
    kfile = repo.root / "base/app/kustomization.yaml"
    kfile.write_text(kfile.read_text() + "- secret.yaml\n")
    report = diff(repo, "HEAD")
    added = [c for c in report.changes if c.change == "added"]
    assert added and all(c.ref.name == "token" for c in added)
    assert "hunter2" not in "".join(c.diff for c in report.changes)
