"""Status: which version runs where, on which cluster, with how many GPUs,
from the rendered overlays (what Argo CD or Flux would apply)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable

from shipyard.models import CANARY_LABEL, VERSION_LABEL
from shipyard.models.pins import env_models_dir
from shipyard.models.rules import predictor_gpus, predictor_role, seldon_deployments
from shipyard.repo import Repository
from shipyard.targets import open_renderer


@dataclass(frozen=True)
class Placement:
    """One predictor of one model in one environment, on one cluster."""

    model: str
    environment: str
    cluster: str
    predictor: str
    role: str  # "stable" | "canary"
    version: str
    traffic: int
    replicas: int
    gpus: int
    model_uri: str


def placements_in(objects: Iterable[dict[str, Any]], env: str, clusters: list[str]) -> list[Placement]:
    found: list[Placement] = []
    for sd in seldon_deployments(objects):
        labels = (sd.get("metadata") or {}).get("labels") or {}
        name = str((sd.get("metadata") or {}).get("name", ""))
        model = str(labels.get("app.kubernetes.io/name") or name)
        predictors = (sd.get("spec") or {}).get("predictors") or []
        for index, predictor in enumerate(predictors):
            role = predictor_role(predictor)
            version = str(((predictor.get("labels") or {}).get("version"))
                          or labels.get(CANARY_LABEL if role == "canary" else VERSION_LABEL) or "?")
            replicas = int(predictor.get("replicas", 1) or 0)
            traffic = int(predictor.get("traffic", 100 if len(predictors) == 1 else 0) or 0)
            for cluster in clusters or ["-"]:
                found.append(Placement(model, env, cluster, str(predictor.get("name", index)), role, version,
                                       traffic, replicas, replicas * predictor_gpus(predictor),
                                       str((predictor.get("graph") or {}).get("modelUri", ""))))
    return found


def status(repo: Repository, envs: list[str] | None = None) -> list[Placement]:
    """Every model predictor in every environment and cluster, from the
    rendered overlays (what Argo CD or Flux would apply), not the pins alone."""
    envs = envs or repo.model_environments()
    for env in envs:
        repo.require_environment(env)
    by_env: dict[str, list[str]] = {}
    for cluster in repo.clusters():
        by_env.setdefault(cluster.environment, []).append(cluster.name)
    with open_renderer(repo) as renderer, ThreadPoolExecutor(max_workers=2) as pool:
        rendered = list(pool.map(lambda e: renderer.kustomize_bodies(repo.rel(env_models_dir(repo, e))), envs))
    rows: list[Placement] = []
    for env, objects in zip(envs, rendered):
        rows.extend(placements_in(objects, env, sorted(by_env.get(env, []))))
    order = {e: i for i, e in enumerate(envs)}
    return sorted(rows, key=lambda p: (p.model, order[p.environment], p.cluster, p.role != "stable"))


@dataclass(frozen=True)
class ClusterGpus:
    cluster: str
    environment: str
    requested: int
    capacity: int


def gpu_usage(repo: Repository, rows: list[Placement]) -> list[ClusterGpus]:
    """GPUs the models ask for on each cluster, against cluster.yaml's
    spec.gpu.capacity: what a promotion that adds replicas would exceed."""
    used: dict[str, int] = {}
    for row in rows:
        used[row.cluster] = used.get(row.cluster, 0) + row.gpus
    return [ClusterGpus(c.name, c.environment, used.get(c.name, 0), c.gpu_capacity) for c in repo.clusters()
            if c.name in used]
