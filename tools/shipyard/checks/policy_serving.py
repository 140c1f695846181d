"""SY306-SY308: serving pods that survive rollouts and node drains.

A model server is ready when its model is loaded, not when its port opens.
Seldon's operator gives graph containers without probes a TCP check on the
port (createContainerService, seldon-core 1.17.1), which passes while the
model is still downloading: a rollout shifts traffic to pods that answer
errors. The exception is a prepackaged server the operator runs on
MLServer (protocol v2 or kfserving, any predictor_servers entry but
TENSORFLOW_SERVER and TRITON_SERVER): mergeMLServerContainer sets HTTP
probes on /v2/health/ready and /v2/health/live itself, replacing the
handler of any probe the container declares, so SY306 says nothing of
those nodes: what a user writes there would not be what runs.

Production models also need to survive a node drain: at least two replicas
and a PodDisruptionBudget, or an upgrade of the node pool takes the model
down.

"Served" predictors are the ones that take traffic: every predictor that is
not a shadow and has traffic above 0, or the only non-shadow predictor.
"""

from __future__ import annotations

from typing import Any, Iterable

from shipyard.shapes import quoted_name
from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.policies import (
    PodSpecRef,
    as_dict,
    as_list,
    dig,
    is_seldon_deployment,
    pod_specs,
    prepackaged_without_container,
    seldon_replicas,
    serving_containers,
)
from shipyard.checks.seldon import predictor_servers, runs_on_mlserver
from shipyard.findings import Finding
from shipyard.objects import K8sObject

PRODUCTION = "production"


def environment(target: RenderedTarget) -> str | None:
    if target.environment:
        return target.environment
    return target.cluster.environment if target.cluster is not None else None


def served_predictors(obj: K8sObject) -> list[int]:
    """Indexes of the predictors that take live traffic."""
    predictors = [as_dict(p) for p in as_list(as_dict(obj.body.get("spec")).get("predictors"))]
    live = [i for i, p in enumerate(predictors) if not p.get("shadow")]
    if len(live) == 1:
        return live
    return [i for i in live if isinstance(predictors[i].get("traffic"), int) and predictors[i]["traffic"] > 0]


# What every SY306 hint adds: where the operator writes probes itself.
MLSERVER_NOTE = ("(prepackaged servers on MLServer, protocol v2 or kfserving, are exempt: the operator sets HTTP "
                 "/v2/health/ready and /v2/health/live probes on them itself)")


@check("SY306")
def serving_probes(ctx: CheckContext) -> Iterable[Finding]:
    for target, obj in ctx.objects():
        if not is_seldon_deployment(obj):
            continue
        servers = predictor_servers(ctx, target)
        protocol = dig(obj.body, "spec", "protocol")
        for path, container, node, predictor in serving_containers(obj):
            if runs_on_mlserver(node, protocol, servers):
                continue  # the operator replaces whatever handler is written here
            missing = [p for p in ("readinessProbe", "livenessProbe") if not isinstance(container.get(p), dict)]
            if missing:
                yield Finding.on(
                    obj, "SY306",
                    f"serving container {quoted_name(container.get('name'))} in predictor {predictor!r} has no "
                    f"{' and no '.join(missing)}: the operator gives it a TCP check on its port",
                    path=path,
                    hint="add readinessProbe and livenessProbe with httpGet on the model server's health path "
                         f"(port: http) {MLSERVER_NOTE}",
                )
        for path, node, predictor in prepackaged_without_container(obj):
            if runs_on_mlserver(node, protocol, servers):
                continue
            yield Finding.on(
                obj, "SY306",
                f"prepackaged server {quoted_name(node.get('name'))} in predictor {predictor!r} gets only the operator's "
                f"TCP probes: it has no componentSpecs container to declare probes on",
                path=path,
                hint=f"declare a container named {quoted_name(node.get('name'))} in componentSpecs with readiness and liveness "
                     f"probes {MLSERVER_NOTE}",
            )


def _component(pod: PodSpecRef) -> str:
    return f"componentSpecs[{pod.component_path[-1]}]" if pod.component_path else ""


def _component_pods(obj: K8sObject, p_index: int) -> list[PodSpecRef]:
    return [pod for pod in pod_specs(obj) if pod.predictor_path == ("spec", "predictors", p_index)]


@check("SY307")
def production_replicas(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        if environment(target) != PRODUCTION:
            continue
        for obj in target.objects:
            if not is_seldon_deployment(obj):
                continue
            predictors = as_list(as_dict(obj.body.get("spec")).get("predictors"))
            for p_index in served_predictors(obj):
                name = as_dict(predictors[p_index]).get("name", p_index)
                pods = _component_pods(obj, p_index)
                counts = [(_component(pod), pod.replicas) for pod in pods] or [("", seldon_replicas(obj, p_index, None))]
                for label, replicas in counts:
                    if replicas.low < 2:
                        where = f" {label}" if label and len(counts) > 1 else ""
                        yield Finding.on(
                            obj, "SY307",
                            f"production predictor {name!r}{where} runs {replicas.low} replica(s)",
                            path=replicas.path,
                            hint="set replicas: 2 or more (or hpaSpec.minReplicas >= 2) in the production overlay",
                        )


def _effective_pdb(spec: dict[str, Any]) -> bool:
    """A budget that protects anything: not minAvailable 0, not maxUnavailable 100%."""
    if spec.get("minAvailable") in (0, "0", "0%"):
        return False
    if spec.get("maxUnavailable") == "100%":
        return False
    return "minAvailable" in spec or "maxUnavailable" in spec


def selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """A LabelSelector evaluated against known pod labels."""
    selector = as_dict(selector)
    for key, value in as_dict(selector.get("matchLabels")).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in as_list(selector.get("matchExpressions")):
        expr = as_dict(expr)
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = [str(v) for v in as_list(expr.get("values"))]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@check("SY308")
def production_pdb(ctx: CheckContext) -> Iterable[Finding]:
    budgets: list[K8sObject] = []
    # A budget may live in any file of the overlay: only whole overlays and
    # entry points can show that one is missing.
    production = [t for t in ctx.targets if environment(t) == PRODUCTION and t.kind in ("overlay", "entrypoint")]
    for target in production:
        budgets.extend(o for o in target.objects if o.kind == "PodDisruptionBudget")
    for target in production:
        for obj in target.objects:
            if not is_seldon_deployment(obj):
                continue
            predictors = as_list(as_dict(obj.body.get("spec")).get("predictors"))
            for p_index in served_predictors(obj):
                name = as_dict(predictors[p_index]).get("name", p_index)
                pods = _component_pods(obj, p_index)
                if not pods:
                    yield Finding.on(
                        obj, "SY308",
                        f"production predictor {name!r} has no componentSpecs to carry a pdbSpec",
                        path=("spec", "predictors", p_index),
                        hint="add componentSpecs with pdbSpec: {minAvailable: 1}",
                    )
                    continue
                for pod in pods:
                    component = as_dict(dig(obj.body, *pod.component_path))
                    if _effective_pdb(as_dict(component.get("pdbSpec"))):
                        continue
                    if any(
                        b.namespace == obj.namespace
                        and _effective_pdb(as_dict(b.body.get("spec")))
                        and selector_matches(as_dict(b.body.get("spec")).get("selector"), pod.labels)
                        for b in budgets
                    ):
                        continue
                    where = f" {_component(pod)}" if len(pods) > 1 else ""
                    yield Finding.on(
                        obj, "SY308",
                        f"production predictor {name!r}{where} has no PodDisruptionBudget",
                        path=pod.component_path,
                        hint="set pdbSpec: {minAvailable: 1} on the componentSpec, or add a PodDisruptionBudget "
                             "selecting a label declared in its metadata.labels",
                    )

