"""SY2xx: the rules seldon-core's admission webhook enforces, checked offline.

The SeldonDeployment CRD's schema accepts objects that the operator's
validating webhook then refuses (``ValidateSeldonDeployment`` in
seldon-core 1.17.1, operator/apis/machinelearning.seldon.io/v1/
seldondeployment_webhook.go). Found at apply time, such an object breaks a
sync after merge; found here, it breaks the pull request instead.

Faithful to 1.17.1, including where it is lenient:

* traffic: when more than one predictor is not a shadow, their traffic
  must sum to exactly 100; when the deployment has a single predictor, its
  traffic may be left out (0 means "not set" and it takes everything) but,
  when set, must not be below 100. Shadows are left out of the sum; a
  shadow's own traffic must lie in [0, 100].
* modelUri is required for every prepackaged server (any implementation
  other than the engine's built-in units) except HUGGINGFACE_SERVER, which
  can load a model from the Hugging Face Hub by parameters alone.
* the webhook is registered for v1 with the default matchPolicy
  (Equivalent), so v1alpha2/v1alpha3 objects are converted and validated
  by the same rules.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import (
    as_dict,
    as_list,
    dig,
    graph_nodes,
    is_prepackaged,
    is_seldon_deployment,
    predictor_containers,
)
from shipyard.findings import Finding
from shipyard.objects import JsonPath, K8sObject

PROTOCOLS = ("seldon", "tensorflow", "kfserving", "v2")
TRANSPORTS = ("rest", "grpc")
SERVER_TYPES = ("rpc", "kafka")
KAFKA_ENVS = ("KAFKA_BROKER", "KAFKA_INPUT_TOPIC", "KAFKA_OUTPUT_TOPIC")
NO_ENGINE_ANNOTATION = "seldon.io/no-engine"
# Prepackaged servers that cannot speak the tensorflow protocol.
NOT_TENSORFLOW = frozenset({"SKLEARN_SERVER", "XGBOOST_SERVER", "MLFLOW_SERVER", "HUGGINGFACE_SERVER"})
# Servers that may go without a modelUri.
MODEL_URI_OPTIONAL = frozenset({"HUGGINGFACE_SERVER"})
# predictor_servers in the seldon-core-operator 1.17.1 chart's values: what
# the webhook accepts for a prepackaged node without its own image, when
# the seldon-config ConfigMap is not among the rendered objects.
CHART_PREDICTOR_SERVERS = frozenset(
    {"MLFLOW_SERVER", "SKLEARN_SERVER", "TENSORFLOW_SERVER", "XGBOOST_SERVER", "TRITON_SERVER",
     "HUGGINGFACE_SERVER", "TEMPO_SERVER"}
)


def seldon_deployments(ctx: CheckContext) -> Iterator[K8sObject]:
    for _target, obj in ctx.objects():
        if is_seldon_deployment(obj):
            yield obj


def predictors(obj: K8sObject) -> list[tuple[JsonPath, dict[str, Any]]]:
    return [
        (("spec", "predictors", i), p)
        for i, p in enumerate(as_list(dig(obj.body, "spec", "predictors")))
        if isinstance(p, dict)
    ]


def _traffic(predictor: dict[str, Any]) -> int:
    value = predictor.get("traffic")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _name(predictor: dict[str, Any], path: JsonPath) -> str:
    name = predictor.get("name")
    return name if isinstance(name, str) else f"predictors[{path[-1]}]"


@check("SY201")
def traffic_sum(ctx: CheckContext) -> Iterable[Finding]:
    for obj in seldon_deployments(ctx):
        preds = predictors(obj)
        live = [(path, p) for path, p in preds if p.get("shadow") is not True]
        total = sum(_traffic(p) for _path, p in live)
        if len(live) > 1 and total != 100:
            shares = ", ".join(f"{_name(p, path)}={_traffic(p)}" for path, p in live)
            path, first = live[0]
            yield Finding.on(
                obj, "SY201", f"traffic of non-shadow predictors sums to {total}, not 100 ({shares})",
                path=(*path, "traffic") if "traffic" in first else path,
                hint="adjust the predictors' traffic so they add up to 100",
            )
        elif len(preds) == 1 and 0 < total < 100:
            path, only = preds[0]
            yield Finding.on(
                obj, "SY201", f"the only predictor {_name(only, path)!r} sets traffic {total}; when set it must be 100",
                path=(*path, "traffic"),
                hint="set traffic: 100, or leave traffic out for a single predictor",
            )


@check("SY202")
def shadows(ctx: CheckContext) -> Iterable[Finding]:
    for obj in seldon_deployments(ctx):
        preds = predictors(obj)
        seen = 0
        for path, predictor in preds:
            if predictor.get("shadow") is not True:
                continue
            seen += 1
            name = _name(predictor, path)
            if seen > 1:
                yield Finding.on(
                    obj, "SY202", f"predictor {name!r} is a second shadow; only one shadow is allowed",
                    path=(*path, "shadow"), hint="keep one shadow predictor",
                )
            traffic = _traffic(predictor)
            if not 0 <= traffic <= 100:
                yield Finding.on(
                    obj, "SY202", f"shadow predictor {name!r} has traffic {traffic}; it must be between 0 and 100",
                    path=(*path, "traffic"), hint="set the shadow's traffic between 0 and 100",
                )
        if len(preds) == 1 and preds[0][1].get("shadow") is True:
            path, predictor = preds[0]
            yield Finding.on(
                obj, "SY202", f"shadow predictor {_name(predictor, path)!r} is the only predictor",
                path=(*path, "shadow"), hint="add the live predictor the shadow mirrors, or drop shadow: true",
            )


def predictor_servers(ctx: CheckContext) -> frozenset[str]:
    """Prepackaged servers the operator knows: predictor_servers of a
    rendered seldon-config ConfigMap, else the 1.17.1 chart defaults."""
    cached = ctx.cache.get("seldon-predictor-servers")
    if isinstance(cached, frozenset):
        return cached
    servers: set[str] = set()
    for _target, obj in ctx.objects():
        if obj.kind == "ConfigMap" and obj.name == "seldon-config":
            raw = as_dict(obj.body.get("data")).get("predictor_servers")
            try:
                data = json.loads(raw) if isinstance(raw, str) else None
            except json.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                servers.update(str(k) for k in data)
    result = frozenset(servers) or CHART_PREDICTOR_SERVERS
    ctx.cache["seldon-predictor-servers"] = result
    return result


@check("SY203")
def prepackaged_servers(ctx: CheckContext) -> Iterable[Finding]:
    known = predictor_servers(ctx)
    for obj in seldon_deployments(ctx):
        protocol = dig(obj.body, "spec", "protocol")
        for p_path, predictor in predictors(obj):
            declared = predictor_containers(predictor)
            for path, node in graph_nodes(predictor.get("graph"), (*p_path, "graph")):
                implementation = node.get("implementation")
                if not is_prepackaged(implementation):
                    continue
                name = node.get("name", "?")
                uri = node.get("modelUri")
                if (not isinstance(uri, str) or not uri) and implementation not in MODEL_URI_OPTIONAL:
                    yield Finding.on(
                        obj, "SY203", f"graph node {name!r} uses {implementation} but has no modelUri",
                        path=(*path, "modelUri") if "modelUri" in node else path,
                        hint="set modelUri (pin a registered version of the model in the overlay)",
                    )
                if protocol == "tensorflow" and implementation in NOT_TENSORFLOW:
                    yield Finding.on(
                        obj, "SY203", f"graph node {name!r}: {implementation} cannot serve the tensorflow protocol",
                        path=(*path, "implementation"),
                        hint="use protocol seldon or v2, or TENSORFLOW_SERVER",
                    )
                container = declared.get(name, (0, 0, {}))[2] if isinstance(name, str) else {}
                image = container.get("image")
                if (not isinstance(image, str) or not image) and implementation not in known:
                    yield Finding.on(
                        obj, "SY203",
                        f"graph node {name!r}: the operator has no prepackaged server {implementation!r} "
                        f"(known: {', '.join(sorted(known))})",
                        path=(*path, "implementation"),
                        hint="fix the implementation name, or add a container with an image for it",
                    )


@check("SY204")
def unique_predictors(ctx: CheckContext) -> Iterable[Finding]:
    for obj in seldon_deployments(ctx):
        seen: set[str] = set()
        for path, predictor in predictors(obj):
            name = predictor.get("name", "")
            if not isinstance(name, str):
                continue  # a schema error (SY101), not an admission rule
            if name in seen:
                yield Finding.on(
                    obj, "SY204", f"predictor name {name!r} is used twice", path=(*path, "name"),
                    hint="rename one of the predictors",
                )
            seen.add(name)


@check("SY205")
def node_containers(ctx: CheckContext) -> Iterable[Finding]:
    for obj in seldon_deployments(ctx):
        for p_path, predictor in predictors(obj):
            declared = predictor_containers(predictor)
            for path, node in graph_nodes(predictor.get("graph"), (*p_path, "graph")):
                implementation = node.get("implementation")
                if implementation not in (None, "", "UNKNOWN_IMPLEMENTATION"):
                    continue
                name = node.get("name")
                if not isinstance(name, str) or name not in declared:
                    yield Finding.on(
                        obj, "SY205",
                        f"graph node {name!r} of predictor {_name(predictor, p_path)!r} has no container named "
                        f"{name!r} in componentSpecs",
                        path=(*path, "name") if "name" in node else path,
                        hint="add the container to componentSpecs, or rename the node to match its container",
                    )


@check("SY206")
def deployment_settings(ctx: CheckContext) -> Iterable[Finding]:
    for obj in seldon_deployments(ctx):
        spec = as_dict(obj.body.get("spec"))
        for key, allowed in (("protocol", PROTOCOLS), ("transport", TRANSPORTS), ("serverType", SERVER_TYPES)):
            value = spec.get(key)
            if value not in (None, "") and value not in allowed:
                yield Finding.on(
                    obj, "SY206", f"{key} {value!r} is not one of {', '.join(allowed)}", path=("spec", key),
                    hint=f"use one of {', '.join(allowed)}",
                )
        preds = predictors(obj)
        if not preds:
            yield Finding.on(
                obj, "SY206", "the deployment has no predictors", path=("spec", "predictors") if "predictors" in spec else ("spec",),
                hint="add a predictor",
            )
        if spec.get("serverType") == "kafka":
            for path, predictor in preds:
                names = {str(as_dict(e).get("name")) for e in as_list(dig(predictor, "svcOrchSpec", "env"))}
                missing = [k for k in KAFKA_ENVS if k not in names]
                if missing:
                    yield Finding.on(
                        obj, "SY206", f"predictor {_name(predictor, path)!r} uses kafka but its svcOrchSpec.env lacks "
                        f"{', '.join(missing)}",
                        path=path, hint="add KAFKA_BROKER, KAFKA_INPUT_TOPIC and KAFKA_OUTPUT_TOPIC to svcOrchSpec.env",
                    )


@check("SY207")
def graph_rules(ctx: CheckContext) -> Iterable[Finding]:
    for obj in seldon_deployments(ctx):
        transport = dig(obj.body, "spec", "transport")
        endpoint_types: dict[str, JsonPath] = {}
        for p_path, predictor in predictors(obj):
            nodes = list(graph_nodes(predictor.get("graph"), (*p_path, "graph")))
            if NO_ENGINE_ANNOTATION in as_dict(predictor.get("annotations")) and len(nodes) > 1:
                yield Finding.on(
                    obj, "SY207",
                    f"predictor {_name(predictor, p_path)!r} runs without the engine ({NO_ENGINE_ANNOTATION}) "
                    f"but its graph has {len(nodes)} nodes",
                    path=(*p_path, "annotations", NO_ENGINE_ANNOTATION),
                    hint="remove the annotation, or reduce the graph to one node",
                )
            for path, node in nodes:
                name = node.get("name", "?")
                logger = node.get("logger")
                if isinstance(logger, dict) and not logger.get("mode"):
                    yield Finding.on(
                        obj, "SY207", f"graph node {name!r} has a logger without a mode", path=(*path, "logger"),
                        hint="set logger.mode: all | request | response",
                    )
                if (
                    node.get("implementation") in (None, "", "UNKNOWN_IMPLEMENTATION")
                    and node.get("type") == "UNKNOWN_TYPE"
                    and not as_list(node.get("methods"))
                ):
                    yield Finding.on(
                        obj, "SY207", f"graph node {name!r} is UNKNOWN_TYPE with no methods", path=(*path, "type"),
                        hint="set a known type (MODEL, ROUTER, COMBINER, TRANSFORMER, OUTPUT_TRANSFORMER) or list methods",
                    )
                endpoint_type = dig(node, "endpoint", "type")
                if isinstance(endpoint_type, str) and endpoint_type:
                    endpoint_types.setdefault(endpoint_type, (*path, "endpoint", "type"))
        if len(endpoint_types) > 1:
            kind, second = list(endpoint_types.items())[1]
            yield Finding.on(
                obj, "SY207", f"graph mixes endpoint types {', '.join(endpoint_types)}: {kind} here",
                path=second,
                hint="remove endpoint.type from the nodes and set spec.transport",
            )
        elif len(endpoint_types) == 1 and transport not in (None, ""):
            (kind, path), = endpoint_types.items()
            if (kind == "REST" and transport != "rest") or (kind == "GRPC" and transport != "grpc"):
                yield Finding.on(
                    obj, "SY207", f"graph endpoint type {kind} contradicts spec.transport {transport!r}", path=path,
                    hint="remove endpoint.type from the nodes when spec.transport is set",
                )
