"""SY3xx policies: a failing and a passing fixture per check, plus the
scoping rules (where an object came from, which targets pool together) and
the upstream charts the repository really renders."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.policies import parse_quantity
from shipyard.checks.policy_images import image_problem
from shipyard.kube_versions import TABLE, parse_minor, status
from shipyard.objects import K8sObject, Source
from shipyard.repo import Cluster
from shipyard.waivers import apply_waivers

ROOT = Path(__file__).resolve().parents[2]
MIRROR_CHARTS = Path(os.environ.get("SHIPYARD_MIRROR", str(ROOT.parent / "shared" / "mirror"))) / "charts"
HELM = ROOT / ".venv" / "bin" / "helm"


import shipyard_check_cases as cases  # registered by tests/conftest.py
POLICY_CHECKS = cases.runnable("SY3")


def test_every_policy_has_fixtures() -> None:
    assert POLICY_CHECKS == [f"SY3{n:02d}" for n in range(1, 23)]
    for check_id in POLICY_CHECKS:
        for case in ("fail", "pass"):
            assert (cases.FIXTURES / check_id / case).is_dir(), f"{check_id}/{case} missing"


# --- helpers --------------------------------------------------------------


def _obj(body: dict, path: str = "base/x.yaml") -> K8sObject:
    return K8sObject(body=body, source=Source(path, 1))


def _deployment(name: str, containers: list[dict], *, replicas: int = 1, pod: dict | None = None, ns: str = "models") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "template": {"spec": {**(pod or {}), "containers": containers}}}}


def _gpu_cluster(name: str, capacity: int, env: str = "production") -> Cluster:
    raw = {"spec": {"environment": env, "gpu": {"capacity": capacity, "nodeSelector": {"gpu": "yes"}}}}
    return Cluster(name=name, path=Path(f"/nonexistent/clusters/{name}"), environment=env,
                   kubernetes_version="1.33.0", engines=("flux",), gpu_capacity=capacity, raw=raw)


# --- units ----------------------------------------------------------------


def test_image_pinning_rules() -> None:
    assert image_problem("nginx") and image_problem("nginx:latest") and image_problem("host:5000/nginx")
    assert image_problem("nginx@md5:abc")
    assert image_problem("nginx:1.27") is None
    assert image_problem("host:5000/team/nginx:1.27") is None
    assert image_problem("nginx@sha256:" + "a" * 64) is None


def test_quantities() -> None:
    assert parse_quantity("100m") == parse_quantity("0.1")
    assert parse_quantity("1Gi") > parse_quantity("1G")
    assert parse_quantity(2) == 2 and parse_quantity("1e3") == 1000
    assert parse_quantity("lots") is None and parse_quantity(True) is None


def test_api_lifecycle_table() -> None:
    assert status("policy/v1beta1", "PodDisruptionBudget", "1.24.0")[0] == "deprecated"
    assert status("policy/v1beta1", "PodDisruptionBudget", "1.25.0")[0] == "removed"
    assert status("policy/v1", "PodDisruptionBudget", "1.33.0") is None
    assert status("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.31.0")[0] == "deprecated"
    assert status("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.32.0")[0] == "removed"
    assert parse_minor("v1.30.2") == (1, 30)
    for row in TABLE:
        assert row.removed is None or row.removed > row.deprecated, row


def test_a_chart_generated_secret_is_not_in_git_but_a_remote_base_secret_is() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"k": "dg=="}}
    chart = _obj(secret, "chart:seldon-core-operator-1.17.1/templates/webhook.yaml")
    remote = _obj(secret, "https://github.com/kubeflow/pipelines//manifests/kustomize/base@2.17.0")
    local = _obj(secret, "base/secrets/s.yaml")
    ctx = CheckContext([RenderedTarget("t", "overlay", [chart, remote, local], "1.33.0")])
    assert sorted(f.file for f in cases.run("SY305", ctx)) == sorted([remote.source.path, local.source.path])


def test_gpu_capacity_counts_each_object_once_per_cluster_across_targets() -> None:
    # The same Deployment rendered by the Argo CD and the Flux entry point of
    # one cluster is one workload: 2 GPUs x 2 replicas = 4 fits in 4.
    gpu = [{"name": "s", "image": "s:1", "resources": {"limits": {"nvidia.com/gpu": 2}}}]
    body = _deployment("llm", gpu, replicas=2, pod={"nodeSelector": {"gpu": "yes"}})
    cluster = _gpu_cluster("prod-a", 4)
    targets = [RenderedTarget(f"clusters/prod-a/{e}", "entrypoint", [_obj(body)], "1.33.0", cluster=cluster, environment="production")
               for e in ("argocd", "flux")]
    assert cases.run("SY304", CheckContext(targets)) == []
    # A second cluster with less capacity is judged on its own.
    small = _gpu_cluster("prod-b", 2)
    targets.append(RenderedTarget("clusters/prod-b/flux", "entrypoint", [_obj(body)], "1.33.0", cluster=small, environment="production"))
    (finding,) = cases.run("SY304", CheckContext(targets))
    assert "'prod-b'" in finding.message and "request 4" in finding.message
    assert finding.file == "/nonexistent/clusters/prod-b/cluster.yaml"


def test_gpu_pod_in_a_cluster_without_gpu_nodes() -> None:
    gpu = [{"name": "s", "image": "s:1", "resources": {"limits": {"nvidia.com/gpu": 1}}}]
    cpu_only = Cluster(name="cpu", path=Path("/nonexistent"), environment="dev", kubernetes_version="1.33.0", engines=("flux",))
    target = RenderedTarget("overlays/dev", "overlay", [_obj(_deployment("llm", gpu))], "1.33.0", cluster=cpu_only)
    (finding,) = cases.run("SY303", CheckContext([target]))
    assert "declares no GPU nodes" in finding.message
    assert cases.run("SY304", CheckContext([target])) == []  # SY303 already says it


def test_network_policy_in_another_target_of_the_same_environment_counts() -> None:
    sdep = {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
            "metadata": {"name": "iris", "namespace": "models"},
            "spec": {"predictors": [{"name": "p", "graph": {"name": "c", "implementation": "SKLEARN_SERVER", "modelUri": "gs://m"}}]}}
    deny = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "models"}, "spec": {"podSelector": {}}}
    models = RenderedTarget("overlays/prod/models", "overlay", [_obj(sdep)], "1.33.0", environment="production")
    platform = RenderedTarget("overlays/prod", "overlay", [_obj(deny)], "1.33.0", environment="production")
    assert len(cases.run("SY312", CheckContext([models]))) == 1
    assert cases.run("SY312", CheckContext([models, platform])) == []
    # A single file is a partial view: not judged.
    single = RenderedTarget("models/iris/deploy/x.yaml", "file", [_obj(sdep)], "1.33.0")
    assert cases.run("SY312", CheckContext([single])) == []


# --- the upstream charts, rendered for real --------------------------------


def _render_chart(package: str, release: str, namespace: str, *values: str) -> list[K8sObject]:
    if not HELM.exists() or not (MIRROR_CHARTS / package).exists():
        pytest.skip("helm or the chart mirror is not available on this machine")
    cmd = [str(HELM), "template", release, str(MIRROR_CHARTS / package), "-n", namespace, *values]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    chart = package.removesuffix(".tgz")
    return [_obj(d, f"chart:{chart}/templates/rendered.yaml") for d in yaml.safe_load_all(out) if d]


def _policy_findings(objects: list[K8sObject]) -> list:
    ctx = CheckContext([RenderedTarget("overlays/production", "overlay", objects, "1.33.0", environment="production")])
    return [f for cid in POLICY_CHECKS for f in cases.run(cid, ctx)]


def test_seldon_operator_chart_passes_once_upstream_waivers_apply() -> None:
    objects = _render_chart("seldon-core-operator-1.17.1.tgz", "seldon-core", "seldon-system")
    # Its webhook certificate Secret is generated at render time: not a plaintext Secret in git.
    assert any(o.kind == "Secret" for o in objects)
    findings = _policy_findings(objects)
    assert not [f for f in findings if f.check == "SY305"]
    kept, _waived = apply_waivers(findings, {o.ref: o for o in objects}, {})
    assert kept == []


def test_gpu_operator_node_agents_are_reported_then_waived_with_a_reason() -> None:
    objects = _render_chart("gpu-operator-v26.7.0.tgz", "gpu-operator", "gpu-operator")
    findings = _policy_findings(objects)
    assert any(f.check == "SY310" for f in findings)
    kept, waived = apply_waivers(findings, {o.ref: o for o in objects}, {})
    assert kept == []
    assert all(w.reason and w.waived_by.startswith("built-in") for w in waived)
    # Turned off, every one of them is back.
    kept, waived = apply_waivers(findings, {o.ref: o for o in objects}, {"upstreamWaivers": False})
    assert len(kept) == len(findings) and waived == []


def test_istiod_with_chart_defaults_runs_a_latest_image_and_values_fix_it() -> None:
    # The istiod chart at its source tag defaults to a CI hub and tag "latest";
    # SY301 is never waived for charts, because chart values fix it.
    findings = _policy_findings(_render_chart("istiod-1.30.3.tgz", "istiod", "istio-system"))
    kept, _ = apply_waivers(findings, {}, {})
    assert [f.check for f in kept] == ["SY301"] and ":latest" in kept[0].message
    pinned = _render_chart("istiod-1.30.3.tgz", "istiod", "istio-system", "--set", "global.tag=1.30.3")
    kept, _ = apply_waivers(_policy_findings(pinned), {}, {})
    assert kept == []


# --- malformed input never raises ----------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.sampled_from(
    ["", "*", "latest", "nginx", "SKLEARN_SERVER", "UNKNOWN_TYPE", "1Gi", "100m", "true", "nvidia.com/gpu", "Ingress"]))
_keys = st.sampled_from([
    "predictors", "graph", "children", "componentSpecs", "spec", "containers", "initContainers", "name", "image",
    "resources", "limits", "requests", "nvidia.com/gpu", "traffic", "shadow", "replicas", "hpaSpec", "minReplicas",
    "implementation", "modelUri", "template", "volumes", "hostPath", "securityContext", "privileged", "rules",
    "verbs", "podSelector", "policyTypes", "ingress", "data", "stringData", "sops", "tolerations", "nodeSelector",
    "logger", "endpoint", "type", "annotations", "metadata", "labels", "pdbSpec", "selector", "protocol",
])
_values = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
                       max_leaves=25)
_kinds = st.sampled_from([
    ("machinelearning.seldon.io/v1", "SeldonDeployment"), ("apps/v1", "Deployment"), ("v1", "Pod"), ("v1", "Secret"),
    ("batch/v1", "CronJob"), ("kubeflow.org/v1", "PyTorchJob"), ("rbac.authorization.k8s.io/v1", "Role"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("policy/v1", "PodDisruptionBudget"), ("v1", "ConfigMap"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_kinds, _values, _values), min_size=1, max_size=4))
def test_checks_survive_malformed_objects(docs: list) -> None:
    objects = [
        _obj({"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "models"}, "spec": spec, "data": extra,
              "rules": extra})
        for (api, kind), spec, extra in docs
    ]
    cluster = _gpu_cluster("prod-a", 1)
    ctx = CheckContext([RenderedTarget("overlays/production", "overlay", objects, "1.33.0", cluster=cluster, environment="production")])
    for check_id in cases.runnable("SY2") + POLICY_CHECKS:
        for finding in cases.run(check_id, ctx):
            assert finding.check == check_id and finding.message


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    assert isinstance(value, list)
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


_FIXTURE_BODIES = [
    (case.parent.name, o.body)
    for case in sorted(cases.FIXTURES.glob("SY*/*"))
    for o in cases.load_case(case).targets[0].objects
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_checks_survive_fixture_objects_with_a_field_broken(data: st.DataObject) -> None:
    # Take a realistic object and replace one of its fields (anywhere) by a value of the wrong shape.
    _, body = data.draw(st.sampled_from(_FIXTURE_BODIES))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(body)[1:] or [("spec",)]))
        body = _replace(body, path, data.draw(_values))
    obj = _obj(body if isinstance(body, dict) else {"kind": "Broken"})
    cluster = _gpu_cluster("prod-a", 1)
    ctx = CheckContext([RenderedTarget("overlays/production", "overlay", [obj], "1.33.0", cluster=cluster, environment="production")])
    for check_id in cases.runnable("SY2") + POLICY_CHECKS:
        for finding in cases.run(check_id, ctx):
            assert finding.check == check_id and finding.message
