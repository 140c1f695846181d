"""What the SY3xx policies look at: pods, wherever a manifest hides them.

A container can sit in a Pod, a Deployment's template, a CronJob's job
template, a SeldonDeployment's componentSpecs or a training job's replica
specs. The policy checks (``policy_*.py``) ask one question of every pod —
its containers, how many replicas run, where it is scheduled — so the
walking lives here, once, and each finding points at the exact field.

This module registers no check; it is imported by the modules that do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from shipyard.checks.context import PerObjects
from shipyard.models import SELDON_GROUP
from shipyard.objects import JsonPath, K8sObject
from shipyard.quantities import GPU_RESOURCE, gpu_count, parse_quantity, pod_spec_gpus
from shipyard.shapes import as_dict, as_list, dig

__all__ = ["GPU_RESOURCE", "gpu_count", "parse_quantity", "as_dict", "as_list", "dig"]

# Controllers whose pod template sits at spec.template.
TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"})

# Seldon implementations that are not prepackaged model servers (seldon-core
# 1.17 IsPrepack): graph nodes with these run the user's own container.
SELDON_BUILTIN_IMPLEMENTATIONS = frozenset(
    {"SIMPLE_MODEL", "SIMPLE_ROUTER", "RANDOM_ABTEST", "AVERAGE_COMBINER", "UNKNOWN_IMPLEMENTATION"}
)


def source_kind(obj: K8sObject) -> str:
    """'chart' for objects a Helm chart template produced, 'remote' for
    objects from a remote kustomize base, 'repo' for this repository's files."""
    path = obj.source.path
    if path.startswith("chart:"):
        return "chart"
    if "://" in path or path.startswith("git@"):
        return "remote"
    return "repo"


def is_seldon_deployment(obj: K8sObject) -> bool:
    return obj.kind == "SeldonDeployment" and obj.group == SELDON_GROUP


def is_prepackaged(implementation: Any) -> bool:
    """seldon-core 1.17's IsPrepack: any implementation that is set and is
    not one of the engine's built-in units is a prepackaged model server."""
    return isinstance(implementation, str) and bool(implementation) and implementation not in SELDON_BUILTIN_IMPLEMENTATIONS


@dataclass(slots=True)
class Replicas:
    """How many copies of a pod run: ``low`` at rest (what a disruption
    leaves you with), ``high`` at most (what capacity must hold), and the
    field that decided it (for the finding's line)."""

    low: int
    high: int
    path: JsonPath


@dataclass(slots=True)
class PodSpecRef:
    """One pod template inside an object.

    ``path`` leads to the PodSpec itself; ``label`` says which pod it is in
    words (``predictor 'canary' componentSpecs[0]``); ``labels`` are the pod
    labels known from the manifest; ``seldon`` carries the predictor and
    componentSpec for SeldonDeployments."""

    obj: K8sObject
    path: JsonPath
    spec: dict[str, Any]
    label: str
    replicas: Replicas
    labels: dict[str, str] = field(default_factory=dict)
    predictor: dict[str, Any] | None = None
    predictor_path: JsonPath = ()
    component_path: JsonPath = ()

    def containers(self, *, init: bool = True) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
        """(path, container) for every container (and init container)."""
        keys = ("initContainers", "containers") if init else ("containers",)
        for key in keys:
            for i, container in enumerate(as_list(self.spec.get(key))):
                if isinstance(container, dict):
                    yield (*self.path, key, i), container

    def where(self) -> str:
        return f" ({self.label})" if self.label else ""


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    return default


def _labels(value: Any) -> dict[str, str]:
    """Pod labels as strings: the manifest's own dict when it already is
    one (the usual case, and bodies are never changed in place), else a
    copy with every key and value made a string."""
    labels = as_dict(value)
    if all(k.__class__ is str and v.__class__ is str for k, v in labels.items()):
        return labels
    return {str(k): str(v) for k, v in labels.items()}


def seldon_replicas(obj: K8sObject, p_index: int, c_index: int | None) -> Replicas:
    """Replicas of one componentSpec as seldon-core 1.x computes them:
    componentSpec.replicas, else predictor.replicas, else spec.replicas,
    else 1; an hpaSpec or kedaSpec on the componentSpec scales between its
    bounds instead."""
    spec = as_dict(obj.body.get("spec"))
    predictor = as_dict(dig(spec, "predictors", p_index))
    p_path: JsonPath = ("spec", "predictors", p_index)
    component = as_dict(dig(predictor, "componentSpecs", c_index)) if c_index is not None else {}
    c_path: JsonPath = (*p_path, "componentSpecs", c_index) if c_index is not None else p_path
    hpa = component.get("hpaSpec")
    if isinstance(hpa, dict):
        low = _int(hpa.get("minReplicas"), 1)
        high = _int(hpa.get("maxReplicas"), low)
        return Replicas(low, max(low, high), (*c_path, "hpaSpec"))
    keda = component.get("kedaSpec")
    if isinstance(keda, dict):
        low = _int(keda.get("minReplicaCount"), 0)
        high = _int(keda.get("maxReplicaCount"), 100)
        return Replicas(low, max(low, high), (*c_path, "kedaSpec"))
    for holder, path in ((component, (*c_path, "replicas")), (predictor, (*p_path, "replicas")), (spec, ("spec", "replicas"))):
        value = holder.get("replicas")
        if isinstance(value, int) and not isinstance(value, bool):
            return Replicas(value, value, path)
    return Replicas(1, 1, p_path)


def _hpa_bounds(objects: list[K8sObject]) -> dict[tuple[str, str, str], tuple[int, int, K8sObject]]:
    """HorizontalPodAutoscalers by (namespace, kind, name) of their target."""
    bounds: dict[tuple[str, str, str], tuple[int, int, K8sObject]] = {}
    for obj in objects:
        if obj.kind != "HorizontalPodAutoscaler":
            continue
        spec = as_dict(obj.body.get("spec"))
        ref = as_dict(spec.get("scaleTargetRef"))
        low = _int(spec.get("minReplicas"), 1)
        high = _int(spec.get("maxReplicas"), low)
        bounds[(obj.namespace, str(ref.get("kind", "")), str(ref.get("name", "")))] = (low, max(low, high), obj)
    return bounds


def pod_specs(obj: K8sObject, hpas: dict[tuple[str, str, str], tuple[int, int, K8sObject]] | None = None) -> Iterator[PodSpecRef]:
    """Every pod template in ``obj``, with its replicas and labels. A Katib
    Experiment's trial template (spec.trialTemplate.trialSpec, a whole Job
    or training job) counts as the pods its trials run: parallelTrialCount
    trials at once (Katib's default, 3, when unset)."""
    if obj.kind == "Experiment" and obj.api_version.startswith("kubeflow.org/"):
        yield from _trial_pod_specs(obj)
        return
    yield from _workload_pod_specs(obj, obj.body, (), hpas)


# Katib's DefaultTrialParallelCount (pkg/apis/controller/experiments/v1beta1/constants.go).
KATIB_DEFAULT_PARALLEL_TRIALS = 3
TRIAL_SPEC_PATH: JsonPath = ("spec", "trialTemplate", "trialSpec")


def _trial_pod_specs(obj: K8sObject) -> Iterator[PodSpecRef]:
    trial = dig(obj.body, *TRIAL_SPEC_PATH)
    if not isinstance(trial, dict) or not isinstance(trial.get("kind"), str):
        return
    parallel = _int(dig(obj.body, "spec", "parallelTrialCount"), KATIB_DEFAULT_PARALLEL_TRIALS)
    parallel_path: JsonPath = ("spec", "parallelTrialCount")
    for pod in _workload_pod_specs(obj, trial, TRIAL_SPEC_PATH, None):
        label = f"trial {trial['kind']}" + (f" {pod.label}" if pod.label else "")
        replicas = Replicas(pod.replicas.low * max(parallel, 0), pod.replicas.high * max(parallel, 0),
                            parallel_path if "parallelTrialCount" in as_dict(obj.body.get("spec")) else pod.replicas.path)
        yield PodSpecRef(obj, pod.path, pod.spec, label, replicas, pod.labels)


_TEMPLATE_SPEC: JsonPath = ("spec", "template", "spec")
_REPLICAS: JsonPath = ("spec", "replicas")
_PARALLELISM: JsonPath = ("spec", "parallelism")
"""Paths every workload at the top of its object shares (one tuple each,
not one per object: a run may walk 10,000 Deployments)."""


def _workload_pod_specs(obj: K8sObject, body: dict[str, Any], at: JsonPath,
                        hpas: dict[tuple[str, str, str], tuple[int, int, K8sObject]] | None) -> Iterator[PodSpecRef]:
    """The pod templates of ``body``, an object's own body (``at`` empty) or
    one embedded in ``obj`` at ``at``; paths are ``obj``'s."""
    kind_value, version_value = body.get("kind"), body.get("apiVersion")
    kind = kind_value if isinstance(kind_value, str) else ""
    api_version = version_value if isinstance(version_value, str) else ""
    group = api_version.rpartition("/")[0]
    spec = as_dict(body.get("spec"))
    if kind == "Pod" and api_version == "v1":
        yield PodSpecRef(obj, (*at, "spec"), spec, "", Replicas(1, 1, at), _labels(dig(body, "metadata", "labels")))
        return
    if kind in TEMPLATE_KINDS and "template" in spec:
        pod = as_dict(dig(spec, "template", "spec"))
        if kind == "Job":
            parallelism = _int(spec.get("parallelism"), 1)
            replicas = Replicas(parallelism, parallelism, (*at, "spec", "parallelism") if at else _PARALLELISM)
        elif kind == "DaemonSet":
            replicas = Replicas(1, 1, at)
        else:
            count = _int(spec.get("replicas"), 1)
            replicas = Replicas(count, count, (*at, "spec", "replicas") if at else _REPLICAS)
            scaled = (hpas or {}).get((obj.namespace, str(kind), obj.name)) if not at else None
            if scaled is not None:
                replicas = Replicas(scaled[0], scaled[1], _REPLICAS)
        yield PodSpecRef(obj, (*at, "spec", "template", "spec") if at else _TEMPLATE_SPEC, pod, "", replicas,
                         _labels(dig(spec, "template", "metadata", "labels")))
        return
    if kind == "CronJob":
        job = as_dict(dig(spec, "jobTemplate", "spec"))
        count = _int(job.get("parallelism"), 1)
        yield PodSpecRef(
            obj, (*at, "spec", "jobTemplate", "spec", "template", "spec"), as_dict(dig(job, "template", "spec")), "",
            Replicas(count, count, (*at, "spec", "jobTemplate", "spec", "parallelism")),
            _labels(dig(job, "template", "metadata", "labels")),
        )
        return
    if not at and is_seldon_deployment(obj):
        yield from _seldon_pod_specs(obj)
        return
    if group == "kubeflow.org":
        # Training Operator jobs: spec.<framework>ReplicaSpecs.<role>.template
        for key, roles in spec.items():
            if not (isinstance(key, str) and key.endswith("ReplicaSpecs") and isinstance(roles, dict)):
                continue
            for role, role_spec in roles.items():
                if not isinstance(role_spec, dict):
                    continue
                count = _int(role_spec.get("replicas"), 1)
                yield PodSpecRef(
                    obj, (*at, "spec", key, role, "template", "spec"), as_dict(dig(role_spec, "template", "spec")),
                    f"{role} replicas", Replicas(count, count, (*at, "spec", key, role, "replicas")),
                    _labels(dig(role_spec, "template", "metadata", "labels")),
                )


def _seldon_pod_specs(obj: K8sObject) -> Iterator[PodSpecRef]:
    for p_index, predictor in enumerate(as_list(dig(obj.body, "spec", "predictors"))):
        if not isinstance(predictor, dict):
            continue
        p_name = str(predictor.get("name", p_index))
        p_path: JsonPath = ("spec", "predictors", p_index)
        base_labels = {"version": p_name, **_labels(predictor.get("labels"))}
        for c_index, component in enumerate(as_list(predictor.get("componentSpecs"))):
            if not isinstance(component, dict):
                continue
            c_path: JsonPath = (*p_path, "componentSpecs", c_index)
            yield PodSpecRef(
                obj, (*c_path, "spec"), as_dict(component.get("spec")),
                f"predictor {p_name!r} componentSpecs[{c_index}]",
                seldon_replicas(obj, p_index, c_index),
                {**base_labels, **_labels(dig(component, "metadata", "labels"))},
                predictor=predictor, predictor_path=p_path, component_path=c_path,
            )


def graph_nodes(graph: Any, path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """Every node of a Seldon inference graph, depth first, with its path."""
    if not isinstance(graph, dict):
        return
    yield path, graph
    for i, child in enumerate(as_list(graph.get("children"))):
        yield from graph_nodes(child, (*path, "children", i))


def predictor_containers(predictor: dict[str, Any]) -> dict[str, tuple[int, int, dict[str, Any]]]:
    """Containers declared in a predictor's componentSpecs, by name:
    (componentSpec index, container index, container)."""
    found: dict[str, tuple[int, int, dict[str, Any]]] = {}
    for c_index, component in enumerate(as_list(predictor.get("componentSpecs"))):
        for k, container in enumerate(as_list(dig(component, "spec", "containers"))):
            if isinstance(container, dict) and isinstance(container.get("name"), str):
                found.setdefault(container["name"], (c_index, k, container))
    return found


def prepackaged_without_container(obj: K8sObject) -> Iterator[tuple[JsonPath, dict[str, Any], str]]:
    """Prepackaged graph nodes with no componentSpecs container of their
    name: the operator will generate that container from its own defaults.
    Yields (node path, node, predictor name)."""
    for p_index, predictor in enumerate(as_list(dig(obj.body, "spec", "predictors"))):
        if not isinstance(predictor, dict):
            continue
        declared = predictor_containers(predictor)
        for path, node in graph_nodes(predictor.get("graph"), ("spec", "predictors", p_index, "graph")):
            name = node.get("name")
            if is_prepackaged(node.get("implementation")) and not (isinstance(name, str) and name in declared):
                yield path, node, str(predictor.get("name", p_index))


def serving_containers(obj: K8sObject) -> Iterator[tuple[JsonPath, dict[str, Any], dict[str, Any], str]]:
    """Containers of a SeldonDeployment that serve a graph node:
    (container path, container, node, predictor name)."""
    for p_index, predictor in enumerate(as_list(dig(obj.body, "spec", "predictors"))):
        if not isinstance(predictor, dict):
            continue
        declared = predictor_containers(predictor)
        for _path, node in graph_nodes(predictor.get("graph"), ("spec", "predictors", p_index, "graph")):
            name = node.get("name")
            if isinstance(name, str) and name in declared:
                c_index, k, container = declared[name]
                path: JsonPath = ("spec", "predictors", p_index, "componentSpecs", c_index, "spec", "containers", k)
                yield path, container, node, str(predictor.get("name", p_index))


def _walk(objects: list[K8sObject]) -> list[PodSpecRef]:
    hpas = _hpa_bounds(objects)
    return [pod for obj in objects for pod in pod_specs(obj, hpas)]


_WALKED = PerObjects(_walk, fingerprint=lambda objects: tuple(id(obj.body) for obj in objects))
"""A dozen policy checks walk the same target's pods, and the walk was a
fifth of a large file's check: walked once per list holding the same bodies."""


def all_pod_specs(objects: list[K8sObject]) -> Iterator[PodSpecRef]:
    """Pod templates of every object, HorizontalPodAutoscalers applied;
    computed once per list (the same list holding the same bodies)."""
    return iter(_WALKED(objects))


# --- quantities -----------------------------------------------------------

def pod_gpus(pod: PodSpecRef) -> int:
    """GPUs one pod holds (shipyard.quantities.pod_spec_gpus, the one counter)."""
    return pod_spec_gpus(pod.spec)
