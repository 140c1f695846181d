"""`validate --changed-since` renders only what the change can affect: for a
model change with a cold cache, the upstream bases it cannot reach are left
unrendered (their CRDs come from the committed index), and the findings are
the ones a run that renders everything gives, but for those on the upstream
objects themselves. Any other change renders them. Real kustomize and helm,
remote bases and charts from the mirror."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shipyard.render.run import TOOL_CLOCK
from shipyard.repo import Repository
from shipyard.schemas.installed import build_index, write_index
from shipyard.targets import entry_point_crds, open_renderer
from shipyard.validate import validate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "engines"
KATIB = "https://github.com/kubeflow/katib/manifests/v1beta1/installs/katib-standalone?ref=v0.19.0"
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
PIN = "overlays/dev/models/iris/kustomization.yaml"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                   capture_output=True)


@pytest.fixture()
def repo(tmp_path: Path, mirror_dir: Path) -> Repository:
    """The engines fixture, its dev overlay including an upstream base
    (Katib), a model pinned in overlays/dev/models that both entry points
    deploy, and the committed CRD index; one commit."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    write(root, "base/upstream/kustomization.yaml", KUSTOMIZATION + f"resources:\n- {KATIB}\n")
    write(root, "overlays/dev/kustomization.yaml", KUSTOMIZATION + "resources:\n- ../../base/app\n- ../../base/upstream\n")
    write(root, "models/iris/deploy/kustomization.yaml", KUSTOMIZATION + "namespace: app\nresources:\n- server.yaml\n")
    write(root, "models/iris/deploy/server.yaml", (FIXTURE / "base/app/seldondeployment.yaml").read_text()
          .replace("name: iris\n", "name: iris-pinned\n", 1))
    write(root, "overlays/dev/models/kustomization.yaml", KUSTOMIZATION + "resources:\n- iris\n")
    write(root, PIN, KUSTOMIZATION + "resources:\n- ../../../../models/iris/deploy\n")
    sync = root / "clusters/c1/flux/sync.yaml"
    sync.write_text(sync.read_text() + "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
                    "metadata:\n  name: models\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n"
                    "  path: ./overlays/dev/models\n  sourceRef:\n    kind: GitRepository\n    name: shipyard\n")
    apps = root / "clusters/c1/argocd/apps.yaml"
    apps.write_text(apps.read_text() + "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
                    "  name: models\n  namespace: argocd\nspec:\n  project: default\n  destination:\n"
                    "    server: https://kubernetes.default.svc\n  source:\n"
                    "    repoURL: https://github.com/example/engines.git\n    targetRevision: main\n"
                    "    path: overlays/dev/models\n")
    loaded = Repository.load(root)
    with open_renderer(loaded, use_cache=False) as renderer:
        write_index(root, build_index(entry_point_crds(renderer, loaded)))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return Repository.load(root)


def upstream_builds() -> int:
    return sum(1 for call, _seconds in TOOL_CLOCK.log if call.startswith("kustomize build base/upstream"))


def run(repo: Repository, *, cold: bool = True, stand_ins: bool = True) -> list[tuple[str, str, str]]:
    if cold:
        shutil.rmtree(repo.root / ".shipyard-cache", ignore_errors=True)
    if not stand_ins:
        os.environ["SHIPYARD_SHARED_BASES"] = "0"
    TOOL_CLOCK.reset()
    try:
        report = validate(repo, changed_since="HEAD")
    finally:
        os.environ.pop("SHIPYARD_SHARED_BASES", None)
    assert {t.name for t in report.targets} >= {"clusters/c1/argocd", "clusters/c1/flux"}
    return sorted((f.check, f.location, f.message) for f in report.findings)


def test_a_model_change_leaves_the_upstream_base_unrendered_and_finds_what_a_full_render_finds(
        repo: Repository) -> None:
    # The pin moves the model into a namespace nothing creates (SY403).
    write(repo.root, PIN, KUSTOMIZATION + "namespace: nowhere\nresources:\n- ../../../../models/iris/deploy\n")
    found = run(repo)
    assert upstream_builds() == 0
    assert any(check == "SY403" and "nowhere" in message for check, _where, message in found)
    everything = run(repo, stand_ins=False)
    assert upstream_builds() == 0  # built inside the overlay: no build of its own
    # The same findings, but for those on the upstream objects themselves,
    # which the change cannot reach (the fixture's Katib has one: SY305).
    upstream = [f for f in everything if f[1].startswith("https://github.com/kubeflow/katib//")]
    assert upstream and found == [f for f in everything if f not in upstream]


def test_a_change_outside_the_models_renders_the_upstream_base(repo: Repository) -> None:
    configmap = repo.root / "base/app/configmap.yaml"
    configmap.write_text(configmap.read_text() + "\n# edited\n")
    run(repo)
    assert upstream_builds() == 1


def test_a_model_change_that_adds_a_kind_beyond_the_models_renders_the_upstream_base(repo: Repository) -> None:
    write(repo.root, "overlays/dev/models/iris/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n"
          "  name: nowhere\n")
    write(repo.root, PIN, KUSTOMIZATION + "resources:\n- ../../../../models/iris/deploy\n- namespace.yaml\n")
    run(repo)
    assert upstream_builds() == 1


def test_with_a_warm_cache_the_upstream_objects_are_checked_from_it(repo: Repository) -> None:
    validate(repo)  # a full run fills the cache
    write(repo.root, PIN, KUSTOMIZATION + "commonAnnotations: {edited: 'yes'}\n"
          "resources:\n- ../../../../models/iris/deploy\n")
    TOOL_CLOCK.reset()
    report = validate(repo, changed_since="HEAD")
    assert upstream_builds() == 0
    flux = next(t for t in report.targets if t.name == "clusters/c1/flux")
    assert any(o.kind == "Deployment" and o.name == "katib-controller" for o in flux.objects)


def helm_templates() -> int:
    return sum(1 for call, _seconds in TOOL_CLOCK.log if call.startswith("helm template"))


def test_a_model_change_leaves_chart_releases_unrendered_and_finds_what_a_full_render_finds(
        repo: Repository) -> None:
    write(repo.root, PIN, KUSTOMIZATION + "namespace: nowhere\nresources:\n- ../../../../models/iris/deploy\n")
    found = run(repo)
    assert helm_templates() == 0
    everything = run(repo, stand_ins=False)
    assert helm_templates() >= 1
    # What the full run finds beyond the stand-in run is on upstream or
    # chart objects only, which the change cannot reach.
    beyond = [f for f in everything if f not in found]
    assert all(f[1].startswith(("https://github.com/kubeflow/katib//", "chart:")) for f in beyond), beyond
    assert [f for f in found if f not in everything] == []


def test_a_release_stands_in_only_when_neither_it_nor_its_values_changed_or_live_with_the_models(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.objects import K8sObject, Source

    release = K8sObject({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                         "metadata": {"name": "seldon-core", "namespace": "seldon-system"}},
                        Source("base/seldon-core/helmrelease.yaml", 1))
    with open_renderer(repo, use_cache=False) as renderer:
        assert not renderer.chart_may_stand_in(release, [])  # not a --changed-since run
        renderer.stand_in_unless = {PIN}
        assert renderer.chart_may_stand_in(release, [])
        assert renderer.chart_may_stand_in(release, ["base/seldon-core/values.yaml"])
        assert not renderer.chart_may_stand_in(release, ["models/iris/values.yaml"])  # values from a model's folder
        assert not renderer.chart_may_stand_in(release, [""])  # a values source that was not found
        renderer.stand_in_unless = {PIN, "base/seldon-core/values.yaml"}
        assert not renderer.chart_may_stand_in(release, ["base/seldon-core/values.yaml"])
        renderer.stand_in_unless = {PIN, "base/seldon-core/helmrelease.yaml"}
        assert not renderer.chart_may_stand_in(release, [])
        renderer.stand_in_unless = {PIN}
        monkeypatch.setenv("SHIPYARD_SHARED_BASES", "0")
        assert not renderer.chart_may_stand_in(release, [])
