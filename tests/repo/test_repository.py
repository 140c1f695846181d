"""This repository's own manifests: everything renders offline from the
mirror and validates clean, and what each entry point deploys is pinned by
an inventory snapshot (kind, namespace, name per target), so a change in
what a cluster receives is always a reviewed change to a snapshot file.

Update the snapshots after an intended change:
    SHIPYARD_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/repo
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from shipyard.findings import format_text
from shipyard.repo import Repository
from shipyard.validate import Report, validate

ROOT = Path(__file__).resolve().parent.parent.parent
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


@pytest.fixture(scope="module")
def report(mirror_dir: Path) -> Report:
    return validate(Repository.load(ROOT), jobs=2)


def test_the_repository_validates_clean(report: Report) -> None:
    assert report.findings == [], format_text(report.findings)


def test_every_environment_and_cluster_entry_point_is_rendered(report: Report) -> None:
    repo = Repository.load(ROOT)
    names = {t.name for t in report.targets}
    for env in ("dev", "staging", "production"):
        assert f"overlays/{env}" in names
    for cluster in ("kind-e2e", "staging", "production"):
        assert f"clusters/{cluster}/argocd" in names and f"clusters/{cluster}/flux" in names
    assert {c.name for c in repo.clusters()} == {"kind-e2e", "staging", "production"}


def test_every_cluster_serves_the_iris_model(report: Report) -> None:
    for target in report.targets:
        if target.kind != "entrypoint":
            continue
        sdeps = [o for o in target.objects if o.kind == "SeldonDeployment" and o.name == "iris"]
        assert len(sdeps) == 1, target.name
        assert sdeps[0].source.path.startswith("models/iris/")


GENERATED_SUFFIX = re.compile(r"-[bcdfghkmt2-9]{10}$")


def stable_name(kind: str, name: str) -> str:
    """Generated ConfigMaps and Secrets carry a hash of their content: an
    edit to a values file is not a change in what is deployed."""
    return GENERATED_SUFFIX.sub("-<hash>", name) if kind in ("ConfigMap", "Secret") else name


def inventory(report: Report, name: str) -> str:
    target = next(t for t in report.targets if t.name == name)
    rows = sorted({f"{o.api_version} {o.kind} {o.namespace or '-'} {stable_name(o.kind, o.name)}" for o in target.objects})
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    "name",
    [f"overlays/{e}" for e in ("dev", "staging", "production")]
    + [f"clusters/{c}/{e}" for c in ("kind-e2e", "staging", "production") for e in ("argocd", "flux")],
)
def test_inventory_snapshot(report: Report, name: str) -> None:
    snapshot = SNAPSHOTS / (name.replace("/", "__") + ".txt")
    actual = inventory(report, name)
    if os.environ.get("SHIPYARD_UPDATE_SNAPSHOTS") == "1" or not snapshot.exists():
        snapshot.write_text(actual)
        if os.environ.get("SHIPYARD_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"snapshot {snapshot.name} was missing and has been written; review and commit it")
    assert actual == snapshot.read_text(), f"{name} deploys a different set of objects; if intended, update snapshots"


def test_a_pasted_manifest_is_checked_against_the_crds_the_repository_installs(tmp_path: Path, mirror_dir: Path) -> None:
    pasted = tmp_path / "pasted.yaml"
    pasted.write_text(
        "apiVersion: machinelearning.seldon.io/v1\n"
        "kind: SeldonDeployment\n"
        "metadata: {name: churn, namespace: models}\n"
        "spec:\n"
        "  predictors:\n"
        "  - name: default\n"
        "    replicaz: 2\n"
        "    graph: {name: classifier, implementation: SKLEARN_SERVER, modelUri: 's3://models/churn/1.0.0'}\n"
    )
    report = validate(Repository.load(ROOT), [str(pasted)])
    ids = {(f.check, f.line) for f in report.findings}
    assert ("SY102", 7) in ids  # the CRD's schema, from the seldon-core chart the repository installs
    assert not any(f.check == "SY105" for f in report.findings)
