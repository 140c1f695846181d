"""SY4xx: broken wiring between entry points, paths, charts and namespaces,
each caught on a copy of the engines fixture with one mistake in it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.repo import Repository
from shipyard.validate import validate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "engines"
SY4 = {"SY401", "SY402", "SY403", "SY404", "SY405", "SY406", "SY407"}


@pytest.fixture()
def repo(tmp_path: Path, mirror_dir: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def findings(root: Path) -> list:
    return validate(Repository.load(root), use_cache=False, only=SY4).findings


def test_sy401_missing_path_names_the_kustomization_and_line(repo: Path) -> None:
    edit(repo / "clusters/c1/flux/sync.yaml", "path: ./overlays/dev", "path: ./overlays/deev")
    found = [f for f in findings(repo) if f.check == "SY401"]
    assert len(found) == 1
    assert found[0].file == "clusters/c1/flux/sync.yaml"
    assert found[0].object.name == "dev" and found[0].object.kind == "Kustomization"
    assert found[0].line == 20  # the spec.path line


def test_sy402_missing_values_configmap(repo: Path) -> None:
    edit(repo / "base/seldon-core/helmrelease.yaml", "name: seldon-core-values", "name: seldon-core-valuez")
    found = [f for f in findings(repo) if f.check == "SY402"]
    assert found and "seldon-core-valuez" in found[0].message
    assert found[0].file == "base/seldon-core/helmrelease.yaml"


def test_sy403_namespace_nothing_creates(repo: Path) -> None:
    edit(repo / "base/app/configmap.yaml", "namespace: app", "namespace: nowhere")
    found = [f for f in findings(repo) if f.check == "SY403"]
    assert found and found[0].file == "base/app/configmap.yaml"
    assert "nowhere" in found[0].message
    assert found[0].line == 5


def test_sy404_repository_url_differs(repo: Path) -> None:
    edit(repo / "clusters/c1/flux/sync.yaml", "url: https://github.com/example/engines.git", "url: https://github.com/example/old.git")
    found = [f for f in findings(repo) if f.check == "SY404"]
    assert len(found) == 1 and found[0].line == 8


def test_sy405_chart_repository_drift_between_engines(repo: Path) -> None:
    edit(repo / "base/seldon-core/argocd/application.yaml", "repoURL: https://storage.googleapis.com/seldon-charts",
         "repoURL: https://charts.example.com/seldon")
    found = [f for f in findings(repo) if f.check == "SY405"]
    assert len(found) == 1
    assert found[0].file in {"base/seldon-core/argocd/application.yaml", "base/seldon-core/helmrelease.yaml"}
    assert "charts.example.com" in found[0].message


def test_sy406_engines_render_different_objects(repo: Path) -> None:
    # Argo CD names the release differently: every chart object differs.
    edit(repo / "base/seldon-core/argocd/application.yaml", "releaseName: seldon-core", "releaseName: seldon")
    found = [f for f in findings(repo) if f.check == "SY406"]
    assert found
    assert all("c1" in f.message for f in found)


def test_unknown_chart_version_is_an_environment_error(repo: Path) -> None:
    from shipyard.errors import ShipyardError

    edit(repo / "base/seldon-core/helmrelease.yaml", "version: 1.17.1", "version: 9.9.9")
    with pytest.raises(ShipyardError) as err:
        findings(repo)
    assert "9.9.9" in str(err.value)
    assert err.value.file == "base/seldon-core/helmrelease.yaml"


def test_sy407_cluster_environment_without_overlay(repo: Path) -> None:
    edit(repo / "clusters/c1/cluster.yaml", "environment: dev", "environment: qa")
    found = [f for f in findings(repo) if f.check == "SY407"]
    assert found and found[0].file == "clusters/c1/cluster.yaml"


def test_sy408_reference_outside_the_repository_through_a_symlink(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (outside / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak, namespace: app}\n")
    (repo / "base/linked").symlink_to(outside)
    kfile = repo / "overlays/dev/kustomization.yaml"
    kfile.write_text(kfile.read_text() + "- ../../base/linked\n")
    found = validate(Repository.load(repo), use_cache=False, only={"SY408"}).findings
    assert len(found) == 1
    assert found[0].file == "overlays/dev/kustomization.yaml" and found[0].line == 5
