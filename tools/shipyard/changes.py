"""Which targets a change reaches, for ``validate --changed-since REF``.

Files changed since REF (committed, staged, unstaged and untracked) are
matched against each target's inputs, found statically; only the targets a
change reaches are rendered and checked. Settings every target reads
(shipyard.yaml, a cluster's cluster.yaml) select all targets they affect.
"""

from __future__ import annotations

import os
from pathlib import Path

from shipyard import git
from shipyard.objects import K8sObject
from shipyard.render.deps import target_inputs
from shipyard.render.engine import same_repo
from shipyard.repo import Repository
from shipyard.targets import TargetSpec


def changed_files(repo: Repository, ref: str) -> set[str]:
    """Files that differ between ``ref`` and the working tree, untracked included."""
    git.verify_ref(repo.root, ref, "--changed-since")
    hint = "check that the ref exists (git fetch it first in CI: actions/checkout with fetch-depth: 0)"
    changed = set(git.lines(repo.root, "diff", "--name-only", ref, "--", ".", what=f"git diff {ref}", hint=hint))
    changed |= set(git.lines(repo.root, "ls-files", "--others", "--exclude-standard", what="git ls-files", hint=hint))
    prefix = git.lines(repo.root, "rev-parse", "--show-prefix", what="git rev-parse", hint=hint)
    if prefix:  # the repository is a sub-folder of the git work tree
        p = prefix[0]
        changed = {c[len(p):] for c in changed if c.startswith(p)}
    return changed


def affected(repo: Repository, specs: list[TargetSpec], changed: set[str]) -> list[TargetSpec]:
    """The subset of ``specs`` whose inputs changed."""
    if "shipyard.yaml" in changed:
        return list(specs)
    url_ok = lambda url: same_repo(url, repo.repository_url)  # noqa: E731
    chosen = []
    for spec in specs:
        inputs = target_inputs(repo.root, spec.path, url_ok)
        if spec.cluster is not None:
            inputs.add(f"clusters/{spec.cluster.name}/cluster.yaml")
        if inputs & changed:
            chosen.append(spec)
    # Both engines of a cluster are compared with each other: keep them together.
    clusters = {s.cluster.name for s in chosen if s.cluster is not None}
    for spec in specs:
        if spec.cluster is not None and spec.cluster.name in clusters and spec not in chosen:
            chosen.append(spec)
    return chosen


MODEL_KINDS = frozenset({
    "SeldonDeployment", "ConfigMap", "Secret", "Service", "ServiceAccount", "PodMonitor", "ServiceMonitor",
    "PrometheusRule", "CronJob", "Job", "Deployment", "NetworkPolicy", "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
})
"""The kinds a model's folders hold (docs/layout.md): all namespaced, none
of them a cluster-wide fact (a Namespace, a CRD, an AppProject, RBAC, a
webhook) that an upstream base's objects are judged against."""
KUSTOMIZE_KINDS = frozenset({"Kustomization", "Component"})


def model_paths(repo: Repository) -> list[str]:
    """The folders that hold only models: models/ and every overlays/<env>/models/."""
    return ["models/"] + [f"overlays/{env}/models/" for env in sorted(repo.environments())]


def only_model_files(repo: Repository, changed: set[str], ref: str) -> bool:
    """Whether the change is a model change that cannot reach what an
    upstream base's objects are judged against, so that --changed-since
    may leave unrendered the upstream bases it does not reach
    (docs/checks.md, "--changed-since"): every changed file is in a model's
    folders, and each, before and after, is either a kustomization whose
    local references stay in those folders (no remote base) or manifests of
    the model kinds (``MODEL_KINDS``). Needs the committed CRD index, which
    stands in for the upstream bases' CRDs."""
    from shipyard.schemas.installed import read_index

    if not changed or read_index(repo.root) is None:
        return False
    folders = model_paths(repo)
    if not all(any(path.startswith(folder) for folder in folders) for path in changed):
        return False
    root = repo.root.resolve()
    for path in sorted(changed):
        if not path.endswith((".yaml", ".yml")):
            continue
        texts = [git.show(repo.root, ref, f"./{path}")]
        file = repo.root / path
        if file.is_file():
            texts.append(file.read_text(encoding="utf-8", errors="replace"))
        for text in texts:
            if text is None:
                continue
            if not _model_documents(text, path, root / path, root, folders):
                return False
    return True


def _model_documents(text: str, rel: str, file: Path, root: Path, folders: list[str]) -> bool:
    from shipyard.errors import ShipyardError
    from shipyard.load import load_documents
    from shipyard.render.deps import _file_refs, is_remote

    try:
        docs = [body for body, _line in load_documents(text, rel)]
    except ShipyardError:
        return False
    for doc in docs:
        if not isinstance(doc, dict):
            return False
        kind = str(doc.get("kind") or ("Kustomization" if Path(rel).name.startswith("kustomization") else ""))
        if kind in KUSTOMIZE_KINDS:
            for ref in _file_refs(doc):
                if is_remote(ref):
                    return False
                target = os.path.normpath(file.parent / ref)
                rel_target = os.path.relpath(target, root)
                if not any((rel_target + "/").startswith(folder) for folder in folders):
                    return False
        elif kind not in MODEL_KINDS:
            return False
    return True


def model_objects_only(repo: Repository, objects: list[K8sObject]) -> bool:
    """After a render with stand-ins: every object from a model's folders is
    of a model kind (a changed pin could move them elsewhere through a
    namespace or a component from the models' folders that names other
    kinds)."""
    folders = model_paths(repo)
    return all(o.kind in MODEL_KINDS for o in objects if any(o.source.path.startswith(f) for f in folders))
