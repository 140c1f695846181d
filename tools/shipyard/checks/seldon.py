"""SY2xx: the rules seldon-core's admission webhook enforces, checked offline.

The SeldonDeployment CRD's schema accepts objects that the operator's
validating webhook then refuses (``ValidateSeldonDeployment`` in
seldon-core 1.17.1, operator/apis/machinelearning.seldon.io/v1/
seldondeployment_webhook.go). Found at apply time, such an object breaks a
sync after merge; found here, it breaks the pull request instead. Every
finding says so: its message starts with what the webhook refuses.

Faithful to 1.17.1, including where it is lenient:

* traffic (``checkTraffic``): when more than one predictor is not a
  shadow, their traffic (an int32 sum) must be exactly 100; when the
  deployment has a single predictor, its traffic may be left out (0 means
  "not set") but, when set, must not be below 100. Shadows are left out of
  the sum; a shadow's own traffic must lie in [0, 100]; a second shadow,
  and a shadow as the only predictor (``validateShadow``), are refused.
* graph nodes (``checkPredictiveUnits``) are judged by Go's pointer
  semantics: ``implementation`` absent (or null, which the API server
  prunes) is nil, and nil or UNKNOWN_IMPLEMENTATION needs a container of
  the node's name and, for type UNKNOWN_TYPE, methods. ``implementation:
  ""`` is neither: ``IsPrepack`` is false for it too, so the webhook
  checks nothing of the node but its logger. Any other implementation
  than the engine's built-in units is a prepackaged server: modelUri
  required (except HUGGINGFACE_SERVER, which can load from the Hub), not
  SKLEARN/XGBOOST/MLFLOW/HUGGINGFACE under the tensorflow protocol, and,
  without a container image, an entry in the operator's predictor_servers.
* kafka (``validateKafka``): the webhook counts the svcOrchSpec.env
  entries named exactly KAFKA_BROKER, KAFKA_INPUT_TOPIC or
  KAFKA_OUTPUT_TOPIC, a repeated name each time, and wants three; other
  KAFKA_* names do not count.
* seldon.io/svc-name (``validateSvcNameAnnotations``): two predictors
  whose annotation has the same value (any string, "" too) are refused.
* the graph the webhook decodes is the pruned one: the CRD declares
  ``children`` ten levels below the root, and the API server drops
  anything deeper before admission (SY1xx reports the unknown field).
* the webhook is registered for v1 with the default matchPolicy
  (Equivalent), so v1alpha2/v1alpha3 objects are converted and validated
  by the same rules.

Which objects the webhook sees at all is modelled too (``webhook_sees``):
the API server sends it only the objects its ValidatingWebhookConfiguration
selects. By default (the chart's webhook.yaml with its default values, and
the configuration the operator creates itself with managerCreateResources,
from operator/config/webhook/patch_webhook.yaml) that is objects without a
``seldon.io/controller-id`` label in namespaces without one: those are left
to another operator and its webhook. A SeldonDeployment the webhook does not
see is not judged by any SY2xx check, and nothing is reported for it (the
catalogue's rationale of each id says so). The selectors are read from
the webhook's ValidatingWebhookConfigurations rendered in the same target
(which covers every chart value: controllerId, singleNamespace, kubeflow)
and from a rendered ``seldon-controller-manager`` Deployment started with
--create-resources (whose configuration has no namespace selector when the
operator watches one namespace); an object is judged when any of them
selects it, and when neither is rendered, the default above applies. A
namespace's
labels are known when its Namespace is rendered in the same target; any
other namespace is taken to carry only its ``kubernetes.io/metadata.name``.
On UPDATE the API server also sends an object whose *old* version matched;
the old version is not in git, so only the new one is judged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from shipyard.checks import check
from shipyard.checks.context import CheckContext, PerObjects
from shipyard.checks.policies import (
    as_dict,
    as_list,
    dig,
    is_prepackaged,
    is_seldon_deployment,
    predictor_containers,
)
from shipyard.findings import Finding
from shipyard.ids import CheckId
from shipyard.models import SELDON_GROUP
from shipyard.objects import JsonPath, K8sObject
from shipyard.render.target import RenderedTarget

PROTOCOLS = ("seldon", "tensorflow", "kfserving", "v2")
TRANSPORTS = ("rest", "grpc")
SERVER_TYPES = ("rpc", "kafka")
KAFKA_ENVS = ("KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_OUTPUT_TOPIC")
NO_ENGINE_ANNOTATION = "seldon.io/no-engine"
SVC_NAME_ANNOTATION = "seldon.io/svc-name"
CONTROLLER_ID_LABEL = "seldon.io/controller-id"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# The webhook's registration (operator/config/webhook/manifests.yaml and the
# chart's templates/webhook.yaml).
WEBHOOK_NAME = "v1.vseldondeployment.kb.io"
WEBHOOK_PATH = "/validate-machinelearning-seldon-io-v1-seldondeployment"
SERVED_VERSIONS = frozenset({"v1", "v1alpha2", "v1alpha3"})
# The operator's Deployment: InitializeOperator finds itself by this name.
MANAGER_DEPLOYMENT = "seldon-controller-manager"
# Both defaults select objects, and namespaces, without the controller-id label.
NOT_LABELLED: dict[str, Any] = {"matchExpressions": [{"key": CONTROLLER_ID_LABEL, "operator": "DoesNotExist"}]}
# The CRD declares graph.children this many levels deep; deeper is pruned.
MAX_GRAPH_DEPTH = 10
# Implementations that send a node to the "needs a container" branch
# (pu.Implementation == nil || *pu.Implementation == UNKNOWN_IMPLEMENTATION).
CUSTOM_IMPLEMENTATIONS = (None, "UNKNOWN_IMPLEMENTATION")
# Prepackaged servers that cannot speak the tensorflow protocol.
NOT_TENSORFLOW = frozenset({"SKLEARN_SERVER", "XGBOOST_SERVER", "MLFLOW_SERVER", "HUGGINGFACE_SERVER"})
# Servers that may go without a modelUri.
MODEL_URI_OPTIONAL = frozenset({"HUGGINGFACE_SERVER"})
# predictor_servers in the seldon-core-operator 1.17.1 chart's values (and,
# the same set, in the operator image's own configmap.yaml that
# managerCreateResources installs): what the webhook accepts for a
# prepackaged node without its own image, when the seldon-config ConfigMap
# is not among the rendered objects.
CHART_PREDICTOR_SERVERS = frozenset(
    {"MLFLOW_SERVER", "SKLEARN_SERVER", "TENSORFLOW_SERVER", "XGBOOST_SERVER", "TRITON_SERVER",
     "HUGGINGFACE_SERVER", "TEMPO_SERVER"}
)
# Prepackaged servers the operator does not run on MLServer
# (addModelServersAndInitContainers: their own case of the switch).
NOT_MLSERVER = frozenset({"TENSORFLOW_SERVER", "TRITON_SERVER"})
MLSERVER_PROTOCOLS = ("kfserving", "v2")
WEBHOOK = "seldon-core's admission webhook refuses this"


# --- which objects the webhook sees ---------------------------------------

@dataclass(frozen=True)
class WebhookScope:
    """One registration of the webhook: what the API server sends it.

    A selector of None selects everything (an absent selector); ``rules``
    None stands for the webhook's own v1 rule for seldondeployments."""

    object_selector: Any
    namespace_selector: Any
    rules: Any = None
    match_policy: str = "Equivalent"


DEFAULT_SCOPE = WebhookScope(NOT_LABELLED, NOT_LABELLED)


def selects(selector: Any, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector against known labels, as the API server
    evaluates it (NotIn holds when the key is absent; an unknown operator
    would have made the configuration invalid, so it selects nothing)."""
    if selector is None:
        return True
    if not isinstance(selector, dict):
        return False
    for key, value in as_dict(selector.get("matchLabels")).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in as_list(selector.get("matchExpressions")):
        expr = as_dict(expr)
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = [str(v) for v in as_list(expr.get("values"))]
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            ok = False
        if not ok:
            return False
    return True


def _labels(obj: K8sObject) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_dict(obj.metadata.get("labels")).items()}


def _is_seldon_webhook(webhook: dict[str, Any]) -> bool:
    return webhook.get("name") == WEBHOOK_NAME or dig(webhook, "clientConfig", "service", "path") == WEBHOOK_PATH


def _configured_scopes(target: RenderedTarget) -> list[WebhookScope]:
    """The webhook's registrations in rendered ValidatingWebhookConfigurations
    (the chart renders one unless managerCreateResources is set)."""
    scopes = []
    for obj in target.objects:
        if obj.kind != "ValidatingWebhookConfiguration" or obj.group != "admissionregistration.k8s.io":
            continue
        # admissionregistration v1 defaults matchPolicy to Equivalent, v1beta1 to Exact.
        default_policy = "Exact" if obj.api_version.endswith("/v1beta1") else "Equivalent"
        for webhook in as_list(obj.body.get("webhooks")):
            if isinstance(webhook, dict) and _is_seldon_webhook(webhook):
                policy = webhook.get("matchPolicy")
                scopes.append(WebhookScope(
                    webhook.get("objectSelector"), webhook.get("namespaceSelector"),
                    webhook.get("rules", []), policy if isinstance(policy, str) else default_policy,
                ))
    return scopes


_ENV_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # strconv.ParseBool
# The operator's boolean flags (operator/main.go); every other flag takes a value.
BOOL_FLAGS = frozenset({"enable-leader-election", "create-resources", "debug"})


def _expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command and args: defined variables
    are replaced, undefined references are kept as written."""
    return _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), arg)


def _go_flags(args: list[str]) -> dict[str, str | None]:
    """The flags Go's flag package reads from ``args``: -name, --name,
    -name=value, and -name value for the operator's flags that are not
    booleans; parsing stops at the first argument that is not a flag (an
    empty one too) and after "--". A boolean flag without "=" maps to None."""
    flags: dict[str, str | None] = {}
    rest = iter(args)
    for arg in rest:
        if arg == "--" or len(arg) < 2 or not arg.startswith("-"):
            break
        name, sep, value = arg.lstrip("-").partition("=")
        if sep:
            flags[name] = value
        elif name in BOOL_FLAGS:
            flags[name] = None
        else:
            flags[name] = next(rest, "")
    return flags


def _operator_scopes(target: RenderedTarget) -> list[WebhookScope]:
    """The registration the operator creates itself when started with
    --create-resources (InitializeOperator): operator/config/webhook's
    configuration, both selectors excluding the controller-id label, and no
    namespace selector when the operator watches one namespace (--namespace
    or WATCH_NAMESPACE)."""
    scopes = []
    for obj in target.objects:
        if obj.kind != "Deployment" or obj.name != MANAGER_DEPLOYMENT:
            continue
        for container in as_list(dig(obj.body, "spec", "template", "spec", "containers")):
            container = as_dict(container)
            env = {
                str(e.get("name")): e["value"]
                for e in map(as_dict, as_list(container.get("env")))
                if isinstance(e.get("value"), str)
            }
            argv = [_expand(a, env) for a in as_list(container.get("command")) + as_list(container.get("args"))
                    if isinstance(a, str)]
            # command[0] is the program; with no command the image's
            # entrypoint is, and args are all flags.
            flags = _go_flags(argv[1:] if as_list(container.get("command")) else argv)
            create = flags.get("create-resources", "false")
            if "create-resources" not in flags or not (create is None or create in _TRUE):
                continue
            namespace = env.get("WATCH_NAMESPACE") or flags.get("namespace") or ""
            scopes.append(WebhookScope(NOT_LABELLED, None if namespace else NOT_LABELLED))
    return scopes


def webhook_scopes(ctx: CheckContext, target: RenderedTarget) -> list[WebhookScope]:
    """How the webhook is registered for ``target``'s objects: as rendered
    there, else as the rendered operator creates it, else the default."""
    key = f"seldon-webhook-scopes:{id(target)}"
    cached = ctx.cache.get(key)
    if isinstance(cached, list):
        return cached
    scopes = _configured_scopes(target) + _operator_scopes(target) or [DEFAULT_SCOPE]
    ctx.cache[key] = scopes
    return scopes


def _rule_matches(scope: WebhookScope, obj: K8sObject) -> bool:
    if scope.rules is None:
        return True  # the webhook's own v1 rule, Equivalent
    version = obj.api_version.partition("/")[2]
    for rule in map(as_dict, as_list(scope.rules)):
        groups = as_list(rule.get("apiGroups"))
        versions = as_list(rule.get("apiVersions"))
        resources = as_list(rule.get("resources"))
        operations = as_list(rule.get("operations"))
        if not ({"*", SELDON_GROUP} & set(map(str, groups))):
            continue
        if not ({"*", "*/*", "seldondeployments"} & set(map(str, resources))):
            continue
        if not ({"*", "CREATE", "UPDATE"} & set(map(str, operations))):
            continue
        if rule.get("scope", "*") not in ("*", "Namespaced"):
            continue
        if "*" in versions or version in versions:
            return True
        # Equivalent: the request is converted to a served version the rule names.
        if scope.match_policy != "Exact" and SERVED_VERSIONS & set(map(str, versions)):
            return True
    return False


def namespace_labels(target: RenderedTarget, namespace: str) -> dict[str, str]:
    """A namespace's labels: its Namespace's when rendered in ``target``,
    plus the name label the API server sets on every namespace."""
    if not namespace:
        return {}
    found = _NAMESPACES(target.objects).get(namespace)
    return {**(_labels(found) if found is not None else {}), NAMESPACE_NAME_LABEL: namespace}


def _v1_namespaces(objects: list[K8sObject]) -> dict[str, K8sObject]:
    """The v1 Namespaces by name (the first of a name wins, as a search would)."""
    found: dict[str, K8sObject] = {}
    for obj in objects:
        if obj.kind == "Namespace" and obj.api_version == "v1":
            found.setdefault(obj.name, obj)
    return found


_NAMESPACES = PerObjects(_v1_namespaces)
"""Asked for every object a webhook may see: a search of the target each
time grew with the square of the models."""


def webhook_sees(ctx: CheckContext, target: RenderedTarget, obj: K8sObject) -> bool:
    """Whether the API server sends ``obj`` to seldon-core's webhook."""
    labels = _labels(obj)
    ns_labels = namespace_labels(target, obj.namespace)
    return any(
        _rule_matches(scope, obj)
        and selects(scope.object_selector, labels)
        and selects(scope.namespace_selector, ns_labels)
        for scope in webhook_scopes(ctx, target)
    )


def seldon_deployments(ctx: CheckContext) -> Iterator[tuple[RenderedTarget, K8sObject]]:
    """The SeldonDeployments the webhook judges, with their target."""
    for target, obj in ctx.objects():
        if is_seldon_deployment(obj) and webhook_sees(ctx, target, obj):
            yield target, obj


# --- the object as the webhook decodes it --------------------------------

def predictors(obj: K8sObject) -> list[tuple[JsonPath, dict[str, Any]]]:
    return [
        (("spec", "predictors", i), p)
        for i, p in enumerate(as_list(dig(obj.body, "spec", "predictors")))
        if isinstance(p, dict)
    ]


def webhook_graph(graph: Any, path: JsonPath, depth: int = 0) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """Every node the webhook decodes, depth first: the CRD's schema stops
    at MAX_GRAPH_DEPTH levels of children and the API server prunes the rest
    before admission."""
    if not isinstance(graph, dict):
        return
    yield path, graph
    if depth >= MAX_GRAPH_DEPTH:
        return
    for i, child in enumerate(as_list(graph.get("children"))):
        yield from webhook_graph(child, (*path, "children", i), depth + 1)


def _traffic(predictor: dict[str, Any]) -> int:
    value = predictor.get("traffic")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _int32(value: int) -> int:
    """Go's int32 arithmetic: trafficSum wraps around."""
    return (value + 2**31) % 2**32 - 2**31


def _name(predictor: dict[str, Any], path: JsonPath) -> str:
    name = predictor.get("name")
    return name if isinstance(name, str) else f"predictors[{path[-1]}]"


def _refused(obj: K8sObject, check_id: CheckId, what: str, *, path: JsonPath, hint: str) -> Finding:
    """A finding that says who refuses: the webhook, at apply time."""
    return Finding.on(obj, check_id, f"{WEBHOOK}: {what}", path=path, hint=hint)


# --- the rules -------------------------------------------------------------

@check("SY201")
def traffic_sum(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        preds = predictors(obj)
        live = [(path, p) for path, p in preds if p.get("shadow") is not True]
        total = _int32(sum(_traffic(p) for _path, p in live))
        if len(live) > 1 and total != 100:
            shares = ", ".join(f"{_name(p, path)}={_traffic(p)}" for path, p in live)
            path, first = live[0]
            yield _refused(
                obj, "SY201", f"traffic of non-shadow predictors sums to {total}, not 100 ({shares})",
                path=(*path, "traffic") if "traffic" in first else path,
                hint="adjust the predictors' traffic so they add up to 100",
            )
        elif len(preds) == 1 and 0 < total < 100:
            path, only = preds[0]
            yield _refused(
                obj, "SY201", f"the only predictor {_name(only, path)!r} sets traffic {total}; when set it must be 100",
                path=(*path, "traffic"),
                hint="set traffic: 100, or leave traffic out for a single predictor",
            )


@check("SY202")
def shadows(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        preds = predictors(obj)
        seen = 0
        for path, predictor in preds:
            if predictor.get("shadow") is not True:
                continue
            seen += 1
            name = _name(predictor, path)
            if seen > 1:
                yield _refused(
                    obj, "SY202", f"predictor {name!r} is a second shadow; only one shadow is allowed",
                    path=(*path, "shadow"), hint="keep one shadow predictor",
                )
            traffic = _traffic(predictor)
            if not 0 <= traffic <= 100:
                yield _refused(
                    obj, "SY202", f"shadow predictor {name!r} has traffic {traffic}; it must be between 0 and 100",
                    path=(*path, "traffic"), hint="set the shadow's traffic between 0 and 100",
                )
        if len(preds) == 1 and preds[0][1].get("shadow") is True:
            path, predictor = preds[0]
            yield _refused(
                obj, "SY202", f"shadow predictor {_name(predictor, path)!r} is the only predictor",
                path=(*path, "shadow"), hint="add the live predictor the shadow mirrors, or drop shadow: true",
            )


def _servers_of(config: K8sObject) -> frozenset[str]:
    """The server names in one seldon-config's predictor_servers, as
    getPredictorServerConfigsFromMap reads them: no key, no servers; JSON
    that does not decode into a map of objects makes the webhook panic on
    the request, which refuses it like a missing entry."""
    raw = as_dict(config.body.get("data")).get("predictor_servers")
    if not isinstance(raw, str):
        return frozenset()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return frozenset()
    if not isinstance(data, dict) or not all(v is None or isinstance(v, dict) for v in data.values()):
        return frozenset()
    return frozenset(str(k) for k in data)


def predictor_servers(ctx: CheckContext, target: RenderedTarget | None = None) -> frozenset[str]:
    """Prepackaged servers the operator knows for ``target``: the
    predictor_servers of its rendered seldon-config ConfigMaps (in the
    operator's namespace when the operator is rendered too), else the
    1.17.1 defaults. Without a target: over every rendered target."""
    key = f"seldon-predictor-servers:{id(target) if target is not None else '*'}"
    cached = ctx.cache.get(key)
    if isinstance(cached, frozenset):
        return cached
    objects = target.objects if target is not None else [o for _t, o in ctx.objects()]
    operator_namespaces = {o.namespace for o in objects if o.kind == "Deployment" and o.name == MANAGER_DEPLOYMENT}
    configs = [o for o in objects if o.kind == "ConfigMap" and o.api_version == "v1" and o.name == "seldon-config"]
    if operator_namespaces and any(c.namespace in operator_namespaces for c in configs):
        configs = [c for c in configs if c.namespace in operator_namespaces]
    result = frozenset().union(*(_servers_of(c) for c in configs)) if configs else CHART_PREDICTOR_SERVERS
    ctx.cache[key] = result
    return result


def runs_on_mlserver(node: dict[str, Any], protocol: Any, servers: frozenset[str]) -> bool:
    """Whether the operator serves ``node`` with MLServer
    (addModelServersAndInitContainers -> addMLServerDefault): a prepackaged
    server with a predictor_servers entry, other than TENSORFLOW_SERVER and
    TRITON_SERVER, under protocol kfserving or v2. For those the operator
    writes HTTP /v2/health/ready and /v2/health/live probes itself and
    replaces the handler of any probe the container declares
    (mergeMLServerContainer)."""
    implementation = node.get("implementation")
    return (
        is_prepackaged(implementation)
        and implementation not in NOT_MLSERVER
        and implementation in servers
        and protocol in MLSERVER_PROTOCOLS
    )


@check("SY203")
def prepackaged_servers(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj in seldon_deployments(ctx):
        known = predictor_servers(ctx, target)
        protocol = dig(obj.body, "spec", "protocol")
        for p_path, predictor in predictors(obj):
            declared = predictor_containers(predictor)
            for path, node in webhook_graph(predictor.get("graph"), (*p_path, "graph")):
                implementation = node.get("implementation")
                if not is_prepackaged(implementation):
                    continue  # nil, "" and the built-in units: IsPrepack is false, nothing checked here
                name = node.get("name", "?")
                uri = node.get("modelUri")
                if (not isinstance(uri, str) or not uri) and implementation not in MODEL_URI_OPTIONAL:
                    yield _refused(
                        obj, "SY203", f"graph node {name!r} uses {implementation} but has no modelUri",
                        path=(*path, "modelUri") if "modelUri" in node else path,
                        hint="set modelUri (pin a registered version of the model in the overlay)",
                    )
                if protocol == "tensorflow" and implementation in NOT_TENSORFLOW:
                    yield _refused(
                        obj, "SY203", f"graph node {name!r}: {implementation} cannot serve the tensorflow protocol",
                        path=(*path, "implementation"),
                        hint="use protocol seldon or v2, or TENSORFLOW_SERVER",
                    )
                container = declared.get(name, (0, 0, {}))[2] if isinstance(name, str) else {}
                image = container.get("image")
                if (not isinstance(image, str) or not image) and implementation not in known:
                    yield _refused(
                        obj, "SY203",
                        f"graph node {name!r}: the operator's predictor_servers has no entry for {implementation!r} "
                        f"(known: {', '.join(sorted(known)) or 'none'})",
                        path=(*path, "implementation"),
                        hint="fix the implementation name, or add a container with an image for it",
                    )


@check("SY204")
def unique_predictors(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        seen: set[str] = set()
        for path, predictor in predictors(obj):
            name = predictor.get("name", "")
            if not isinstance(name, str):
                continue  # a schema error (SY101), not an admission rule
            if name in seen:
                yield _refused(
                    obj, "SY204", f"predictor name {name!r} is used twice", path=(*path, "name"),
                    hint="rename one of the predictors",
                )
            seen.add(name)


@check("SY205")
def node_containers(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        for p_path, predictor in predictors(obj):
            declared = predictor_containers(predictor)
            for path, node in webhook_graph(predictor.get("graph"), (*p_path, "graph")):
                if node.get("implementation") not in CUSTOM_IMPLEMENTATIONS:
                    continue
                name = node.get("name")
                if not isinstance(name, str) or name not in declared:
                    yield _refused(
                        obj, "SY205",
                        f"graph node {name!r} of predictor {_name(predictor, p_path)!r} has no container named "
                        f"{name!r} in componentSpecs",
                        path=(*path, "name") if "name" in node else path,
                        hint="add the container to componentSpecs, or rename the node to match its container",
                    )


@check("SY206")
def deployment_settings(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        raw_spec = obj.body.get("spec")
        spec = as_dict(raw_spec)
        for key, allowed in (("protocol", PROTOCOLS), ("transport", TRANSPORTS), ("serverType", SERVER_TYPES)):
            value = spec.get(key)
            if value not in (None, "") and value not in allowed:
                yield _refused(
                    obj, "SY206", f"{key} {value!r} is not one of {', '.join(allowed)}", path=("spec", key),
                    hint=f"use one of {', '.join(allowed)}",
                )
        # A spec without predictors is the schema's to refuse (they are
        # required); no spec at all, or an empty list, reaches the webhook.
        if raw_spec is None or spec.get("predictors") == []:
            yield _refused(
                obj, "SY206", "the deployment has no predictors",
                path=("spec", "predictors") if "predictors" in spec else ("spec",),
                hint="add a predictor",
            )
        if spec.get("serverType") == "kafka":
            for path, predictor in predictors(obj):
                env = as_list(dig(predictor, "svcOrchSpec", "env"))
                names = [as_dict(e).get("name") for e in env]
                counted = sum(1 for n in names if n in KAFKA_ENVS)
                if counted < len(KAFKA_ENVS):
                    missing = [k for k in KAFKA_ENVS if k not in names]
                    yield _refused(
                        obj, "SY206",
                        f"serverType kafka: predictor {_name(predictor, path)!r} has {counted} svcOrchSpec.env "
                        f"entries named {', '.join(KAFKA_ENVS)}; it needs 3 (missing: {', '.join(missing)})",
                        path=(*path, "svcOrchSpec", "env") if env else path,
                        hint="add KAFKA_BROKER, KAFKA_INPUT_TOPIC and KAFKA_OUTPUT_TOPIC to svcOrchSpec.env",
                    )


@check("SY207")
def graph_rules(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        transport = dig(obj.body, "spec", "transport")
        endpoint_types: dict[str, JsonPath] = {}
        for p_path, predictor in predictors(obj):
            nodes = list(webhook_graph(predictor.get("graph"), (*p_path, "graph")))
            if NO_ENGINE_ANNOTATION in as_dict(predictor.get("annotations")) and len(nodes) > 1:
                yield _refused(
                    obj, "SY207",
                    f"predictor {_name(predictor, p_path)!r} runs without the engine ({NO_ENGINE_ANNOTATION}) "
                    f"but its graph has {len(nodes)} nodes",
                    path=(*p_path, "annotations", NO_ENGINE_ANNOTATION),
                    hint="remove the annotation, or reduce the graph to one node",
                )
            for path, node in nodes:
                name = node.get("name", "?")
                logger = node.get("logger")
                if isinstance(logger, dict) and logger.get("mode") in (None, ""):
                    yield _refused(
                        obj, "SY207", f"graph node {name!r} has a logger without a mode", path=(*path, "logger"),
                        hint="set logger.mode: all | request | response",
                    )
                if (
                    node.get("implementation") in CUSTOM_IMPLEMENTATIONS
                    and node.get("type") == "UNKNOWN_TYPE"
                    and not as_list(node.get("methods"))
                ):
                    yield _refused(
                        obj, "SY207", f"graph node {name!r} is UNKNOWN_TYPE with no methods", path=(*path, "type"),
                        hint="set a known type (MODEL, ROUTER, COMBINER, TRANSFORMER, OUTPUT_TRANSFORMER) or list methods",
                    )
                endpoint_type = dig(node, "endpoint", "type")
                if isinstance(endpoint_type, str) and endpoint_type:
                    endpoint_types.setdefault(endpoint_type, (*path, "endpoint", "type"))
        if len(endpoint_types) > 1:
            kind, second = list(endpoint_types.items())[1]
            yield _refused(
                obj, "SY207", f"graph mixes endpoint types {', '.join(endpoint_types)}: {kind} here",
                path=second,
                hint="remove endpoint.type from the nodes and set spec.transport",
            )
        elif len(endpoint_types) == 1 and transport not in (None, ""):
            (kind, path), = endpoint_types.items()
            if (kind == "REST" and transport != "rest") or (kind == "GRPC" and transport != "grpc"):
                yield _refused(
                    obj, "SY207", f"graph endpoint type {kind} contradicts spec.transport {transport!r}", path=path,
                    hint="remove endpoint.type from the nodes when spec.transport is set",
                )


@check("SY208")
def service_names(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in seldon_deployments(ctx):
        owners: dict[str, str] = {}
        for path, predictor in predictors(obj):
            annotations = as_dict(predictor.get("annotations"))
            if SVC_NAME_ANNOTATION not in annotations:
                continue
            value = annotations[SVC_NAME_ANNOTATION]
            if not isinstance(value, str):
                continue  # annotations are strings: the schema refuses it first (SY101)
            name = _name(predictor, path)
            if value in owners:
                yield _refused(
                    obj, "SY208",
                    f"predictor {name!r} names Service {value!r} in {SVC_NAME_ANNOTATION}, as predictor "
                    f"{owners[value]!r} does",
                    path=(*path, "annotations", SVC_NAME_ANNOTATION),
                    hint=f"give each predictor its own {SVC_NAME_ANNOTATION}, or drop the annotation",
                )
            owners.setdefault(value, name)
