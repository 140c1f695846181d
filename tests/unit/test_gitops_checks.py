"""SY409-SY412 (checks/gitops.py) and the GitOps wiring around them: what
Argo CD's AppProjects and Flux's dependsOn refuse, cluster folders that do
not point at themselves, cluster.yaml facts, chartRef releases, files and
settings named on the command line.

Argo CD's matching is checked against upstream's own test tables and its
documented example project (tests/fixtures/upstream/argo-cd); Flux's
examples (tests/fixtures/upstream/flux) must render or be reported as not
rendered, never fail the run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.checks import argocd_project, gitops
from shipyard.checks.context import CheckContext
from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.load import load_file
from shipyard.render.target import RenderedTarget
from shipyard.repo import Cluster, Repository
from shipyard.targets import targets_for_paths
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
UPSTREAM = FIXTURES / "upstream"
ENGINES = FIXTURES / "repos" / "engines"
MATCHING = yaml.safe_load((UPSTREAM / "argo-cd" / "app_project_matching.yaml").read_text(encoding="utf-8"))
GITOPS = {"SY409", "SY410", "SY411", "SY412"}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One render cache for every copy of the engines fixture: renders are
    keyed by the content of what they read, so an edited copy misses."""
    return tmp_path_factory.mktemp("render-cache")


@pytest.fixture()
def engines(tmp_path: Path, mirror_dir: Path, render_cache: Path) -> Path:
    root = tmp_path / "engines"
    shutil.copytree(ENGINES, root)
    (root / ".shipyard-cache").symlink_to(render_cache)
    return root


def found(root: Path, checks: set[str], paths: list[str] | None = None) -> list[Finding]:
    return validate(Repository.load(root), paths, only=checks, cwd=root).findings


# --------------------------------------------------------------------------
# Argo CD's matching: upstream's tables, row for row


@pytest.mark.parametrize("row", MATCHING["sources"], ids=lambda r: f"{r['sourceRepos']}~{r['repoURL']}")
def test_source_permitted_answers_as_argo_cd(row: dict[str, Any]) -> None:
    assert argocd_project.source_permitted(row["sourceRepos"], row["repoURL"]) is row["permitted"]


@pytest.mark.parametrize("row", MATCHING["destinations"], ids=lambda r: f"{r['destinations']}~{r['app']}")
def test_destination_permitted_answers_as_argo_cd(row: dict[str, Any]) -> None:
    app = row["app"]
    assert argocd_project.destination_permitted(row["destinations"], app.get("server", ""), app.get("name", ""),
                                        app.get("namespace", "")) is row["permitted"]


@pytest.mark.parametrize("row", MATCHING["globs"], ids=lambda r: f"{r['pattern']}~{r['value']}")
def test_glob_match_answers_as_argo_cd(row: dict[str, Any]) -> None:
    assert argocd_project.glob_match(row["pattern"], row["value"], row["allowNegation"]) is row["matches"]


def test_group_kind_rules_of_argo_cd() -> None:
    """TestAppProject_IsGroupKindPermitted: an empty namespace whitelist
    permits nothing, an absent one everything; a cluster kind must be
    whitelisted; a blacklist wins; a named cluster entry matches by name."""
    refuse = argocd_project.kind_refusal
    empty_white = {"namespaceResourceWhitelist": [], "namespaceResourceBlacklist": [{"group": "apps", "kind": "Deployment"}]}
    assert refuse(empty_white, "apps", "ReplicaSet", "", True) is not None
    assert refuse(empty_white, "apps", "Deployment", "", True) is not None
    listed = {"namespaceResourceWhitelist": [{"group": "apps", "kind": "ReplicaSet"}],
              "namespaceResourceBlacklist": [{"group": "apps", "kind": "Deployment"}]}
    assert refuse(listed, "apps", "ReplicaSet", "", True) is None
    assert refuse(listed, "apps", "Action", "", True) is not None
    assert refuse({"clusterResourceBlacklist": [{"group": "", "kind": "Namespace"}]}, "", "Namespace", "", False)
    both = {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}], "clusterResourceBlacklist": [{"group": "*", "kind": "*"}]}
    assert refuse(both, "", "Namespace", "", False) and refuse(both, "apps", "Action", "", True) is None
    assert refuse({}, "", "Namespace", "", False) and refuse({}, "apps", "Action", "", True) is None
    named = {"clusterResourceWhitelist": [{"group": "", "kind": "Namespace", "name": "team1-*"}]}
    assert refuse(named, "", "Namespace", "other-namespace", False)
    assert refuse(named, "", "Namespace", "team1-namespace", False) is None


def test_argo_cd_documented_project_permits_what_its_comments_say() -> None:
    """docs/operator-manual/project.yaml at v3.5.1: any repository; guestbook
    and guestbook-* in-cluster; only Namespace cluster-wide, but not kube-*;
    Deployment and StatefulSet only (the whitelist), never ResourceQuota."""
    (project,) = load_file(UPSTREAM / "argo-cd" / "project.yaml", "project.yaml").objects
    spec = project.body["spec"]
    assert argocd_project.source_permitted(spec["sourceRepos"], "https://github.com/any/thing.git")
    for namespace, permitted in (("guestbook", True), ("guestbook-ui", True), ("default", False)):
        assert argocd_project.destination_permitted(spec["destinations"], argocd_project.IN_CLUSTER_SERVER, argocd_project.IN_CLUSTER_NAME,
                                            namespace) is permitted
    assert argocd_project.kind_refusal(spec, "", "Namespace", "team-a", False) is None
    assert "Blacklist" in (argocd_project.kind_refusal(spec, "", "Namespace", "kube-public", False) or "")
    assert argocd_project.kind_refusal(spec, "apps", "StatefulSet", "db", True) is None
    assert argocd_project.kind_refusal(spec, "", "ResourceQuota", "q", True)
    assert argocd_project.kind_refusal(spec, "rbac.authorization.k8s.io", "ClusterRole", "r", False)
    assert argocd_project.app_namespace_permitted(spec["sourceNamespaces"], "argocd-apps-team")
    assert not argocd_project.app_namespace_permitted(spec["sourceNamespaces"], "team")
    assert argocd_project.app_namespace_permitted(spec["sourceNamespaces"], "argocd")


# --------------------------------------------------------------------------
# SY409 on rendered entry points


PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: apps
  namespace: argocd
spec:
  sourceRepos: [https://github.com/example/engines.git]
  destinations:
  - {server: https://kubernetes.default.svc, namespace: app}
  namespaceResourceWhitelist:
  - {group: "", kind: ConfigMap}
"""


def with_project(root: Path) -> None:
    """The engines fixture's dev Application in a project of its own."""
    (root / "clusters/c1/argocd/project.yaml").write_text(PROJECT, encoding="utf-8")
    edit(root / "clusters/c1/argocd/kustomization.yaml", "- apps.yaml", "- apps.yaml\n- project.yaml")
    edit(root / "clusters/c1/argocd/apps.yaml", "project: default", "project: apps")
    edit(root / "clusters/c1/argocd/apps.yaml", "server: https://kubernetes.default.svc",
         "server: https://kubernetes.default.svc\n    namespace: app")


def test_sy409_kinds_the_project_leaves_out_are_blamed_on_their_files(engines: Path) -> None:
    with_project(engines)
    findings = found(engines, {"SY409"})
    where = sorted((f.file, f.object.kind if f.object else "") for f in findings)
    # Namespaces are cluster-scoped (no clusterResourceWhitelist: none
    # permitted); the SeldonDeployment is not in the namespace whitelist;
    # the ConfigMap is; seldon-core's project `default` is Argo CD's own.
    assert where == [("base/app/namespace.yaml", "Namespace"), ("base/app/seldondeployment.yaml", "SeldonDeployment")]
    namespaces = next(f for f in findings if f.object and f.object.kind == "Namespace")
    assert "and 1 more" in namespaces.message and "clusterResourceWhitelist" in namespaces.message


def test_sy409_the_repository_url_changed_everywhere_but_the_project(engines: Path) -> None:
    with_project(engines)
    edit(engines / "clusters/c1/argocd/project.yaml", "  namespaceResourceWhitelist:\n  - {group: \"\", kind: ConfigMap}\n", "")
    for rel in ("shipyard.yaml", "clusters/c1/argocd/apps.yaml", "clusters/c1/flux/sync.yaml",
                "base/seldon-core/argocd/application.yaml"):
        edit(engines / rel, "example/engines.git", "example/renamed.git")
    findings = found(engines, {"SY404", "SY409"})
    assert [(f.check, f.file, f.line) for f in findings if "repoURL" in f.message] == [
        ("SY409", "clusters/c1/argocd/apps.yaml", 12)]
    assert not [f for f in findings if f.check == "SY404"]


def test_sy409_an_application_naming_a_project_the_entry_point_lacks(engines: Path) -> None:
    with_project(engines)
    edit(engines / "clusters/c1/argocd/apps.yaml", "project: apps", "project: apss")
    (finding,) = found(engines, {"SY409"})
    assert (finding.file, finding.line) == ("clusters/c1/argocd/apps.yaml", 7)
    assert "'apss', which is not defined in clusters/c1/argocd (its projects: apps)" in finding.message


def test_sy409_a_file_checked_alone_does_not_judge_a_project_defined_beside_it(engines: Path) -> None:
    with_project(engines)
    edit(engines / "clusters/c1/argocd/apps.yaml", "project: apps", "project: elsewhere")
    assert found(engines, {"SY409"}, ["clusters/c1/argocd/apps.yaml"]) == []


# --------------------------------------------------------------------------
# SY410: a copied cluster folder


@pytest.fixture()
def repo_copy(tmp_path: Path, mirror_dir: Path) -> Path:
    """This repository's manifests in a temporary folder, sharing the
    render cache (renders are keyed by content)."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("base", "overlays", "clusters", "models"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "shipyard.yaml", root / "shipyard.yaml")
    (ROOT / ".shipyard-cache").mkdir(exist_ok=True)
    (root / ".shipyard-cache").symlink_to(ROOT / ".shipyard-cache")
    return root


def test_sy410_cp_r_of_a_cluster_folder_is_caught(repo_copy: Path) -> None:
    shutil.copytree(repo_copy / "clusters" / "production", repo_copy / "clusters" / "edge-gpu")  # cp -r
    report = validate(Repository.load(repo_copy), ["clusters/edge-gpu"], only=GITOPS, cwd=repo_copy)
    assert {t.name for t in report.targets} == {"clusters/edge-gpu/argocd", "clusters/edge-gpu/flux"}
    assert sorted((f.check, f.file, f.line) for f in report.findings) == [
        ("SY410", "clusters/edge-gpu/argocd/root.yaml", 16),
        ("SY410", "clusters/edge-gpu/cluster.yaml", 5),
        ("SY410", "clusters/edge-gpu/flux/kustomizations.yaml", 10),
    ]
    assert all("production" in f.message for f in report.findings)


# --------------------------------------------------------------------------
# SY412 on Flux's documented example


def flux_target(objects_file: Path) -> CheckContext:
    loaded = load_file(objects_file, objects_file.name, target="t")
    cluster = Cluster("c", objects_file.parent, "dev", "1.33.0", ("flux",))
    return CheckContext([RenderedTarget("t", "overlay", loaded.objects, "1.33.0", cluster=cluster, engine="flux")])


def test_sy412_the_documented_dependency_passes_and_a_typo_in_it_does_not(tmp_path: Path) -> None:
    upstream = UPSTREAM / "flux" / "kustomization-dependencies.yaml"
    assert list(gitops.depends_on_exists(flux_target(upstream))) == []
    broken = tmp_path / "deps.yaml"
    broken.write_text(upstream.read_text().replace("- name: cert-manager", "- name: certmanager"))
    (finding,) = gitops.depends_on_exists(flux_target(broken))
    assert finding.line == 27 and "flux-system/certmanager" in finding.message


# --------------------------------------------------------------------------
# HelmRelease chartRef (helm-controller v1.6.3)


OCI = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: seldon-core-operator
  namespace: seldon-system
spec:
  interval: 1h
  url: oci://ghcr.io/example/charts/seldon-core-operator
  ref:
    tag: 1.17.1
"""
HELMCHART = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata:
  name: seldon-core-operator
  namespace: seldon-system
spec:
  interval: 1h
  chart: seldon-core-operator
  version: 1.17.1
  sourceRef: {kind: HelmRepository, name: seldon}
"""
CHART_SPEC = """  chart:
    spec:
      chart: seldon-core-operator
      version: 1.17.1
      sourceRef:
        kind: HelmRepository
        name: seldon
"""


def use_chart_ref(root: Path, kind: str, source: str) -> None:
    release = root / "base/seldon-core/helmrelease.yaml"
    edit(release, CHART_SPEC, f"  chartRef:\n    kind: {kind}\n    name: seldon-core-operator\n")
    release.write_text(release.read_text() + source)


def flux_objects(root: Path) -> list[Any]:
    report = validate(Repository.load(root), ["clusters/c1/flux"], only={"SY402"}, cwd=root)
    return [o for t in report.targets for o in t.objects]


def test_chart_ref_to_a_helmchart_renders_its_helmrepository_chart(engines: Path) -> None:
    use_chart_ref(engines, "HelmChart", HELMCHART)
    findings = found(engines, {"SY402", "SY405", "SY406", "SY903"})
    assert findings == []  # the same chart, rendered once for both engines


def test_chart_ref_to_an_oci_chart_the_mirror_holds_is_rendered(engines: Path) -> None:
    use_chart_ref(engines, "OCIRepository", OCI)
    names = {(o.kind, o.name) for o in flux_objects(engines)}
    assert ("Deployment", "seldon-controller-manager") in names


def test_an_oci_chart_the_mirror_lacks_is_reported_not_rendered(engines: Path) -> None:
    """Flux's documented OCIRepository example (podinfo from ghcr.io): a
    warning that says it was not rendered; the rest of the run goes on."""
    shutil.copy(UPSTREAM / "flux" / "helmrelease-chartref-oci.yaml", engines / "base/app/podinfo.yaml")
    edit(engines / "base/app/kustomization.yaml", "- seldondeployment.yaml", "- seldondeployment.yaml\n- podinfo.yaml")
    findings = found(engines, {"SY402", "SY903"})
    (finding,) = {(f.check, f.file, f.line, f.severity, f.message) for f in findings}
    assert finding[:4] == ("SY903", "base/app/podinfo.yaml", 12, "warning")
    assert "oci://ghcr.io/stefanprodan/charts/podinfo >= 6.0.0" in finding[4] and "was not rendered" in finding[4]


def test_chart_and_chart_ref_together_are_refused(engines: Path) -> None:
    release = engines / "base/seldon-core/helmrelease.yaml"
    edit(release, CHART_SPEC, CHART_SPEC + "  chartRef: {kind: OCIRepository, name: seldon-core-operator}\n")
    findings = [f for f in found(engines, {"SY109", "SY402"}) if f.file == "base/seldon-core/helmrelease.yaml"]
    # The HelmRelease CRD's own CEL rule refuses it, once, with its message.
    assert {(f.check, f.message.split(" (CEL rule")[0]) for f in findings} == {
        ("SY109", "spec: either chart or chartRef must be set")}


def test_a_reference_without_a_name_never_reads_none(engines: Path) -> None:
    edit(engines / "base/seldon-core/helmrelease.yaml", "        name: seldon\n", "")
    messages = [f.message for f in found(engines, {"SY402"})]
    assert messages and all("None" not in m for m in messages)
    assert any("HelmRepository (no name)" in m for m in messages)


# --------------------------------------------------------------------------
# A file checked alone; settings named on the command line


def test_a_helmrelease_checked_alone_finds_its_sources_in_its_folder(engines: Path) -> None:
    report = validate(Repository.load(engines), ["base/seldon-core/helmrelease.yaml"], only={"SY402"}, cwd=engines)
    assert report.findings == []
    assert any(o.kind == "Deployment" for t in report.targets for o in t.objects)  # the chart was rendered


def test_a_reference_its_folder_does_not_settle_is_not_checked_not_missing(engines: Path) -> None:
    edit(engines / "base/seldon-core/helmrepository.yaml", "name: seldon", "name: seldon-charts")
    (finding,) = found(engines, {"SY402"}, ["base/seldon-core/helmrelease.yaml"])
    assert finding.severity == "warning"
    assert "not defined in base/seldon-core/helmrelease.yaml or its folder: the reference was not checked" in finding.message
    # the entry point that deploys it still refuses it
    assert [f.severity for f in found(engines, {"SY402"}) if f.file == "base/seldon-core/helmrelease.yaml"] == ["error"]


@pytest.mark.parametrize("path, targets", [
    ("models/iris", ["overlays/dev/models/iris", "overlays/staging/models/iris", "overlays/production/models/iris"]),
    ("models/iris/model.yaml", ["overlays/dev/models/iris", "overlays/staging/models/iris",
                                "overlays/production/models/iris"]),
    ("clusters/staging", ["clusters/staging/argocd", "clusters/staging/flux"]),
    ("clusters/staging/cluster.yaml", ["clusters/staging/argocd", "clusters/staging/flux"]),
])
def test_a_setting_or_a_model_names_what_it_describes(path: str, targets: list[str]) -> None:
    repo = Repository.load(ROOT)
    assert [s.path for s in targets_for_paths(repo, [path], cwd=ROOT)] == targets


def test_shipyard_yaml_names_every_target() -> None:
    from shipyard.targets import all_targets

    repo = Repository.load(ROOT)
    assert targets_for_paths(repo, ["shipyard.yaml"], cwd=ROOT) == all_targets(repo)


def test_a_model_no_environment_pins_is_checked_through_model_yaml(engines: Path) -> None:
    report = validate(Repository.load(engines), ["models/iris/model.yaml"], cwd=engines)
    assert [(t.name, t.kind, t.objects) for t in report.targets] == [("models/iris", "model", [])]
    assert report.findings and {f.check for f in report.findings} <= {"SY501", "SY502", "SY503", "SY504", "SY505",
                                                                     "SY506", "SY507", "SY508", "SY509", "SY511",
                                                                     "SY512"}


def test_the_repository_model_validates_as_shipped(mirror_dir: Path) -> None:
    """model.yaml is not a Kubernetes object (no SY104/SY105), and the deploy
    base is checked with its pinned version (no SY203 for the modelUri the
    version component sets)."""
    kinds = {"SY104", "SY105", "SY203"} | {f"SY5{n:02d}" for n in range(1, 13)}
    for path in ("models/iris", "models/iris/model.yaml"):
        report = validate(Repository.load(ROOT), [path], cwd=ROOT, only=kinds)
        assert report.findings == [], (path, [f"{f.location} {f.check} {f.message}" for f in report.findings])


def test_a_plain_folder_walk_leaves_out_settings_files(tmp_path: Path) -> None:
    from shipyard.render.engine import folder_inputs

    for rel in ("shipyard.yaml", "clusters/c/cluster.yaml", "models/m/model.yaml", "models/m/monitor.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    assert [p.relative_to(tmp_path).as_posix() for _k, p in folder_inputs(tmp_path, tmp_path)] == ["models/m/monitor.yaml"]


# --------------------------------------------------------------------------
# A duplicate key in a file kustomize reads


def test_a_duplicate_key_in_a_resource_is_blamed_on_that_file_and_line(engines: Path) -> None:
    edit(engines / "base/app/configmap.yaml", "  mode: dev\n", "  mode: dev\n  mode: prod\n")
    with pytest.raises(ShipyardError) as error:
        found(engines, {"SY103"}, ["overlays/dev"])
    assert (error.value.check, error.value.file, error.value.line) == ("SY103", "base/app/configmap.yaml", 8)
    assert "duplicate key data.mode (first at line 7)" in error.value.message
    assert "None" not in error.value.message
