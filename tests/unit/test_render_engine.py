"""Rendering entry points the way Argo CD and Flux would, with the real
kustomize and helm, charts served from the mirror over loopback HTTP."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest

from shipyard.render.mirror import Mirror
from shipyard.repo import Repository
from shipyard.targets import all_targets, make_renderer, render_target, target_for_path
from shipyard.validate import validate

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "repos" / "engines"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def engines_repo(tmp_path: Path, mirror_dir: Path) -> Repository:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    return Repository.load(root)


def render(repo: Repository, path: str):
    renderer = make_renderer(repo, use_cache=False)
    try:
        return render_target(renderer, target_for_path(repo, path, cwd=repo.root))
    finally:
        if renderer.mirror:
            renderer.mirror.close()


def test_mirror_serves_a_real_chart_repository_on_loopback(mirror_dir: Path) -> None:
    mirror = Mirror(mirror_dir)
    try:
        url = mirror.chart_repo_url()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "index.yaml", timeout=10) as response:
            assert b"seldon-core-operator" in response.read()
        assert mirror.git_env()["GIT_CONFIG_VALUE_0"] == "https://github.com/"
    finally:
        mirror.close()


def test_flux_entry_point_expands_kustomizations_and_helmreleases(engines_repo: Repository) -> None:
    target = render(engines_repo, "clusters/c1/flux")
    refs = {(o.kind, o.namespace, o.name): o for o in target.objects}
    # the overlay a Flux Kustomization points at, with its source file
    assert refs[("ConfigMap", "app", "settings")].source.path == "base/app/configmap.yaml"
    # the chart the HelmRelease pins, rendered into the release namespace
    deployment = refs[("Deployment", "seldon-system", "seldon-controller-manager")]
    assert deployment.source.path == "chart:seldon-core-operator-1.17.1/templates/deployment_seldon-controller-manager.yaml"
    crd = refs[("CustomResourceDefinition", "", "seldondeployments.machinelearning.seldon.io")]
    assert crd.metadata.get("namespace") is None
    assert [c.version for c in target.charts] == ["1.17.1"]
    assert target.findings == []


def test_argocd_entry_point_reads_values_from_the_repository(engines_repo: Repository) -> None:
    values = engines_repo.root / "base" / "seldon-core" / "values.yaml"
    values.write_text("usageMetrics:\n  enabled: false\nexecutor:\n  port: 8123\n")
    target = render(engines_repo, "clusters/c1/argocd")
    config = next(o for o in target.objects if o.kind == "ConfigMap" and o.name == "seldon-config")
    assert "8123" in str(config.body) or any(
        "8123" in str(o.body) for o in target.objects if o.kind == "Deployment"
    )


def test_both_engines_of_the_fixture_agree_and_validate_clean(engines_repo: Repository) -> None:
    report = validate(engines_repo, use_cache=False, only={"SY401", "SY402", "SY403", "SY404", "SY405", "SY406", "SY407"})
    assert report.findings == []
    assert {t.name for t in report.targets} == {"overlays/dev", "clusters/c1/argocd", "clusters/c1/flux"}


def test_render_cache_reuses_an_unchanged_render_and_misses_after_an_edit(engines_repo: Repository) -> None:
    first = make_renderer(engines_repo)
    records = first.kustomize_records("overlays/dev")
    second = make_renderer(engines_repo)
    calls = []
    original = second.cache.put
    second.cache.put = lambda key, value: (calls.append(key), original(key, value))  # type: ignore[method-assign]
    assert second.kustomize_records("overlays/dev") == records
    assert calls == []  # served from the disk cache
    (engines_repo.root / "base" / "app" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: app\ndata:\n  mode: prod\n"
    )
    third = make_renderer(engines_repo)
    changed = third.kustomize_records("overlays/dev")
    assert any(body.get("data") == {"mode": "prod"} for body, *_ in changed)


def test_the_repository_root_as_a_path_means_every_target() -> None:
    """`shipyard validate .` at the root checks what `shipyard validate` does,
    not every file below it (test corpora with alias bombs live there too)."""
    from shipyard.targets import targets_for_paths  # noqa: PLC0415

    repo = Repository.load(ROOT)
    assert targets_for_paths(repo, ["."], cwd=ROOT) == all_targets(repo)
    assert targets_for_paths(repo, [str(ROOT), "overlays/dev"], cwd=ROOT) == all_targets(repo)
