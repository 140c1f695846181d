"""GPUs in a pin change: the generated GPU patch a pin gets (from
spec.serving.gpu and the clusters' spec.gpu, shipyard.models.gpus), and the
capacity check a promotion passes before anything is written (SY304, the
rule `validate` applies: shipyard.models.rules.gpu_capacity)."""

from __future__ import annotations

from typing import Any

from shipyard.checks.policy_gpu import gpu_demands
from shipyard.errors import ShipyardError
from shipyard.lifecycle.pin_edit import PinState
from shipyard.models import CANARY_PREDICTOR, rules
from shipyard.models.gpus import (apply_ops, cluster_file, deploy_base, expected_gpu_patch, gpu_nodes, gpu_ops,
                                  require_base)
from shipyard.models.pins import env_models_dir
from shipyard.models.problem import Problem
from shipyard.models.spec import Model
from shipyard.objects import K8sObject, Source
from shipyard.repo import Repository
from shipyard.targets import build_folder


def predictors_of(state: PinState) -> int:
    return 2 if state.canary else 1


def pin_gpu_patch(repo: Repository, model: Model, env: str, state: PinState) -> str | None:
    """The GPU patch ``env``'s pin gets for ``state`` (None: CPU there).
    Only a model that uses GPUs in ``env`` has its deploy base rendered."""
    if model.gpu_for(env) <= 0:
        return None
    return expected_gpu_patch(model, env, repo.clusters(), deploy_base(repo, model), predictors_of(state))


def planned_deployment(repo: Repository, model: Model, env: str, state: PinState) -> dict[str, Any]:
    """The model's SeldonDeployment as ``env`` would render it after the
    change: the deploy base with the pin's replicas, the canary's copy of
    predictor 0 and the GPU patch applied (the version components change
    no pod, and the owner's own patches in the pin are not replayed)."""
    base = require_base(model, deploy_base(repo, model))
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/spec/predictors/0/replicas", "value": state.replicas}]
    if state.canary:
        ops += [{"op": "copy", "from": "/spec/predictors/0", "path": "/spec/predictors/1"},
                {"op": "add", "path": "/spec/predictors/1/name", "value": CANARY_PREDICTOR},
                {"op": "add", "path": "/spec/predictors/1/replicas", "value": int(state.canary_replicas or 1)}]
    gpus = model.gpu_for(env)
    if gpus > 0:
        nodes = gpu_nodes(repo.clusters(), env)
        if isinstance(nodes, Problem):
            raise nodes.error()
        ops += gpu_ops(model, base, gpus, nodes, predictors_of(state))
    return apply_ops(base, ops)


def require_capacity(repo: Repository, model: Model, env: str, state: PinState, warnings: list[str]) -> None:
    """Refuse (SY304), before anything is written, a change after which a
    cluster of ``env`` would be asked for more GPUs than it has: everything
    overlays/<env>/models renders now, with this model's SeldonDeployment
    as it will be. A model that uses no GPU in ``env`` adds none, so
    nothing is rendered for it (a promotion stays one pin's render)."""
    if model.gpu_for(env) <= 0:
        return
    clusters = [c for c in repo.clusters() if c.environment == env]
    if not clusters:
        warnings.append(f"no cluster in clusters/ declares environment {env}: cannot check that its GPUs suffice, "
                        "and the GPU patch has no node selector or tolerations")
        return
    planned = planned_deployment(repo, model, env, state)
    others = [o for o in build_folder(repo, env_models_dir(repo, env))
              if not (rules.seldon_deployments([o]) and (o.get("metadata") or {}).get("name") == model.name)]
    rel = repo.rel(env_models_dir(repo, env))
    objects = [K8sObject(body, Source(rel)) for body in [*others, planned]]
    demands = list(gpu_demands(objects).values())
    for cluster in clusters:
        problem = rules.gpu_capacity(cluster, demands, at=(cluster_file(cluster), cluster.gpu_line))
        if problem is not None and cluster.gpu_capacity <= 0:
            raise ShipyardError(f"{model.name} uses {model.gpu_for(env)} GPU(s) per replica in {env} ({model.rel}), "
                                f"but cluster {cluster.name!r} has no GPUs: {problem.message}", file=problem.file,
                                line=problem.line, check=problem.id,
                                hint=f"set spec.serving.gpu.{env}: 0 in {model.rel} to serve on CPU there (or 0 "
                                     f"replicas), or describe the cluster's GPU nodes under spec.gpu in "
                                     f"{cluster_file(cluster)}")
        if problem is not None:
            raise ShipyardError(f"promoting {model.name} to {env}: {problem.message}", file=problem.file,
                                line=problem.line, check=problem.id,
                                hint=f"{problem.hint}; or give {model.name} fewer replicas or GPUs in {env} "
                                     f"(spec.serving in {model.rel})")
