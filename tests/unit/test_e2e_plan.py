"""The apply order the kind suite follows, computed from what an entry point
renders to (real kustomize and helm): for this repository's kind-e2e
cluster, and for small repositories written here that exercise Flux
dependsOn, Argo CD sync waves and hooks, inferred CRD and namespace
dependencies, and the errors (cycles, references to nothing)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from shipyard.cli import main
from shipyard.e2e.plan import Plan, PlanError, build_plan, describe, identity, plan_for, render_entry_point
from shipyard.objects import K8sObject
from shipyard.repo import Repository

REPO_ROOT = Path(__file__).resolve().parents[2]
ENGINES_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "repos" / "engines"
URL = "https://github.com/example/plan.git"


# -- independent checks of a plan (not the planner's own verify) -------------


def position_of(plan: Plan) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    return {identity(o): (s, i) for s, step in enumerate(plan.steps) for i, o in enumerate(step.objects)}


def assert_definitions_first(plan: Plan) -> None:
    where = position_of(plan)
    crds = {}
    namespaces = {}
    for obj in plan.ordered_objects():
        if obj.kind == "CustomResourceDefinition":
            spec = obj.body["spec"]
            crds[(spec["group"], spec["names"]["kind"])] = where[identity(obj)]
        if obj.kind == "Namespace":
            namespaces[obj.name] = where[identity(obj)]
    for obj in plan.ordered_objects():
        here = where[identity(obj)]
        if (obj.group, obj.kind) in crds:
            assert crds[(obj.group, obj.kind)] < here, f"{describe(obj)} is applied before its CRD"
        if obj.namespace in namespaces:
            assert namespaces[obj.namespace] < here, f"{describe(obj)} is applied before its namespace"


def step_index(plan: Plan, predicate) -> list[int]:
    return [n for n, step in enumerate(plan.steps) if any(predicate(o) for o in step.objects)]


# -- this repository's kind-e2e cluster ----------------------------------------


@pytest.fixture(scope="module")
def kind_e2e(mirror_dir: Path):
    assert (REPO_ROOT / "clusters" / "kind-e2e" / "cluster.yaml").is_file(), "the kind suite's cluster is missing"
    repo = Repository.load(REPO_ROOT)
    target = render_entry_point(repo, "kind-e2e", "flux")
    return target, build_plan(target)


def test_kind_e2e_plan_places_every_rendered_object_exactly_once(kind_e2e) -> None:
    target, plan = kind_e2e
    placed = [identity(o) for o in plan.ordered_objects()]
    assert len(placed) == len(set(placed)), "an object is applied twice"
    skipped = {id(s.obj) for s in plan.skipped}
    for obj in target.objects:
        assert identity(obj) in set(placed) or id(obj) in skipped, f"{describe(obj)} is neither applied nor skipped"
    # what is not applied is the engine's own objects, or a duplicate, or a hook a first install does not run
    for item in plan.skipped:
        assert item.reason, describe(item.obj)


def test_kind_e2e_plan_installs_crds_and_namespaces_then_operators_then_models(kind_e2e) -> None:
    _, plan = kind_e2e
    assert_definitions_first(plan)
    operator = step_index(plan, lambda o: o.kind == "Deployment" and o.name == "seldon-controller-manager")
    models = step_index(plan, lambda o: o.kind == "SeldonDeployment")
    assert operator and models, "kind-e2e must install the seldon operator and at least one SeldonDeployment"
    assert max(operator) < min(models), "a SeldonDeployment is applied before the seldon operator"
    first_crd = step_index(plan, lambda o: o.kind == "CustomResourceDefinition")
    assert min(first_crd) <= min(operator)


def test_kind_e2e_plan_is_the_same_every_time(kind_e2e) -> None:
    target, plan = kind_e2e
    again = build_plan(target)
    assert [(s.name, [identity(o) for o in s.objects]) for s in again.steps] == \
        [(s.name, [identity(o) for o in s.objects]) for s in plan.steps]


# -- small repositories ----------------------------------------------------------


def write_repo(root: Path, files: dict[str, str]) -> Repository:
    files = {
        "shipyard.yaml": f"repository:\n  url: {URL}\n",
        "clusters/c/cluster.yaml": "kind: Cluster\nspec:\n  environment: dev\n  kubernetesVersion: '1.33'\n",
        **files,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return Repository.load(root)


GITREPO = f"""
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: repo, namespace: flux-system}}
spec: {{url: {URL}, interval: 1m, ref: {{branch: main}}}}
"""


def flux_kustomization(name: str, path: str, depends_on: list[str] = (), wait: bool = False) -> str:
    deps = "".join(f"\n  - name: {d}" for d in depends_on)
    return f"""---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  interval: 10m
  wait: {str(wait).lower()}
  path: ./{path}
  prune: true
  sourceRef: {{kind: GitRepository, name: repo}}
  dependsOn:{deps or ' []'}
"""


def configmap(name: str, namespace: str = "default", annotations: dict[str, str] | None = None) -> str:
    notes = ""
    if annotations:
        notes = "\n  annotations:" + "".join(f"\n    {k}: {v!r}" for k, v in annotations.items())
    return f"""---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {namespace}{notes}
data: {{key: value}}
"""


def crd(group: str, kind: str) -> str:
    plural = kind.lower() + "s"
    return f"""---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: {kind}, plural: {plural}, singular: {kind.lower()}, listKind: {kind}List}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""


def custom(group: str, kind: str, name: str, namespace: str = "default") -> str:
    return f"""---
apiVersion: {group}/v1
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
"""


def namespace(name: str) -> str:
    return f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"


def flux_plan(repo: Repository) -> Plan:
    return build_plan(render_entry_point(repo, "c", "flux", use_cache=False))


def names(plan: Plan) -> list[str]:
    return [s.name for s in plan.steps]


def test_flux_depends_on_orders_kustomizations_whatever_their_file_order(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("apps", "apps", ["infra"])
        + flux_kustomization("infra", "infra"),
        "apps/app.yaml": configmap("app"),
        "infra/infra.yaml": configmap("infra"),
    })
    plan = flux_plan(repo)
    assert names(plan) == ["Kustomization flux-system/infra", "Kustomization flux-system/apps"]
    assert any("dependsOn Kustomization flux-system/infra" in reason for reason in plan.steps[1].after)
    # Flux waits for a Kustomization's objects only when it says `wait: true`
    assert [s.wait for s in plan.steps] == [False, False]
    # the GitOps objects are read for the order, not applied
    assert {s.obj.kind for s in plan.skipped} == {"GitRepository", "Kustomization"}


def test_without_depends_on_the_render_order_is_kept(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("apps", "apps") + flux_kustomization("infra", "infra"),
        "apps/app.yaml": configmap("app"),
        "infra/infra.yaml": configmap("infra"),
    })
    assert names(flux_plan(repo)) == ["Kustomization flux-system/apps", "Kustomization flux-system/infra"]


def test_depends_on_a_kustomization_that_does_not_exist_is_an_error_naming_the_line(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("apps", "apps", ["infra"]),
        "apps/app.yaml": configmap("app"),
    })
    with pytest.raises(PlanError) as error:
        flux_plan(repo)
    assert error.value.check == "SY402"
    assert "dependsOn Kustomization flux-system/infra" in error.value.message
    assert error.value.file == "clusters/c/flux/sync.yaml"
    text = (tmp_path / "clusters/c/flux/sync.yaml").read_text().splitlines()
    assert "- name: infra" in text[error.value.line - 1]


def test_a_depends_on_cycle_is_an_error_that_names_both_ends(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("a", "a", ["b"]) + flux_kustomization("b", "b", ["a"]),
        "a/cm.yaml": configmap("a"),
        "b/cm.yaml": configmap("b"),
    })
    with pytest.raises(PlanError) as error:
        flux_plan(repo)
    message = error.value.message
    assert message.startswith("no install order exists")
    assert "Kustomization flux-system/a dependsOn Kustomization flux-system/b" in message
    assert "Kustomization flux-system/b dependsOn Kustomization flux-system/a" in message


def test_crds_and_namespaces_from_another_kustomization_are_waited_for(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        # models is listed first and says nothing about its needs
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("models", "models")
        + flux_kustomization("operator", "operator", wait=True) + flux_kustomization("namespaces", "namespaces"),
        "models/model.yaml": custom("ml.example.com", "Model", "iris", "models"),
        "operator/crd.yaml": crd("ml.example.com", "Model"),
        "operator/cm.yaml": configmap("operator-settings", "ops"),
        "namespaces/ns.yaml": namespace("models") + namespace("ops"),
    })
    plan = flux_plan(repo)
    assert_definitions_first(plan)
    order = names(plan)
    assert order.index("Kustomization flux-system/operator") < order.index("Kustomization flux-system/models")
    models_step = plan.steps[order.index("Kustomization flux-system/models")]
    assert any("needs CRD models.ml.example.com" in r for r in models_step.after)
    waits = {s.name: s.wait for s in plan.steps}
    assert waits["Kustomization flux-system/operator"] is True and waits["Kustomization flux-system/models"] is False
    assert all(w for n, w in waits.items() if n.endswith("namespaces and CRDs"))
    # namespaces and CRDs of a unit go first, in a step of their own
    assert plan.steps[0].name == "Kustomization flux-system/models: namespaces and CRDs" or \
        plan.steps[0].stage == "namespaces and CRDs"


def test_crds_that_need_each_other_across_kustomizations_are_a_cycle(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("x", "x") + flux_kustomization("y", "y"),
        "x/all.yaml": crd("a.example.com", "Widget") + custom("b.example.com", "Gadget", "g"),
        "y/all.yaml": crd("b.example.com", "Gadget") + custom("a.example.com", "Widget", "w"),
    })
    with pytest.raises(PlanError) as error:
        flux_plan(repo)
    assert "needs CRD" in error.value.message and error.value.check == "SY402"


def test_a_custom_resource_whose_crd_nothing_installs_is_an_error(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("apps", "apps"),
        "apps/monitor.yaml": custom("monitoring.coreos.com", "ServiceMonitor", "iris"),
    })
    with pytest.raises(PlanError) as error:
        flux_plan(repo)
    assert error.value.file == "apps/monitor.yaml"
    assert "ServiceMonitor" in error.value.message and "CustomResourceDefinition" in error.value.message


def test_a_namespace_nothing_creates_is_an_error(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("apps", "apps"),
        "apps/cm.yaml": configmap("settings", "nowhere"),
    })
    with pytest.raises(PlanError) as error:
        flux_plan(repo)
    assert error.value.check == "SY403" and "'nowhere'" in error.value.message
    assert error.value.file == "apps/cm.yaml"


ARGO_APP = """---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
  annotations: {{argocd.argoproj.io/sync-wave: "{wave}"}}
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: default}}
  source: {{repoURL: %s, targetRevision: main, path: {path}}}
""" % URL


def argo_plan(repo: Repository) -> Plan:
    return build_plan(render_entry_point(repo, "c", "argocd", use_cache=False))


def test_argocd_sync_waves_order_applications_and_their_objects(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/argocd/apps.yaml": ARGO_APP.format(name="models", wave=5, path="models")
        + ARGO_APP.format(name="platform", wave=-1, path="platform"),
        "platform/cm.yaml": configmap("late", annotations={"argocd.argoproj.io/sync-wave": "2"})
        + configmap("early", annotations={"argocd.argoproj.io/sync-wave": "-3"})
        + configmap("migrate", annotations={"argocd.argoproj.io/hook": "PreSync"})
        + configmap("never", annotations={"argocd.argoproj.io/hook": "Skip"}),
        "models/cm.yaml": configmap("model"),
    })
    plan = argo_plan(repo)
    applied = [o.name for o in plan.ordered_objects()]
    assert applied == ["migrate", "early", "late", "model"]
    assert all(s.wait for s in plan.steps)  # Argo CD waits for health between waves
    assert [s.name for s in plan.steps] == [
        "Application platform: pre-install hooks", "Application platform: wave -3",
        "Application platform: wave 2", "Application models",
    ]
    assert any("earlier sync wave" in r for r in plan.steps[-1].after)
    assert [(s.obj.name, "Skip" in s.reason) for s in plan.skipped if s.obj.kind == "ConfigMap"] == [("never", True)]


def test_a_sync_wave_that_is_not_a_number_is_an_error(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, {
        "clusters/c/argocd/apps.yaml": ARGO_APP.format(name="platform", wave="soon", path="platform"),
        "platform/cm.yaml": configmap("x"),
    })
    with pytest.raises(PlanError) as error:
        argo_plan(repo)
    assert "sync-wave" in error.value.message and error.value.file == "clusters/c/argocd/apps.yaml"


def test_helmrelease_create_namespace_is_installed_before_the_chart(tmp_path: Path, mirror_dir: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ENGINES_FIXTURE, root, ignore=shutil.ignore_patterns(".shipyard-cache"))
    release = root / "base" / "seldon-core" / "helmrelease.yaml"
    release.write_text(release.read_text() + "  targetNamespace: seldon-ops\n  install:\n    createNamespace: true\n",
                       encoding="utf-8")
    plan = plan_for(Repository.load(root), "c1", "flux", use_cache=False)
    assert_definitions_first(plan)
    created = [o for o in plan.ordered_objects() if o.kind == "Namespace" and o.name == "seldon-ops"]
    assert len(created) == 1 and created[0].source.path == "base/seldon-core/helmrelease.yaml"
    operator = next(o for o in plan.ordered_objects() if o.kind == "Deployment")
    assert operator.namespace == "seldon-ops"


def test_a_release_in_a_namespace_only_it_creates_is_a_cycle(tmp_path: Path, mirror_dir: Path) -> None:
    """Flux cannot create a HelmRelease (and its values) in the namespace the
    release itself would create: the plan says so instead of hanging."""
    root = tmp_path / "repo"
    shutil.copytree(ENGINES_FIXTURE, root, ignore=shutil.ignore_patterns(".shipyard-cache"))
    (root / "base" / "app" / "namespace.yaml").write_text(namespace("app"), encoding="utf-8")
    release = root / "base" / "seldon-core" / "helmrelease.yaml"
    release.write_text(release.read_text() + "  install:\n    createNamespace: true\n", encoding="utf-8")
    with pytest.raises(PlanError, match="no install order exists: Kustomization flux-system/charts -> "
                       "HelmRelease seldon-system/seldon-core -> Kustomization flux-system/charts"):
        plan_for(Repository.load(root), "c1", "flux", use_cache=False)


def test_fixture_repository_both_engines_install_the_operator_before_the_model(mirror_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ENGINES_FIXTURE, root, ignore=shutil.ignore_patterns(".shipyard-cache"))
    kustomization = root / "base" / "app" / "kustomization.yaml"
    if "SeldonDeployment" not in "".join(p.read_text() for p in (root / "base" / "app").glob("*.yaml")):
        (root / "base" / "app" / "model.yaml").write_text(
            "apiVersion: machinelearning.seldon.io/v1\nkind: SeldonDeployment\nmetadata: {name: iris, namespace: app}\n"
            "spec: {predictors: [{name: default, graph: {name: c, implementation: SKLEARN_SERVER}}]}\n")
        kustomization.write_text(kustomization.read_text() + "- model.yaml\n")
    repo = Repository.load(root)
    for engine in ("flux", "argocd"):
        plan = plan_for(repo, "c1", engine, use_cache=False)
        assert_definitions_first(plan)
        operator = step_index(plan, lambda o: o.kind == "Deployment" and o.name == "seldon-controller-manager")
        model = step_index(plan, lambda o: o.kind == "SeldonDeployment")
        assert operator and model and max(operator) < min(model), engine


# -- the command -----------------------------------------------------------------


def test_e2e_plan_command_prints_the_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("apps", "apps", ["infra"])
        + flux_kustomization("infra", "infra"),
        "apps/app.yaml": configmap("app"),
        "infra/infra.yaml": configmap("infra"),
    })
    code = main(["e2e", "--plan", "--cluster", "c", "--repo", str(tmp_path), "--no-cache"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.index("1. Kustomization flux-system/infra") < out.index("2. Kustomization flux-system/apps")
    assert "- ConfigMap default/infra  (infra/infra.yaml:2)" in out


def test_e2e_plan_command_reports_a_cycle_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(tmp_path, {
        "clusters/c/flux/sync.yaml": GITREPO + flux_kustomization("a", "a", ["b"]) + flux_kustomization("b", "b", ["a"]),
        "a/cm.yaml": configmap("a"),
        "b/cm.yaml": configmap("b"),
    })
    code = main(["e2e", "--plan", "--cluster", "c", "--repo", str(tmp_path), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error [SY402]: clusters/c/flux/sync.yaml:")
    assert "Traceback" not in err


def test_e2e_command_names_an_unknown_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(tmp_path, {})
    code = main(["e2e", "--plan", "--cluster", "nope", "--repo", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown cluster 'nope'" in err and "clusters are: c" in err


def test_e2e_engine_must_be_one_the_cluster_declares(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_repo(tmp_path, {
        "clusters/c/cluster.yaml": "kind: Cluster\nspec:\n  environment: dev\n  engines: [flux]\n",
        "clusters/c/flux/sync.yaml": GITREPO,
    })
    code = main(["e2e", "--plan", "--cluster", "c", "--engine", "argocd", "--repo", str(tmp_path)])
    assert code == 2 and "does not declare engine argocd" in capsys.readouterr().err


def test_objects_built_by_hand_follow_the_same_rules() -> None:
    """build_plan needs only a RenderedTarget: the engine's naming of producers."""
    from shipyard.render.target import RenderedTarget
    from shipyard.objects import Source

    def obj(body: dict, target: str) -> K8sObject:
        return K8sObject(body=body, source=Source("x.yaml", 1), target=target)

    root = "clusters/c/flux"
    objects = [
        obj({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "k", "namespace": "flux-system"}}, root),
        obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}},
            f"{root} > Kustomization flux-system/k"),
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}, f"{root} > Kustomization flux-system/k"),
        obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}, f"{root} > Kustomization flux-system/k"),
    ]
    plan = build_plan(RenderedTarget(root, "entrypoint", objects, "1.33.0", engine="flux"))
    assert [[describe(o) for o in s.objects] for s in plan.steps] == [["Namespace n"], ["ConfigMap n/c"]]
    assert [s.reason for s in plan.skipped if s.obj.kind == "Namespace"] == ["also deployed by Kustomization flux-system/k; applied once"]
    objects.append(obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "labels": {"a": "b"}}}, root))
    with pytest.raises(PlanError, match="deployed twice with different content"):
        build_plan(RenderedTarget(root, "entrypoint", objects, "1.33.0", engine="flux"))


def test_pins_name_a_node_image_for_every_supported_minor() -> None:
    from shipyard.e2e.pins import NODE_IMAGES, node_image_for
    from shipyard.errors import ShipyardError

    for minor, image in NODE_IMAGES.items():
        assert image.startswith(f"kindest/node:v{minor}.") and "@sha256:" in image
        assert node_image_for(f"{minor}.0") == image
    with pytest.raises(ShipyardError, match="no kind node image is pinned for Kubernetes 1.20"):
        node_image_for("1.20.0")


def test_the_kind_suite_canary_gives_two_serving_predictors_in_the_plan(kind_e2e, tmp_path: Path) -> None:
    """What the kind suite's second half applies, checked without a cluster:
    the scratch copy, the repository's own register/promote commands, and the
    copy's plan (operator still before the model, two predictors 80/20)."""
    import importlib.util

    from shipyard.e2e.canary import pinned_version, start_canary
    from shipyard.e2e.scratch import scratch_copy

    if importlib.util.find_spec("shipyard.cli.promote") is None:
        pytest.skip("shipyard promote is not in this checkout")
    _, plan = kind_e2e
    current = next(o for o in plan.ordered_objects() if o.kind == "SeldonDeployment" and o.name == "iris")
    scratch = scratch_copy(REPO_ROOT, tmp_path / "scratch")
    cluster = Repository.load(REPO_ROOT).cluster("kind-e2e")
    canary = start_canary(scratch, "iris", cluster.environment, pinned_version(current.body), 20, tmp_path,
                          istio=cluster.istio)
    after = plan_for(Repository.load(scratch), "kind-e2e", "flux")
    assert_definitions_first(after)
    model = next(o for o in after.ordered_objects() if o.kind == "SeldonDeployment" and o.name == "iris")
    predictors = model.body["spec"]["predictors"]
    assert [(p["labels"]["version"], p["traffic"]) for p in predictors] == [(canary.stable, 80), (canary.version, 20)]
    assert predictors[0]["graph"]["modelUri"] != predictors[1]["graph"]["modelUri"]
    operator = step_index(after, lambda o: o.kind == "Deployment" and o.name == "seldon-controller-manager")
    assert max(operator) < min(step_index(after, lambda o: o.kind == "SeldonDeployment"))
    # the real repository is untouched
    assert "canary" not in (REPO_ROOT / "overlays" / "dev" / "models" / "kustomization.yaml").read_text()


@pytest.mark.parametrize("cluster", ["staging", "production"])
def test_clusters_with_prerequisite_crd_groups_plan_without_installing_them(cluster: str, mirror_dir: Path, tmp_path: Path) -> None:
    repo = Repository.load(ROOT_FOR_PREREQUISITES)
    plan = plan_for(repo, cluster, "flux")
    monitors = [o for o in plan.ordered_objects() if o.group == "monitoring.coreos.com"]
    assert monitors, "staging and production monitor their models"
    # Without the declared prerequisite, nothing installs those CRDs: no plan.
    copy = tmp_path / "repo"
    shutil.copytree(ROOT_FOR_PREREQUISITES, copy, ignore=shutil.ignore_patterns(".git", ".venv*", ".shipyard-cache", "__pycache__"))
    (ROOT_FOR_PREREQUISITES / ".shipyard-cache").mkdir(exist_ok=True)
    (copy / ".shipyard-cache").symlink_to(ROOT_FOR_PREREQUISITES / ".shipyard-cache")  # renders are keyed by content
    cluster_yaml = copy / "clusters" / cluster / "cluster.yaml"
    cluster_yaml.write_text(cluster_yaml.read_text().replace("crdGroups: [monitoring.coreos.com]", "crdGroups: []"))
    with pytest.raises(PlanError) as err:
        plan_for(Repository.load(copy), cluster, "flux")
    assert "PodMonitor" in str(err.value) or "PrometheusRule" in str(err.value)


ROOT_FOR_PREREQUISITES = Path(__file__).resolve().parents[2]
