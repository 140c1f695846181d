"""The finer points of seldon-core 1.17.1's admission webhook, as SY2xx model them.

Which objects the webhook sees (its selectors, as the chart and the operator
register it), Go's pointer semantics for a node's implementation, the kafka
count, int32 traffic, the graph depth the CRD keeps, and SY306's exemption
for MLServer-based servers. The fixture pairs under tests/fixtures/checks/
cover one case of each; these cover the edges.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.checks.context import CheckContext
from shipyard.checks.seldon import WEBHOOK, predictor_servers, webhook_sees
from shipyard.findings import Finding
from shipyard.objects import K8sObject, Source
from shipyard.render.target import RenderedTarget

import shipyard_check_cases as cases  # registered by tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
CHART = Path(os.environ.get("SHIPYARD_MIRROR", str(ROOT.parent / "shared" / "mirror"))) / "charts" / \
    "seldon-core-operator-1.17.1.tgz"
HELM = ROOT / ".venv" / "bin" / "helm"
SELDON = cases.runnable("SY2")


def _obj(body: dict[str, Any], path: str = "models/m.yaml") -> K8sObject:
    return K8sObject(body=body, source=Source(path, 1))


def _sdep(spec: Any, *, name: str = "m", namespace: str = "models", labels: dict[str, str] | None = None,
          api_version: str = "machinelearning.seldon.io/v1") -> K8sObject:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        metadata["labels"] = labels
    body: dict[str, Any] = {"apiVersion": api_version, "kind": "SeldonDeployment", "metadata": metadata}
    if spec is not None:
        body["spec"] = spec
    return _obj(body)


def _namespace(name: str, labels: dict[str, str]) -> K8sObject:
    return _obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


def _ctx(*objects: K8sObject) -> CheckContext:
    return CheckContext(targets=[RenderedTarget("t", "overlay", list(objects), "1.33.0")])


def _findings(ctx: CheckContext, *ids: str) -> list[Finding]:
    return [f for cid in (ids or SELDON) for f in cases.run(cid, ctx)]


def _node(name: str = "clf", **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


def _sklearn(name: str = "clf") -> dict[str, Any]:
    return _node(name, implementation="SKLEARN_SERVER", modelUri="gs://b/m")


# A deployment the webhook refuses (traffic 60 + 30), to see who judges it.
BAD = {"predictors": [{"name": "a", "traffic": 60, "graph": _sklearn()},
                      {"name": "b", "traffic": 30, "graph": _sklearn()}]}


def _judged(*objects: K8sObject) -> set[str]:
    """Names of the SeldonDeployments SY201 reports among ``objects``."""
    return {f.object.name for f in _findings(_ctx(*objects), "SY201") if f.object}


# --- who the webhook sees --------------------------------------------------

def test_default_selectors_skip_controller_id_objects_and_namespaces() -> None:
    objects = [
        _sdep(BAD, name="plain"),
        _sdep(BAD, name="labelled", labels={"seldon.io/controller-id": "team-b"}),
        # Only the key matters to DoesNotExist: an empty value is a label too.
        _sdep(BAD, name="empty-label", labels={"seldon.io/controller-id": ""}),
        _sdep(BAD, name="other-label", labels={"seldon.io/controller": "x"}),
        _sdep(BAD, name="in-team-b", namespace="team-b"),
        _sdep(BAD, name="in-team-c", namespace="team-c"),
        # A namespace not rendered in the target: only its name label is known.
        _sdep(BAD, name="elsewhere", namespace="not-rendered"),
        _namespace("team-b", {"seldon.io/controller-id": "team-b"}),
        _namespace("team-c", {"team": "c"}),
    ]
    assert _judged(*objects) == {"plain", "other-label", "in-team-c", "elsewhere"}


def _webhook(object_selector: Any = None, namespace_selector: Any = None, *, api_version: str = "v1",
             **extra: Any) -> K8sObject:
    webhook: dict[str, Any] = {
        "name": "v1.vseldondeployment.kb.io",
        "clientConfig": {"service": {"name": "seldon-webhook-service", "namespace": "seldon-system",
                                     "path": "/validate-machinelearning-seldon-io-v1-seldondeployment"}},
        "rules": [{"apiGroups": ["machinelearning.seldon.io"], "apiVersions": ["v1"],
                   "operations": ["CREATE", "UPDATE"], "resources": ["seldondeployments"]}],
        **extra,
    }
    if object_selector is not None:
        webhook["objectSelector"] = object_selector
    if namespace_selector is not None:
        webhook["namespaceSelector"] = namespace_selector
    return _obj({"apiVersion": f"admissionregistration.k8s.io/{api_version}", "kind": "ValidatingWebhookConfiguration",
                 "metadata": {"name": "seldon-validating-webhook-configuration-seldon-system"},
                 "webhooks": [webhook]}, "chart:seldon-core-operator-1.17.1/templates/webhook.yaml")


def test_a_rendered_webhook_configuration_decides_who_is_judged() -> None:
    # controllerId: team-b -> only objects labelled for team-b are sent.
    webhook = _webhook({"matchLabels": {"seldon.io/controller-id": "team-b"}})
    assert _judged(
        webhook, _sdep(BAD, name="plain"), _sdep(BAD, name="mine", labels={"seldon.io/controller-id": "team-b"}),
        _sdep(BAD, name="theirs", labels={"seldon.io/controller-id": "team-c"}),
    ) == {"mine"}
    # singleNamespace: the namespace must carry the operator's namespace as its controller id.
    webhook = _webhook(namespace_selector={"matchLabels": {"seldon.io/controller-id": "seldon-system"}})
    assert _judged(
        webhook, _namespace("models", {"seldon.io/controller-id": "seldon-system"}),
        _sdep(BAD, name="in-models"), _sdep(BAD, name="in-other", namespace="other"),
    ) == {"in-models"}
    # No selectors at all: everything.
    assert _judged(_webhook(), _sdep(BAD, name="labelled", labels={"seldon.io/controller-id": "x"})) == {"labelled"}


def test_match_policy_decides_whether_older_versions_are_sent() -> None:
    old = _sdep(BAD, name="old", api_version="machinelearning.seldon.io/v1alpha2")
    new = _sdep(BAD, name="new")
    # admissionregistration v1 defaults to Equivalent: v1alpha2 is converted and sent.
    assert _judged(_webhook(), old, new) == {"old", "new"}
    # v1beta1 defaults to Exact, and Exact may be written: only v1 is sent.
    assert _judged(_webhook(api_version="v1beta1"), old, new) == {"new"}
    assert _judged(_webhook(matchPolicy="Exact"), old, new) == {"new"}
    # A webhook of another name and path is not seldon-core's.
    other = _webhook()
    other.body["webhooks"][0].update(name="validate.example.com", clientConfig={"service": {"path": "/x"}})
    other.body["webhooks"][0]["objectSelector"] = {"matchLabels": {"never": "matches"}}
    assert _judged(other, new) == {"new"}


def _manager(*args: str, env: dict[str, str] | None = None, command: list[str] | None = None) -> K8sObject:
    container: dict[str, Any] = {"name": "manager", "args": list(args),
                                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}
    if command is not None:
        container["command"] = command
    return _obj({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "seldon-controller-manager", "namespace": "seldon-system"},
                 "spec": {"template": {"spec": {"containers": [container]}}}},
                "chart:seldon-core-operator-1.17.1/templates/deployment_seldon-controller-manager.yaml")


def test_an_operator_that_creates_its_webhook_drops_the_namespace_selector_when_namespaced() -> None:
    labelled_ns = _namespace("team-b", {"seldon.io/controller-id": "team-b"})
    sdeps = [_sdep(BAD, name="ns", namespace="team-b"), _sdep(BAD, name="obj", labels={"seldon.io/controller-id": "x"})]
    create = "--create-resources=$(MANAGER_CREATE_RESOURCES)"
    cluster_wide = _manager("--enable-leader-election", create, "", env={"MANAGER_CREATE_RESOURCES": "true"},
                            command=["/manager"])
    assert _judged(cluster_wide, labelled_ns, *sdeps) == set()
    # --namespace (singleNamespace) or WATCH_NAMESPACE: no namespace selector, the object selector stays.
    for manager in (
        _manager(create, "--namespace=team-b", env={"MANAGER_CREATE_RESOURCES": "true"}, command=["/manager"]),
        _manager("--create-resources", "--namespace", "team-b"),
        _manager(create, env={"MANAGER_CREATE_RESOURCES": "True", "WATCH_NAMESPACE": "team-b"}),
    ):
        assert _judged(manager, labelled_ns, *sdeps) == {"ns"}
    # Go's flag package stops at the first non-flag argument (the chart's empty
    # one): a --namespace after it is not read.
    late = _manager(create, "", "--namespace=team-b", env={"MANAGER_CREATE_RESOURCES": "true"})
    assert _judged(late, labelled_ns, *sdeps) == set()
    # Without --create-resources the chart registers the webhook: the default applies here.
    assert _judged(_manager("--create-resources=false", "--namespace=team-b"), labelled_ns, *sdeps) == set()


def _render(*values: str) -> list[K8sObject]:
    if not HELM.exists() or not CHART.exists():
        pytest.skip("helm or the chart mirror is not available on this machine")
    cmd = [str(HELM), "template", "seldon-core", str(CHART), "-n", "seldon-system", *values]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    return [_obj(d, "chart:seldon-core-operator-1.17.1/templates/rendered.yaml") for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize(("values", "judged"), [
    ((), {"plain"}),
    (("--set", "controllerId=team-b"), {"team-b"}),
    (("--set", "singleNamespace=true"), {"in-ns"}),
    (("--set", "kubeflow=true"), set()),  # namespaces need serving.kubeflow.org/inferenceservice too
    # This repository's setting: the operator registers the webhook itself.
    (("--set", "managerCreateResources=true"), {"plain"}),
    (("--set", "managerCreateResources=true", "--set", "singleNamespace=true"), {"plain", "in-ns", "in-other-ns"}),
])
def test_the_real_chart_decides_who_is_judged(values: tuple[str, ...], judged: set[str]) -> None:
    objects = [
        *_render(*values),
        _sdep(BAD, name="plain", namespace="default"),
        _sdep(BAD, name="team-b", namespace="default", labels={"seldon.io/controller-id": "team-b"}),
        _namespace("models", {"seldon.io/controller-id": "seldon-system"}),
        _sdep(BAD, name="in-ns"),
        _namespace("other", {"seldon.io/controller-id": "x"}),
        _sdep(BAD, name="in-other-ns", namespace="other"),
    ]
    assert _judged(*objects) == judged


def test_judged_objects_are_the_ones_webhook_sees_reports() -> None:
    ctx = _ctx(_sdep(BAD, name="a"), _sdep(BAD, name="b", labels={"seldon.io/controller-id": "x"}))
    target = ctx.targets[0]
    assert [webhook_sees(ctx, target, o) for o in target.objects] == [True, False]


# --- Go's pointer semantics for implementation -----------------------------

@pytest.mark.parametrize(("node", "refused"), [
    (_node(), {"SY205"}),                                           # nil: needs a container
    (_node(implementation=None), {"SY205"}),                         # null is pruned: nil
    (_node(implementation="UNKNOWN_IMPLEMENTATION"), {"SY205"}),
    (_node(implementation=""), set()),                               # set, empty: nothing checked
    (_node(implementation="SIMPLE_MODEL"), set()),                   # built-in unit: not prepackaged
    (_node(implementation="SKLEARN_SERVER"), {"SY203"}),             # prepackaged: modelUri required
    (_node(type="UNKNOWN_TYPE"), {"SY205", "SY207"}),
    (_node(type="UNKNOWN_TYPE", methods=[]), {"SY205", "SY207"}),
    (_node(type="UNKNOWN_TYPE", methods=["route"]), {"SY205"}),
    (_node(implementation="", type="UNKNOWN_TYPE"), set()),
    (_node(implementation="", logger={}), {"SY207"}),                # the logger rule applies to every node
    (_node(implementation="", logger={"mode": ""}), {"SY207"}),
    (_node(implementation="", logger={"mode": "all"}), set()),
])
def test_implementation_follows_go_pointer_semantics(node: dict[str, Any], refused: set[str]) -> None:
    ctx = _ctx(_sdep({"protocol": "tensorflow", "predictors": [{"name": "p", "graph": node}]}))
    assert {f.check for f in _findings(ctx)} == refused


def test_huggingface_may_go_without_a_model_uri_and_sklearn_not_under_tensorflow() -> None:
    hub = {"predictors": [{"name": "p", "graph": _node(implementation="HUGGINGFACE_SERVER")}]}
    assert _findings(_ctx(_sdep(hub))) == []
    tf = {"protocol": "tensorflow", "predictors": [{"name": "p", "graph": _node(implementation="HUGGINGFACE_SERVER")}]}
    assert [f.check for f in _findings(_ctx(_sdep(tf)))] == ["SY203"]
    tf_server = {"protocol": "tensorflow", "predictors": [{"name": "p", "graph": _node(
        implementation="TENSORFLOW_SERVER", modelUri="gs://b/m")}]}
    assert _findings(_ctx(_sdep(tf_server))) == []


def _config(data: dict[str, str], namespace: str = "seldon-system") -> K8sObject:
    return _obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seldon-config", "namespace": namespace},
                 "data": data}, "chart:seldon-core-operator-1.17.1/templates/configmap_seldon-config.yaml")


def test_predictor_servers_are_read_as_the_webhook_reads_them() -> None:
    sdep = _sdep({"predictors": [{"name": "p", "graph": _sklearn()}]})
    assert _findings(_ctx(sdep)) == []  # no ConfigMap rendered: the 1.17.1 defaults
    # A rendered seldon-config is the truth: without predictor_servers it knows no server,
    # and JSON the operator cannot decode makes the webhook fail the request.
    for data in ({}, {"predictor_servers": "{not json"}, {"predictor_servers": '["SKLEARN_SERVER"]'},
                 {"predictor_servers": '{"SKLEARN_SERVER": 1}'}):
        ctx = _ctx(sdep, _config(data))
        assert [f.check for f in _findings(ctx)] == ["SY203"], data
        assert predictor_servers(ctx, ctx.targets[0]) == frozenset()
    ctx = _ctx(sdep, _config({"predictor_servers": '{"SKLEARN_SERVER": {"protocols": {}}}'}))
    assert _findings(ctx) == []
    # The operator reads the ConfigMap in its own namespace.
    ctx = _ctx(sdep, _manager(), _config({"predictor_servers": '{"SKLEARN_SERVER": {}}'}),
               _config({}, namespace="elsewhere"))
    assert _findings(ctx) == []
    # A container image makes the entry unnecessary.
    own = _sdep({"predictors": [{"name": "p", "graph": _node("s", implementation="MY_SERVER", modelUri="s3://m"),
                                 "componentSpecs": [{"spec": {"containers": [{"name": "s", "image": "r/s:1"}]}}]}]})
    assert _findings(_ctx(own)) == []


# --- kafka, traffic, service names, graph depth ----------------------------

def _kafka(env: Any) -> K8sObject:
    predictor: dict[str, Any] = {"name": "p", "graph": _sklearn()}
    if env is not ...:
        predictor["svcOrchSpec"] = {"env": env}
    return _sdep({"serverType": "kafka", "predictors": [predictor]})


@pytest.mark.parametrize(("names", "refused"), [
    (["KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_OUTPUT_TOPIC"], False),
    (["KAFKA_BROKER", "KAFKA_BROKER", "KAFKA_BROKER"], False),           # entries are counted, not names
    (["KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_INPUT_TOPIC"], False),
    (["KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_SECURITY_PROTOCOL"], True),  # other KAFKA_* do not count
    (["KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "kafka_output_topic"], True),       # names are case-sensitive
    (["KAFKA_BROKER", "KAFKA_INPUT_TOPIC"], True),
    ([], True),
])
def test_kafka_counts_the_three_names_exactly(names: list[str], refused: bool) -> None:
    ctx = _ctx(_kafka([{"name": n, "value": "x"} for n in names]))
    assert bool(_findings(ctx, "SY206")) is refused


def test_kafka_without_any_env_is_refused_and_rpc_needs_none() -> None:
    assert [f.check for f in _findings(_ctx(_kafka(...)))] == ["SY206"]
    rpc = _sdep({"serverType": "rpc", "predictors": [{"name": "p", "graph": _sklearn()}]})
    assert _findings(_ctx(rpc)) == []


def test_traffic_is_summed_as_int32() -> None:
    big = 2**31 - 1
    # 2147483647 + 2147483647 + 102 wraps around to 100 in Go's int32: accepted.
    spec = {"predictors": [{"name": n, "traffic": t, "graph": _sklearn()} for n, t in (("a", big), ("b", big), ("c", 102))]}
    assert _findings(_ctx(_sdep(spec)), "SY201") == []
    spec = {"predictors": [{"name": "a", "traffic": 150, "graph": _sklearn()},
                           {"name": "b", "traffic": -50, "graph": _sklearn()}]}
    assert _findings(_ctx(_sdep(spec)), "SY201") == []


def test_no_predictors_is_the_webhooks_only_when_the_schema_lets_it_through() -> None:
    assert [f.check for f in _findings(_ctx(_sdep(None)))] == ["SY206"]      # no spec at all: optional
    assert [f.check for f in _findings(_ctx(_sdep({"predictors": []})))] == ["SY206"]
    assert _findings(_ctx(_sdep({}))) == []                                    # predictors is required: SY101's


def test_service_names_compare_values_within_one_object() -> None:
    def pred(name: str, svc: Any) -> dict[str, Any]:
        return {"name": name, "traffic": 50, "annotations": {"seldon.io/svc-name": svc}, "graph": _sklearn()}

    refused = _findings(_ctx(_sdep({"predictors": [pred("a", "x"), pred("b", "x")]})))
    assert [f.check for f in refused] == ["SY208"] and "'a'" in refused[0].message
    assert _findings(_ctx(_sdep({"predictors": [pred("a", "x"), pred("b", "y")]}))) == []
    assert _findings(_ctx(_sdep({"predictors": [pred("a", 1), pred("b", 1)]}))) == []  # not a string: SY101's


def _chain(depth: int) -> dict[str, Any]:
    """A graph of ``depth`` + 1 nodes, each the only child of the one above."""
    node: dict[str, Any] = {"name": f"n{depth}", "type": "MODEL"}
    for level in range(depth - 1, -1, -1):
        node = {"name": f"n{level}", "type": "MODEL", "children": [node]}
    return node


def test_the_webhook_sees_the_graph_the_crd_keeps() -> None:
    containers = [{"name": f"n{i}", "image": "r/m:1"} for i in range(10)]

    def spec(depth: int) -> dict[str, Any]:
        return {"predictors": [{"name": "p", "graph": _chain(depth), "componentSpecs": [{"spec": {"containers": containers}}]}]}

    # n10 sits at depth 10, the deepest the CRD declares: judged (no container).
    assert [f.message for f in _findings(_ctx(_sdep(spec(10))), "SY205")] != []
    # n11 is below it: the API server prunes it before admission.
    findings = _findings(_ctx(_sdep(spec(11))), "SY205")
    assert len(findings) == 1 and "'n10'" in findings[0].message


# --- every finding names the webhook; odd input never raises ---------------

def test_every_seldon_finding_says_the_webhook_refuses() -> None:
    for check_id in SELDON:
        for finding in cases.run(check_id, cases.load_case(cases.FIXTURES / check_id / "fail")):
            assert finding.message.startswith(WEBHOOK + ": "), finding
            assert finding.hint


@pytest.mark.parametrize("spec", [
    [], "x", {"predictors": {"a": 1}}, {"predictors": [None, 3, "p"]}, {"predictors": [{"graph": "g"}]},
    {"predictors": [{"name": 3, "graph": {"children": "x", "endpoint": "REST", "logger": "on"}}]},
    {"serverType": "kafka", "predictors": [{"name": "p", "svcOrchSpec": {"env": "x"}, "graph": {}}]},
    {"serverType": "kafka", "predictors": [{"name": "p", "svcOrchSpec": {"env": [None, {"name": {}}]}, "graph": {}}]},
    {"predictors": [{"name": "p", "annotations": ["seldon.io/svc-name"], "graph": {"implementation": ["x"]}}]},
    {"predictors": [{"name": "p", "traffic": True, "shadow": "yes", "graph": {"implementation": {}, "methods": 3}}]},
])
def test_odd_shapes_never_raise(spec: Any) -> None:
    odd = [
        _obj({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
              "webhooks": [None, {"name": "v1.vseldondeployment.kb.io", "rules": "x", "objectSelector": []}]}),
        _obj({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "seldon-controller-manager"},
              "spec": {"template": {"spec": {"containers": [None, {"args": [1, "--create-resources"], "env": "x"}]}}}}),
        _obj({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "models", "labels": ["x"]}}),
        _config({"predictor_servers": "null"}),
    ]
    ctx = _ctx(_sdep(spec, labels=None), *odd)
    _findings(ctx)
    cases.run("SY306", ctx)


# --- SY306: the operator's own probes for MLServer -------------------------

def _served(implementation: str, protocol: str | None, *, container: dict[str, Any] | None = None) -> K8sObject:
    predictor: dict[str, Any] = {"name": "p", "graph": _node("m", implementation=implementation, modelUri="gs://b/m")}
    if container is not None:
        predictor["componentSpecs"] = [{"spec": {"containers": [{"name": "m", **container}]}}]
    spec: dict[str, Any] = {"predictors": [predictor]}
    if protocol is not None:
        spec["protocol"] = protocol
    return _sdep(spec)


@pytest.mark.parametrize(("implementation", "protocol", "reported"), [
    ("SKLEARN_SERVER", "v2", False),
    ("XGBOOST_SERVER", "kfserving", False),
    ("MLFLOW_SERVER", "v2", False),
    ("HUGGINGFACE_SERVER", "v2", False),
    ("TEMPO_SERVER", "v2", False),
    ("SKLEARN_SERVER", None, True),          # the Seldon server: TCP probes
    ("SKLEARN_SERVER", "seldon", True),
    ("TRITON_SERVER", "v2", True),           # its own case: keeps the TCP probes it already has
    ("TENSORFLOW_SERVER", "v2", True),
    ("LIGHTGBM_SERVER", "v2", True),         # no predictor_servers entry: the operator fails it
])
def test_mlserver_based_servers_get_the_operators_probes(implementation: str, protocol: str | None,
                                                         reported: bool) -> None:
    for container in (None, {"readinessProbe": {"tcpSocket": {"port": "http"}}}):
        findings = cases.run("SY306", _ctx(_served(implementation, protocol, container=container)))
        assert bool(findings) is reported, (implementation, protocol, container)
        if findings:
            assert "/v2/health/ready" in findings[0].hint


def test_mlserver_follows_the_rendered_predictor_servers() -> None:
    custom = _config({"predictor_servers": '{"LIGHTGBM_SERVER": {"protocols": {"v2": {"image": "x/y"}}}}'})
    assert cases.run("SY306", _ctx(_served("LIGHTGBM_SERVER", "v2"), custom)) == []
    assert cases.run("SY306", _ctx(_served("SKLEARN_SERVER", "v2"), custom)) != []
