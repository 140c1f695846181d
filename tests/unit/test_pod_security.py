"""The Pod Security Standards (shipyard.pod_security) rule by rule, the
policy versions that change them, and SY316 on this repository's own
rendered manifests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.checks import load_all
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.objects import K8sObject, Source
from shipyard.pod_security import (
    BASELINE,
    NEWEST_KNOWN,
    PRIVILEGED,
    RESTRICTED,
    NamespacePolicy,
    controls,
    effective_version,
    evaluate,
    format_path,
    kube_minor,
    namespace_policy,
    parse_version,
)

ROOT = Path(__file__).resolve().parents[2]


def compliant() -> dict[str, Any]:
    """A pod that meets restricted at every version: each test breaks one thing."""
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [{"name": "init", "image": "i:1", "securityContext": _container_sc()}],
        "containers": [{"name": "app", "image": "a:1", "securityContext": _container_sc()}],
        "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
    }


def _container_sc() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _set(spec: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    """A copy of ``spec`` with ``value`` at ``path`` (dicts created on the way)."""
    spec = copy.deepcopy(spec)
    node: Any = spec
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return spec


APP = ("containers", 0)
APP_SC = (*APP, "securityContext")
POD_SC = ("securityContext",)

# (control, level, path set, bad value, allowed value for the same field,
#  the violation's JSON path from the pod)
RULES: list[tuple[str, str, tuple, Any, Any, tuple]] = [
    ("Host namespaces", BASELINE, ("hostNetwork",), True, False, ("spec", "hostNetwork")),
    ("Host namespaces", BASELINE, ("hostPID",), True, False, ("spec", "hostPID")),
    ("Host namespaces", BASELINE, ("hostIPC",), True, False, ("spec", "hostIPC")),
    ("Privileged containers", BASELINE, (*APP_SC, "privileged"), True, False, ("spec", *APP_SC, "privileged")),
    ("Capabilities", BASELINE, (*APP_SC, "capabilities", "add"), ["SYS_ADMIN"], ["NET_BIND_SERVICE"],
     ("spec", *APP_SC, "capabilities", "add", 0)),
    ("Host ports", BASELINE, (*APP, "ports"), [{"containerPort": 80, "hostPort": 80}], [{"containerPort": 80, "hostPort": 0}],
     ("spec", *APP, "ports", 0, "hostPort")),
    ("AppArmor", BASELINE, (*APP_SC, "appArmorProfile"), {"type": "Unconfined"}, {"type": "Localhost", "localhostProfile": "p"},
     ("spec", *APP_SC, "appArmorProfile", "type")),
    ("AppArmor", BASELINE, (*POD_SC, "appArmorProfile"), {"type": "Unconfined"}, {"type": "RuntimeDefault"},
     ("spec", *POD_SC, "appArmorProfile", "type")),
    ("SELinux", BASELINE, (*APP_SC, "seLinuxOptions"), {"type": "spc_t"}, {"type": "container_t", "level": "s0:c1"},
     ("spec", *APP_SC, "seLinuxOptions", "type")),
    ("SELinux", BASELINE, (*POD_SC, "seLinuxOptions"), {"user": "system_u"}, {"type": "container_init_t"},
     ("spec", *POD_SC, "seLinuxOptions", "user")),
    ("SELinux", BASELINE, (*POD_SC, "seLinuxOptions"), {"role": "sysadm_r"}, {"type": ""},
     ("spec", *POD_SC, "seLinuxOptions", "role")),
    ("/proc mount type", BASELINE, (*APP_SC, "procMount"), "Unmasked", "Default", ("spec", *APP_SC, "procMount")),
    ("Sysctls", BASELINE, (*POD_SC, "sysctls"), [{"name": "kernel.msgmax", "value": "1"}],
     [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}], ("spec", *POD_SC, "sysctls", 0, "name")),
    ("HostProcess", BASELINE, (*POD_SC, "windowsOptions"), {"hostProcess": True}, {"hostProcess": False},
     ("spec", *POD_SC, "windowsOptions", "hostProcess")),
    ("HostProcess", BASELINE, (*APP_SC, "windowsOptions"), {"hostProcess": True}, {"gmsaCredentialSpecName": "x"},
     ("spec", *APP_SC, "windowsOptions", "hostProcess")),
    ("Host probes and lifecycle hooks", BASELINE, (*APP, "livenessProbe"), {"httpGet": {"host": "10.0.0.1", "port": 80}},
     {"httpGet": {"port": 80}}, ("spec", *APP, "livenessProbe", "httpGet", "host")),
    ("Host probes and lifecycle hooks", BASELINE, (*APP, "lifecycle"), {"preStop": {"tcpSocket": {"host": "db", "port": 5}}},
     {"preStop": {"exec": {"command": ["true"]}}}, ("spec", *APP, "lifecycle", "preStop", "tcpSocket", "host")),
    ("Privilege escalation", RESTRICTED, (*APP_SC, "allowPrivilegeEscalation"), True, False,
     ("spec", *APP_SC, "allowPrivilegeEscalation")),
    ("Running as non-root", RESTRICTED, (*APP_SC, "runAsNonRoot"), False, True, ("spec", *APP_SC, "runAsNonRoot")),
    ("Running as non-root", RESTRICTED, (*POD_SC, "runAsNonRoot"), False, True, ("spec", *POD_SC, "runAsNonRoot")),
    ("Running as non-root user", RESTRICTED, (*APP_SC, "runAsUser"), 0, 1000, ("spec", *APP_SC, "runAsUser")),
    ("Running as non-root user", RESTRICTED, (*POD_SC, "runAsUser"), 0, 1000, ("spec", *POD_SC, "runAsUser")),
    ("Seccomp", BASELINE, (*APP_SC, "seccompProfile"), {"type": "Unconfined"}, {"type": "RuntimeDefault"},
     ("spec", *APP_SC, "seccompProfile", "type")),
    ("Seccomp", RESTRICTED, (*POD_SC, "seccompProfile"), None, {"type": "Localhost", "localhostProfile": "p"},
     ("spec", *POD_SC, "seccompProfile")),
    ("Capabilities", RESTRICTED, (*APP_SC, "capabilities"), {"drop": ["NET_RAW"]}, {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
     ("spec", *APP_SC, "capabilities", "drop")),
    ("Capabilities", RESTRICTED, (*APP_SC, "capabilities"), {"drop": ["ALL"], "add": ["CHOWN"]}, {"drop": ["ALL"]},
     ("spec", *APP_SC, "capabilities", "add", 0)),
    ("Volume types", RESTRICTED, ("volumes",), [{"name": "v", "nfs": {"server": "s", "path": "/"}}],
     [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}], ("spec", "volumes", 0, "nfs")),
    ("Volume types", RESTRICTED, ("volumes",), [{"name": "v", "gitRepo": {"repository": "r"}}],
     [{"name": "v"}], ("spec", "volumes", 0, "gitRepo")),
]


@pytest.mark.parametrize("control,level,path,bad,good,where", RULES, ids=[f"{r[0]}:{format_path(r[2])}" for r in RULES])
def test_each_rule_fails_and_passes(control: str, level: str, path: tuple, bad: Any, good: Any, where: tuple) -> None:
    assert evaluate(compliant(), RESTRICTED) == []
    found = evaluate(_set(compliant(), path, bad), level)
    assert [(v.control, v.level, v.path) for v in found] == [(control, level, where)]
    assert found[0].message and found[0].fix
    # A stricter level reports it too; the allowed value passes everything.
    assert [v.path for v in evaluate(_set(compliant(), path, bad), RESTRICTED)] == [where]
    assert evaluate(_set(compliant(), path, good), RESTRICTED) == []
    if level == RESTRICTED:
        assert evaluate(_set(compliant(), path, bad), BASELINE) == []


def test_host_path_is_one_violation_under_each_level() -> None:
    # restricted's volume types replace baseline's hostPath rule: one mistake, one finding.
    spec = _set(compliant(), ("volumes",), [{"name": "h", "hostPath": {"path": "/"}}])
    assert [(v.control, v.path) for v in evaluate(spec, BASELINE)] == [("HostPath volumes", ("spec", "volumes", 0, "hostPath"))]
    assert [(v.control, v.path) for v in evaluate(spec, RESTRICTED)] == [("Volume types", ("spec", "volumes", 0, "hostPath"))]


def test_annotations_are_judged_from_the_pod_metadata() -> None:
    apparmor = {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}
    (v,) = evaluate(compliant(), BASELINE, metadata=apparmor)
    assert v.path == ("metadata", "annotations", "container.apparmor.security.beta.kubernetes.io/app")
    assert v.field == "metadata.annotations['container.apparmor.security.beta.kubernetes.io/app']"
    for allowed in ("runtime/default", "localhost/my-profile", ""):
        ok = {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": allowed}}
        assert evaluate(compliant(), RESTRICTED, metadata=ok) == []
    # Seccomp annotations are read only below v1.19, when they were the API.
    seccomp = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}
    plain = {"containers": [{"name": "a"}]}
    assert [v.control for v in evaluate(plain, BASELINE, version=(1, 18), metadata=seccomp)] == ["Seccomp"]
    assert evaluate(plain, BASELINE, version=(1, 19), metadata=seccomp) == []


def test_pod_level_settings_cover_containers_that_do_not_set_their_own() -> None:
    spec = compliant()
    # Nobody sets runAsNonRoot: one violation, at the pod.
    del spec["securityContext"]["runAsNonRoot"]
    (v,) = evaluate(spec, RESTRICTED)
    assert v.path == ("spec", "securityContext", "runAsNonRoot") and "'init'" in v.message and "'app'" in v.message
    # One container sets it: the other one is named.
    one = _set(spec, ("initContainers", 0, "securityContext", "runAsNonRoot"), True)
    (v,) = evaluate(one, RESTRICTED)
    assert v.path == ("spec", "containers", 0, "securityContext", "runAsNonRoot")
    # An explicit bad value is reported even where the pod level would cover it.
    bad = _set(compliant(), ("initContainers", 0, "securityContext", "seccompProfile"), {"type": "Unconfined"})
    (v,) = evaluate(bad, RESTRICTED)
    assert v.path == ("spec", "initContainers", 0, "securityContext", "seccompProfile", "type") and "'Unconfined'" in v.message


def test_every_kind_of_container_is_judged() -> None:
    spec = _set(compliant(), ("ephemeralContainers",), [{"name": "debug", "image": "d:1"}])
    paths = {v.path for v in evaluate(spec, RESTRICTED)}
    assert ("spec", "ephemeralContainers", 0, "securityContext", "allowPrivilegeEscalation") in paths
    init = _set(compliant(), ("initContainers", 0, "securityContext", "privileged"), True)
    assert [v.path[:3] for v in evaluate(init, BASELINE)] == [("spec", "initContainers", 0)]


def test_a_bare_pod_meets_baseline_but_not_restricted() -> None:
    bare = {"containers": [{"name": "app", "image": "a:1"}]}
    assert evaluate(bare, BASELINE) == []
    assert evaluate(bare, PRIVILEGED) == []
    assert sorted(v.control for v in evaluate(bare, RESTRICTED)) == [
        "Capabilities", "Privilege escalation", "Running as non-root", "Seccomp",
    ]


# --- policy versions ---------------------------------------------------------


@pytest.mark.parametrize(
    "path,value,before,since",
    [
        ((*POD_SC, "sysctls"), [{"name": "net.ipv4.tcp_rmem", "value": "1 2 3"}], (1, 31), (1, 32)),
        ((*POD_SC, "sysctls"), [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}], (1, 28), (1, 29)),
        ((*POD_SC, "sysctls"), [{"name": "net.ipv4.ip_local_reserved_ports", "value": "8080"}], (1, 26), (1, 27)),
        ((*APP_SC, "seLinuxOptions"), {"type": "container_engine_t"}, (1, 30), (1, 31)),
    ],
)
def test_what_a_version_allows_is_refused_before_it(path: tuple, value: Any, before: tuple, since: tuple) -> None:
    spec = _set(compliant(), path, value)
    assert len(evaluate(spec, BASELINE, version=before)) == 1
    assert evaluate(spec, BASELINE, version=since) == []


def test_rules_that_start_at_a_version() -> None:
    probe = _set(compliant(), (*APP, "readinessProbe"), {"tcpSocket": {"host": "1.2.3.4", "port": 80}})
    assert evaluate(probe, BASELINE, version=(1, 33)) == []
    assert len(evaluate(probe, BASELINE, version=(1, 34))) == 1
    root = _set(compliant(), (*POD_SC, "runAsUser"), 0)
    assert evaluate(root, RESTRICTED, version=(1, 22)) == []
    assert len(evaluate(root, RESTRICTED, version=(1, 23))) == 1
    # Before v1.22 restricted had no capabilities rule of its own: baseline's applies.
    caps = _set(compliant(), (*APP_SC, "capabilities"), {"add": ["CHOWN"]})
    assert evaluate(caps, RESTRICTED, version=(1, 21)) == []
    assert {v.control for v in evaluate(caps, RESTRICTED, version=(1, 22))} == {"Capabilities"}


def test_windows_pods_skip_the_linux_only_controls_from_v1_25() -> None:
    windows = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True}, "containers": [{"name": "w"}]}
    assert evaluate(windows, RESTRICTED, version=(1, 25)) == []
    linux_only = {"Privilege escalation", "Seccomp", "Capabilities"}
    assert {v.control for v in evaluate(windows, RESTRICTED, version=(1, 24))} == linux_only


def test_user_namespaces_relax_the_root_rules_from_v1_35() -> None:
    spec = _set(_set(compliant(), ("hostUsers",), False), (*POD_SC, "runAsNonRoot"), False)
    spec = _set(spec, (*APP_SC, "procMount"), "Unmasked")
    assert {v.control for v in evaluate(spec, RESTRICTED, version=(1, 34))} == {"Running as non-root", "/proc mount type"}
    # From v1.35 the pod is root only in its own user namespace; restricted still refuses an unmasked /proc.
    assert [v.control for v in evaluate(spec, RESTRICTED, version=(1, 35))] == ["/proc mount type"]
    assert evaluate(spec, BASELINE, version=(1, 35)) == []


def test_versions_and_levels_from_labels() -> None:
    assert parse_version("v1.33") == (1, 33) and parse_version("latest") is None
    for bad in ("1.33", "v2.0", "v1.033", "", 1.33, None):
        with pytest.raises(ValueError):
            parse_version(bad)
    assert namespace_policy({}) == (NamespacePolicy(PRIVILEGED, None), [])
    assert namespace_policy({"pod-security.kubernetes.io/enforce": "baseline"})[0] == NamespacePolicy(BASELINE, None)
    policy, problems = namespace_policy({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.30",
        "pod-security.kubernetes.io/audit": "Restricted",
        "pod-security.kubernetes.io/warn-version": "1.33",
    })
    assert policy == NamespacePolicy(RESTRICTED, (1, 30))
    assert [p.key for p in problems] == ["pod-security.kubernetes.io/audit", "pod-security.kubernetes.io/warn-version"]
    # latest is the cluster's own rules; a pin newer than the cluster is applied as the cluster's.
    assert effective_version(None, (1, 34)) == (1, 34)
    assert effective_version((1, 33), (1, 34)) == (1, 33)
    assert effective_version((1, 35), (1, 33)) == (1, 33)
    assert effective_version(None, None) == NEWEST_KNOWN
    assert kube_minor("1.33.0") == (1, 33) and kube_minor("garbage") is None
    with pytest.raises(ValueError):
        controls("strict")


# --- malformed input never raises ------------------------------------------

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.sampled_from(
    ["", "ALL", "RuntimeDefault", "Unconfined", "Localhost", "windows", "Default", "Unmasked", "kernel.msgmax", "x"]))
_keys = st.sampled_from([
    "containers", "initContainers", "ephemeralContainers", "securityContext", "capabilities", "add", "drop",
    "privileged", "runAsNonRoot", "runAsUser", "seccompProfile", "appArmorProfile", "type", "seLinuxOptions",
    "user", "role", "procMount", "sysctls", "name", "windowsOptions", "hostProcess", "volumes", "hostPath", "nfs",
    "ports", "hostPort", "livenessProbe", "httpGet", "host", "lifecycle", "preStop", "os", "hostUsers",
    "hostNetwork", "allowPrivilegeEscalation", "annotations",
])
_values = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
                       max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values, _values, st.sampled_from([BASELINE, RESTRICTED]), st.sampled_from([(1, 0), (1, 18), (1, 25), (1, 35)]))
def test_evaluate_survives_any_shape(spec: Any, metadata: Any, level: str, version: tuple[int, int]) -> None:
    for violation in evaluate(spec, level, version=version, metadata=metadata):
        assert violation.message and violation.fix and violation.path[0] in ("spec", "metadata")


# --- SY316 -------------------------------------------------------------------


def _run(*targets: RenderedTarget) -> list:
    info = load_all()["SY316"]
    assert info.run is not None
    return list(info.run(CheckContext(list(targets))))


def _namespace(name: str, level: str | None, version: str | None = None) -> K8sObject:
    labels = {}
    if level:
        labels["pod-security.kubernetes.io/enforce"] = level
    if version:
        labels["pod-security.kubernetes.io/enforce-version"] = version
    return K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}},
                     Source("base/namespaces/namespaces.yaml", 1))


def _deployment(spec: dict, source: str = "base/app/deployment.yaml", ns: str = "apps") -> K8sObject:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": ns},
            "spec": {"template": {"spec": spec}}}
    return K8sObject(body, Source(source, 1))


def test_a_chart_pod_is_judged_and_the_fix_points_at_its_values() -> None:
    chart = _deployment({"containers": [{"name": "manager", "image": "m:1"}]},
                        "chart:seldon-core-operator-1.17.1/templates/deployment.yaml")
    namespace = _namespace("apps", RESTRICTED, "v1.33")
    findings = _run(RenderedTarget("clusters/prod/flux", "entrypoint", [namespace, chart], "1.34.0"))
    assert len(findings) == 4
    assert all("release's values" in f.hint and "(v1.33;" in f.message for f in findings)
    assert all("refuses the pods of this Deployment's ReplicaSets" in f.message for f in findings)


def test_the_namespace_level_of_each_target_decides() -> None:
    app = _deployment({"containers": [{"name": "a", "image": "a:1"}]})
    dev = RenderedTarget("overlays/dev", "overlay", [_namespace("apps", BASELINE), app], "1.33.0")
    prod = RenderedTarget("overlays/production", "overlay", [_namespace("apps", RESTRICTED), app], "1.34.0")
    elsewhere = RenderedTarget("models/app", "kustomization", [app], "1.34.0")  # the Namespace is not rendered here
    assert _run(dev, elsewhere) == []
    findings = _run(dev, prod, elsewhere)
    assert findings and all("enforces Pod Security 'restricted' (latest = v1.34;" in f.message for f in findings)


def test_a_refused_namespace_label_is_reported_once_and_its_pods_are_not_judged() -> None:
    app = _deployment({"hostNetwork": True, "containers": [{"name": "a"}]})
    (finding,) = _run(RenderedTarget("overlays/dev", "overlay", [_namespace("apps", "strict"), app], "1.33.0"))
    assert finding.object.kind == "Namespace" and "'strict'" in finding.message


# --- this repository ----------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(mirror_dir: Path) -> list[RenderedTarget]:
    from shipyard.repo import Repository
    from shipyard.targets import all_targets, make_renderer, render_all

    repo = Repository.load(ROOT)
    renderer = make_renderer(repo)
    try:
        return render_all(renderer, all_targets(repo), 2)
    finally:
        if renderer.mirror:
            renderer.mirror.close()


def test_the_repository_meets_every_namespace_level(rendered: list[RenderedTarget]) -> None:
    findings = _run(*rendered)
    assert findings == [], "\n".join(f"{f.location} {f.object}: {f.message}" for f in findings)
    # Not vacuous: restricted namespaces really hold pods, from charts and remote bases.
    from shipyard.checks.policy_pod_security import _namespaces
    from shipyard.checks.policies import all_pod_specs

    judged = {(p.obj.namespace, p.obj.name, t.name.split("/")[1])
              for t in rendered for p in all_pod_specs(t.objects)
              if (ns := _namespaces(t).get(p.obj.namespace)) and ns.policy.level != PRIVILEGED}
    assert ("seldon-system", "seldon-controller-manager", "production") in judged
    assert ("istio-system", "istiod", "staging") in judged
    assert ("kubeflow", "ml-pipeline", "dev") in judged
    assert ("models", "iris", "kind-e2e") in judged


def _with(target: RenderedTarget, change: Any) -> RenderedTarget:
    """``target`` with ``change`` applied to a copy of each body (None: unchanged);
    rendered bodies are shared and never edited in place."""
    out = []
    for obj in target.objects:
        body = change(copy.deepcopy(obj.body))
        out.append(K8sObject(body, obj.source, obj.target, obj.lines, obj.line_resolver) if body is not None else obj)
    return RenderedTarget(target.name, target.kind, out, target.kube_version, target.cluster, target.environment, target.engine)


def test_an_operator_chart_without_its_security_context_would_be_refused(rendered: list[RenderedTarget]) -> None:
    (flux,) = [t for t in rendered if t.name == "clusters/production/flux"]

    def strip(body: dict) -> dict | None:
        if body.get("kind") == "Deployment" and body["metadata"]["name"] == "seldon-controller-manager":
            for container in body["spec"]["template"]["spec"]["containers"]:
                container.pop("securityContext", None)
            return body
        return None

    findings = _run(_with(flux, strip))
    assert findings and {f.object.name for f in findings} == {"seldon-controller-manager"}
    assert all(f.file.startswith("chart:seldon-core-operator-1.17.1/") for f in findings)


def test_the_iris_model_would_not_meet_restricted(rendered: list[RenderedTarget]) -> None:
    # Why models enforces baseline (docs/security.md): the componentSpecs alone already fall short.
    (kind,) = [t for t in rendered if t.name == "clusters/kind-e2e/flux"]

    def tighten(body: dict) -> dict | None:
        if body.get("kind") == "Namespace" and body["metadata"]["name"] == "models":
            body["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = RESTRICTED
            return body
        return None

    findings = _run(_with(kind, tighten))
    assert {(f.object.kind, f.object.name) for f in findings} == {("SeldonDeployment", "iris"),
                                                                   ("SeldonDeployment", "tabular-xgb")}
    assert all(f.file == f"models/{f.object.name}/deploy/seldondeployment.yaml" and f.line > 1 for f in findings)
    assert any("componentSpecs[0]" in f.message for f in findings)
