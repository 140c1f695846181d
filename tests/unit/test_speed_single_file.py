"""A file or folder checked alone renders nothing it does not include.

The CRDs the repository installs come from its committed index
(.shipyard/crds, shipyard.schemas.installed): these tests prove that the
index says what the entry points render (and fail when it is stale), that
a file checked with it gets exactly the findings it got when every entry
point was rendered first, and that it needs neither kustomize, helm nor a
mirror. A rendered file (``shipyard render --sources`` output) keeps its
objects' origins and does not render its HelmReleases again unless asked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import shipyard.schemas.installed as installed
from shipyard.cli import main
from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject, Source
from shipyard.render import binaries
from shipyard.render.run import TOOL_CLOCK
from shipyard.repo import Repository
from shipyard.render.output import to_yaml
from shipyard.targets import entry_point_crds, open_renderer, render_target, target_for_path
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "bad-input"

PASTED = """\
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata: {name: churn, namespace: models}
spec:
  predictors:
  - name: default
    replicaz: 2
    graph: {name: classifier, implementation: SKLEARN_SERVER, modelUri: 's3://models/churn/1.0.0'}
---
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: train, namespace: models}
spec:
  pytorchReplicaSpecs: {}
---
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: train, namespace: models}
spec:
  tfReplicaSpecs: {Worker: {replicas: 1, template: {spec: {containers: [{name: tf, image: tf:2}]}}}}
  unknownField: 1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: models}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"""


def _report(paths: list[str], *, index: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    if not index:
        monkeypatch.setattr(installed, "read_index", lambda root: None)
    report = validate(Repository.load(ROOT), paths, cwd=ROOT)
    monkeypatch.undo()
    return sorted(map(repr, report.findings)), sorted(map(repr, report.waived))


def test_the_committed_index_is_what_the_entry_points_install(mirror_dir: Path) -> None:
    repo = Repository.load(ROOT)
    with open_renderer(repo) as renderer:
        expected = installed.build_index(entry_point_crds(renderer, repo))
    stale = installed.stale_files(ROOT, expected)
    assert not stale, f"{installed.INDEX_DIR} is out of date ({stale}): run `shipyard schemas index` and commit it"


@pytest.mark.parametrize("paths", [
    ["pasted.yaml"],
    ["overlays/staging/models/iris"],
    ["base/seldon-core"],
    ["base/training-operator"],
])
def test_a_part_gets_the_findings_it_got_after_rendering_every_entry_point(
        paths: list[str], tmp_path: Path, mirror_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pasted.yaml").write_text(PASTED, encoding="utf-8")
    paths = [str(tmp_path / p) if p == "pasted.yaml" else p for p in paths]
    with_index = _report(paths, index=True, monkeypatch=monkeypatch)
    rendered = _report(paths, index=False, monkeypatch=monkeypatch)
    assert with_index == rendered
    if "pasted" in paths[0]:
        assert any("SY102" in f and "replicaz" in f for f in with_index[0])  # the chart's SeldonDeployment CRD


def test_a_file_is_checked_offline_without_running_kustomize_or_helm(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPYARD_MIRROR", raising=False)
    monkeypatch.setenv("SHIPYARD_HELM", str(tmp_path / "no-helm"))  # found on first use only: never used here
    binaries.find_binaries.cache_clear()
    pasted = tmp_path / "pasted.yaml"
    pasted.write_text(PASTED, encoding="utf-8")
    TOOL_CLOCK.reset()
    try:
        report = validate(Repository.load(ROOT), [str(pasted)])
    finally:
        binaries.find_binaries.cache_clear()
    assert TOOL_CLOCK.calls == 0
    found = {(f.check, f.line) for f in report.findings}
    assert ("SY102", 7) in found  # replicaz: the SeldonDeployment CRD the seldon-core chart installs
    assert not any(f.check in ("SY105", "SY903") for f in report.findings), report.findings


def _crd(kind: str, group: str, source: str, *, description: str = "x", field: str = "size") -> K8sObject:
    body = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.{group}", "labels": {"helm.sh/chart": "c-1"}},
        "spec": {"group": group, "names": {"kind": kind, "plural": f"{kind.lower()}s"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "description": description,
                     "properties": {"spec": {"type": "object", "properties": {field: {"type": "integer"}}}}}}}]},
    }
    return K8sObject(body, Source(source, 3), target="clusters/c/flux")


def test_the_index_is_written_whole_read_by_kind_and_told_stale(tmp_path: Path) -> None:
    crds = [_crd("Widget", "example.com", "chart:w-1.0.0/templates/crd.yaml"), _crd("Gadget", "example.com", "base/g.yaml")]
    outputs = installed.build_index(crds)
    assert installed.build_index(crds) == outputs  # deterministic
    assert installed.stale_files(tmp_path, outputs) == sorted(outputs)  # no index yet: every file missing
    installed.write_index(tmp_path, outputs)
    assert installed.stale_files(tmp_path, outputs) == []
    index = installed.read_index(tmp_path)
    assert index is not None
    (widget,) = index.objects({"Widget"})
    assert (widget.source, widget.target, widget.name) == (Source("chart:w-1.0.0/templates/crd.yaml", 3),
                                                           "clusters/c/flux", "widgets.example.com")
    assert "description" not in json.dumps(widget.body)  # prose dropped, the schema kept
    assert widget.body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"] == {
        "size": {"type": "integer"}}
    assert index.objects(set()) == []
    # A chart bump that changes a schema makes the index stale; a CRD no longer installed is left over.
    changed = installed.build_index([_crd("Widget", "example.com", "chart:w-1.1.0/templates/crd.yaml", field="count")])
    assert installed.stale_files(tmp_path, changed) == ["gadgets.example.com.json", installed.INDEX_FILE,
                                                        "widgets.example.com.json"]
    # Prose alone changes nothing a check reads: the body file stays as it is.
    reworded = installed.build_index([_crd("Widget", "example.com", "chart:w-1.1.0/templates/crd.yaml",
                                           field="count", description="reworded")])
    assert reworded["widgets.example.com.json"] == changed["widgets.example.com.json"]
    installed.write_index(tmp_path, changed)
    assert sorted(p.name for p in (tmp_path / installed.INDEX_DIR).iterdir()) == [installed.INDEX_FILE,
                                                                                 "widgets.example.com.json"]


@pytest.mark.parametrize("damage, why", [
    ("{not json", "not JSON"),
    ('{"format": 99, "crds": []}', "not an index of format 1"),
    ('{"format": 1, "crds": [{"kind": "Widget"}]}', "an entry is not kind/group/file/source/line/target"),
    ('{"format": 1, "crds": [{"kind": "W", "group": "g", "file": "../../etc/passwd.json", "source": "s", "line": 0,'
     ' "target": "t"}]}', "is not a file name in the index folder"),
])
def test_a_damaged_index_is_a_clear_error(tmp_path: Path, damage: str, why: str) -> None:
    folder = tmp_path / installed.INDEX_DIR
    folder.mkdir(parents=True)
    (folder / installed.INDEX_FILE).write_text(damage, encoding="utf-8")
    with pytest.raises(ShipyardError) as caught:
        installed.read_index(tmp_path)
    assert why in caught.value.message
    assert caught.value.file == str(folder / installed.INDEX_FILE)
    assert "shipyard schemas index" in (caught.value.hint or "")


def test_a_missing_body_file_is_a_clear_error(tmp_path: Path) -> None:
    installed.write_index(tmp_path, installed.build_index([_crd("Widget", "example.com", "base/w.yaml")]))
    (tmp_path / installed.INDEX_DIR / "widgets.example.com.json").unlink()
    index = installed.read_index(tmp_path)
    assert index is not None
    with pytest.raises(ShipyardError, match="the CRD index is damaged: cannot read it"):
        index.objects({"Widget"})


# --------------------------------------------------------------------------
# Rendered files.


@pytest.fixture(scope="module")
def chart_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror holding the corpus chart (needs-value 0.1.0, which fails to
    render without image.tag), packaged and indexed with the real helm."""
    helm = binaries.find_binaries().helm
    mirror = tmp_path_factory.mktemp("chart-mirror")
    charts = mirror / "charts"
    charts.mkdir()
    for cmd in ([helm, "package", str(CORPUS / "charts" / "needs-value"), "--destination", str(charts)],
                [helm, "repo", "index", str(charts)]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return mirror


def _rendered_copy(tmp_path: Path) -> Path:
    """The bad-input corpus, plus apps/rendered.yaml: its HelmRepository and
    HelmRelease as `shipyard render --sources` writes them."""
    root = tmp_path / "repo"
    shutil.copytree(CORPUS / "repo", root, symlinks=True)
    docs = (root / "apps" / "required-value-missing.yaml").read_text(encoding="utf-8").split("---\n")
    (root / "apps" / "rendered.yaml").write_text("---\n".join(
        f"# Source: apps/required-value-missing.yaml:{line}\n{doc}" for line, doc in zip((1, 10), docs)),
        encoding="utf-8")
    return root


def test_a_rendered_file_does_not_render_its_helmreleases_unless_asked(
        tmp_path: Path, chart_mirror: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = _rendered_copy(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SHIPYARD_MIRROR", str(chart_mirror))
    TOOL_CLOCK.reset()
    assert main(["validate", "apps/rendered.yaml"]) == 0
    assert TOOL_CLOCK.calls == 0
    capsys.readouterr()
    # Asked: the chart is templated, and fails for the value it lacks, as for the hand-written file.
    assert main(["validate", "apps/rendered.yaml", "--render-releases"]) == 2
    err = capsys.readouterr().err
    assert "error [SY903]: apps/required-value-missing.yaml:21: helm template" in err, err
    # A hand-written file with the same release is rendered as before.
    assert main(["validate", "apps/required-value-missing.yaml"]) == 2
    assert "error [SY903]" in capsys.readouterr().err


def test_a_rendered_file_keeps_each_objects_origin(tmp_path: Path, mirror_dir: Path) -> None:
    """`shipyard render overlays/dev --sources`, checked as a pasted file:
    every object names the file it was written in, and the findings the
    overlay's own run waives (upstream charts and bases) are waived here too."""
    repo = Repository.load(ROOT)
    with open_renderer(repo) as renderer:
        rendered = render_target(renderer, target_for_path(repo, "overlays/dev", ROOT))
    pasted = tmp_path / "dev.yaml"
    pasted.write_text(to_yaml(rendered.objects, with_sources=True), encoding="utf-8")
    report = validate(repo, [str(pasted)])
    (target,) = report.targets
    assert target.objects and not any(o.source.path == str(pasted) for o in target.objects)
    overlay = validate(repo, ["overlays/dev"])
    assert {(f.check, f.file) for f in report.findings} <= {(f.check, f.file) for f in overlay.findings}
    assert {(f.check, f.file) for f in report.waived} == {(f.check, f.file) for f in overlay.waived}


def test_schemas_index_check_passes_on_this_repository(mirror_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "index", "--check", "--repo", str(ROOT)]) == 0
    assert f"{installed.INDEX_DIR} is current" in capsys.readouterr().out
