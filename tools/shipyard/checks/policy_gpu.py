"""SY303, SY304: GPUs are requested only where GPU nodes are, and only as
many as the cluster has.

A pod asking for ``nvidia.com/gpu`` without the GPU nodes' tolerations and
node selector stays Pending (or, worse, lands on a node whose device plugin
is missing); a cluster whose models ask for more GPUs than it owns leaves
the last rollout Pending. Both facts are written in
``clusters/<c>/cluster.yaml``::

    spec:
      gpu:
        capacity: 8                          # nvidia.com/gpu across all GPU nodes
        nodeSelector: {nvidia.com/gpu.present: "true"}
        tolerations:
        - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.policies import PodSpecRef, all_pod_specs, as_dict, as_list, dig, pod_gpus
from shipyard.findings import Finding
from shipyard.models import rules
from shipyard.objects import JsonPath, K8sObject
from shipyard.quantities import GpuDemand

if TYPE_CHECKING:
    from shipyard.repo import Cluster


def gpu_config(cluster: "Cluster") -> dict[str, Any]:
    raw = as_dict(cluster.raw)
    spec = as_dict(raw.get("spec", raw))
    return as_dict(spec.get("gpu"))


def target_clusters(target: RenderedTarget, ctx: CheckContext) -> list["Cluster"]:
    """The clusters a target runs in: its own, or every cluster of its
    environment when it is an environment overlay."""
    if target.cluster is not None:
        return [target.cluster]
    if target.environment and ctx.repo is not None:
        key = "clusters-by-env"
        cache = ctx.cache.setdefault(key, {})
        assert isinstance(cache, dict)
        if target.environment not in cache:
            cache[target.environment] = [c for c in ctx.repo.clusters() if c.environment == target.environment]
        return list(cache[target.environment])
    return []


def tolerates(pod_toleration: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether ``pod_toleration`` tolerates every taint that ``wanted``
    (a toleration the cluster says GPU pods need) tolerates."""
    p_key, w_key = pod_toleration.get("key") or "", wanted.get("key") or ""
    p_op = pod_toleration.get("operator") or "Equal"
    w_op = wanted.get("operator") or "Equal"
    if p_key:
        if p_key != w_key:
            return False
    elif p_op != "Exists":
        return False
    p_effect = pod_toleration.get("effect") or ""
    if p_effect and p_effect != (wanted.get("effect") or ""):
        return False
    if p_op == "Exists":
        return True
    return w_op != "Exists" and str(pod_toleration.get("value") or "") == str(wanted.get("value") or "")


def selects(pod_spec: dict[str, Any], key: str, value: str) -> bool:
    """Whether the pod can only land on nodes labelled key=value: by
    nodeSelector, or by a required node affinity every term of which
    pins the label to that one value."""
    if str(as_dict(pod_spec.get("nodeSelector")).get(key, "\0")) == value:
        return True
    terms = as_list(dig(pod_spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
    if not terms:
        return False
    for term in terms:
        pinned = any(
            isinstance(e, dict) and e.get("key") == key and e.get("operator") == "In"
            and [str(v) for v in as_list(e.get("values"))] == [value]
            for e in as_list(as_dict(term).get("matchExpressions"))
        )
        if not pinned:
            return False
    return True


def scheduling_problems(pod: PodSpecRef, config: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in as_dict(config.get("nodeSelector")).items():
        if not selects(pod.spec, str(key), str(value)):
            problems.append(f"nodeSelector {key}={value}")
    pod_tolerations = [t for t in as_list(pod.spec.get("tolerations")) if isinstance(t, dict)]
    for wanted in as_list(config.get("tolerations")):
        if isinstance(wanted, dict) and not any(tolerates(t, wanted) for t in pod_tolerations):
            desc = wanted.get("key") or "*"
            if wanted.get("effect"):
                desc += f":{wanted['effect']}"
            problems.append(f"toleration {desc}")
    return problems


@check("SY303")
def gpu_scheduling(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        clusters = target_clusters(target, ctx)
        if not clusters:
            continue
        for pod in all_pod_specs(target.objects):
            gpus = pod_gpus(pod)
            if not gpus:
                continue
            for cluster in clusters:
                config = gpu_config(cluster)
                if not config:
                    yield Finding.on(
                        pod.obj, "SY303",
                        f"pod{pod.where()} requests {gpus} GPU(s) but cluster {cluster.name!r} declares no GPU nodes",
                        path=pod.path,
                        hint=f"describe the GPU nodes under spec.gpu in clusters/{cluster.name}/cluster.yaml, "
                             "or remove the GPU request",
                    )
                    continue
                missing = scheduling_problems(pod, config)
                if missing:
                    yield Finding.on(
                        pod.obj, "SY303",
                        f"pod{pod.where()} requests {gpus} GPU(s) but lacks {', '.join(missing)} "
                        f"that cluster {cluster.name!r} requires for its GPU nodes",
                        path=pod.path,
                        hint=f"a model gets them from clusters/{cluster.name}/cluster.yaml (spec.gpu) through its pin: "
                             "`shipyard register MODEL --sync` writes them; for anything else, copy "
                             "spec.gpu.nodeSelector and spec.gpu.tolerations from there",
                    )


def gpu_demands(objects: list[K8sObject]) -> dict[tuple[str, str, str, JsonPath], GpuDemand]:
    """Every pod template among ``objects`` that asks for GPUs, by object
    and pod: its GPUs (the one counter) times its replicas at most
    (replicas, or an autoscaler's maximum). `promote` sums the same demands
    over what an environment would render after the change."""
    found: dict[tuple[str, str, str, JsonPath], GpuDemand] = {}
    for pod in all_pod_specs(objects):
        gpus = pod_gpus(pod)
        if not gpus:
            continue
        ns = f"{pod.obj.namespace}/" if pod.obj.namespace else ""
        found[(pod.obj.kind, pod.obj.namespace, pod.obj.name, pod.path)] = GpuDemand(
            f"{pod.obj.kind} {ns}{pod.obj.name}{pod.where()}", gpus, pod.replicas.high)
    return found


@check("SY304")
def gpu_capacity(ctx: CheckContext) -> Iterable[Finding]:
    usage: dict[str, dict[tuple[str, str, str, JsonPath], GpuDemand]] = {}
    clusters: dict[str, "Cluster"] = {}
    for target in ctx.targets:
        for cluster in target_clusters(target, ctx):
            clusters[cluster.name] = cluster
            per = usage.setdefault(cluster.name, {})
            for key, demand in gpu_demands(target.objects).items():
                # one object rendered by two targets (both engines) runs once
                if key not in per or per[key].total < demand.total:
                    per[key] = demand
    for name, per in sorted(usage.items()):
        if not per:
            continue
        cluster = clusters[name]
        if not gpu_config(cluster):
            continue  # SY303 already says this cluster has no GPU nodes
        problem = rules.gpu_capacity(cluster, per.values(), at=_cluster_file(ctx, cluster))
        if problem is not None:
            yield Finding(check="SY304", message=problem.message, file=problem.file, line=problem.line,
                          hint=problem.hint, target=name)


def _cluster_file(ctx: CheckContext, cluster: "Cluster") -> tuple[str, int]:
    """cluster.yaml's repository path and the line of spec.gpu.capacity."""
    path = Path(cluster.path) / "cluster.yaml"
    rel = ctx.repo.rel(path) if ctx.repo is not None else path.as_posix()
    return rel, yaml_line(path, ("spec", "gpu", "capacity")) or yaml_line(path, ("spec", "gpu")) or 1


def yaml_line(path: Path, keys: tuple[str, ...]) -> int:
    """1-based line of the mapping key at ``keys`` in a YAML file, 0 when
    absent or unreadable."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return 0
    line = 0
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return 0
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                line, node = k.start_mark.line + 1, v
                break
        else:
            return 0
    return line
