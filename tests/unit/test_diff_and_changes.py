"""`shipyard diff` and `validate --changed-since` on two commits of a fixture
repository: what changed is rendered and summarised, and only the targets a
change reaches are selected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shipyard.changes import affected, changed_files
from shipyard.diff import diff, format_markdown, format_text
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


@pytest.fixture()
def stale_branch(repo: Repository) -> tuple[Repository, str, str]:
    """A branch `promote` that changed the model, and a main that moved on
    after it branched off (someone else's change to the ConfigMap): the
    branch is behind main. Returns the repository (on the branch), the
    merge base and main's tip."""
    git(repo.root, "switch", "-q", "-c", "promote")
    sdep = repo.root / "base/app/seldondeployment.yaml"
    sdep.write_text(sdep.read_text().replace("gs://models/iris/1.0.0", "gs://models/iris/1.1.0"))
    commit(repo.root, "promote iris 1.1.0")
    git(repo.root, "switch", "-q", "main")
    cm = repo.root / "base/app/configmap.yaml"
    cm.write_text(cm.read_text().replace("mode: dev", "mode: other-peoples-change"))
    commit(repo.root, "someone else's change")
    tip = git(repo.root, "rev-parse", "HEAD").strip()
    git(repo.root, "switch", "-q", "promote")
    base = git(repo.root, "merge-base", "main", "HEAD").strip()
    assert base != tip
    return repo, base, tip


def test_diff_compares_with_the_merge_base_so_a_stale_branch_shows_only_its_own_changes(
        stale_branch: tuple[Repository, str, str]) -> None:
    repo, base, tip = stale_branch
    for head in ("promote", None):  # a ref, and the working tree on that branch
        report = diff(repo, "main", head)
        assert {c.ref.kind for c in report.changes} == {"SeldonDeployment"}, [str(c.ref) for c in report.changes]
        assert "other-peoples-change" not in "".join(c.diff for c in report.changes)
        assert report.comparison is not None
        assert (report.comparison.base_commit, report.comparison.base_tip) == (base, tip)
        assert report.comparison.merge_base and report.comparison.behind == 1
    text = format_text(diff(repo, "main", "promote"))
    assert f"base: {base[:12]}, the merge base of main and promote (main has moved on by 1 commit(s), to {tip[:12]}" in text
    head = git(repo.root, "rev-parse", "promote").strip()
    assert f"head: {head[:12]}, promote" in text
    markdown = format_markdown(diff(repo, "main"))
    assert f"Base: `{base[:12]}`, the merge base of `main` and `HEAD`" in markdown
    assert f"Head: the working tree (HEAD `{head[:12]}` and uncommitted changes)." in markdown


def test_diff_against_the_tip_is_explicit_and_says_so(stale_branch: tuple[Repository, str, str]) -> None:
    repo, _, tip = stale_branch
    report = diff(repo, "main", "promote", against_tip=True)
    assert report.comparison is not None and not report.comparison.merge_base
    assert report.comparison.base_commit == tip
    # main's newer ConfigMap is shown as this branch reverting it: what the tip comparison means
    assert "-  mode: other-peoples-change" in "".join(c.diff for c in report.changes)
    assert f"base: {tip[:12]}, the tip of main" in format_text(report)


def test_diff_of_unrelated_histories_has_no_merge_base(repo: Repository) -> None:
    git(repo.root, "checkout", "-q", "--orphan", "elsewhere")  # keeps the files
    commit(repo.root, "unrelated root")
    with pytest.raises(ShipyardError) as err:
        diff(repo, "main", "elsewhere")
    assert err.value.check == "SY904" and "no common history" in err.value.message
    assert err.value.hint is not None and "--base-tip" in err.value.hint
    assert diff(repo, "main", "elsewhere", against_tip=True).comparison is not None
