"""The version components generated from model.yaml: one kustomize
Component per registered version (the stable predictor) and one for it as a
canary, and the problems of components that drift from model.yaml (SY505)."""

from __future__ import annotations

import json
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.load import load_located, load_located_file
from shipyard.models import CANARY_LABEL, CANARY_PREDICTOR, SELDON_GROUP, SELDON_KIND, VERSION_LABEL
from shipyard.models.problem import Problem
from shipyard.models.spec import Model, Version
from shipyard.repo import Repository

def versions_dir(repo: Repository, model: str) -> Path:
    return repo.root / "models" / model / "versions"


def component_dir(repo: Repository, model: str, version: str, *, canary: bool = False) -> Path:
    path = versions_dir(repo, model) / version
    return path / "canary" if canary else path


def _q(value: str) -> str:
    """A YAML scalar that stays a string: `1.10` must not become 1.1."""
    return json.dumps(value)


def component_text(model: Model, version: Version, *, canary: bool = False) -> str:
    """The kustomize Component for ``version``: as the stable predictor
    (index 0), or as a canary predictor copied from it (index 1).

    The canary copies predictor 0 so it serves exactly like the stable one
    except for the artifact; the overlay that lists it sets the traffic.

    The version is written twice, because seldon-core 1.17 reads it from two
    places: the predictor's ``labels.version`` goes onto its pods, where
    Istio's per-predictor subsets select them; its ``annotations.version`` is
    what the executor puts in the ``predictor_version`` label of every request
    metric (executor/api/metric/server.go, rest/server.go read
    ``Predictor.Annotations["version"]``), and so what each alert names.
    A version only in the labels leaves ``predictor_version`` empty (SY319).
    Both ops set the whole map: a predictor's labels and annotations belong to
    its version component; settings for every pod go in ``spec.annotations``.
    """
    v = version.version
    index = 1 if canary else 0
    label = CANARY_LABEL if canary else VERSION_LABEL
    role = "a canary predictor (listed after the stable version's component)" if canary else "the stable predictor"
    ops: list[str] = []
    if canary:
        ops.append(f"- op: copy\n  from: /spec/predictors/0\n  path: /spec/predictors/{index}")
        ops.append(f"- op: replace\n  path: /spec/predictors/{index}/name\n  value: {CANARY_PREDICTOR}")
    ops.append(f"- op: replace\n  path: /spec/predictors/{index}/graph/modelUri\n  value: {_q(version.model_uri)}")
    ops.append(f"- op: add\n  path: /spec/predictors/{index}/labels\n  value: {{version: {_q(v)}}}")
    ops.append(f"- op: add\n  path: /spec/predictors/{index}/annotations\n  value: {{version: {_q(v)}}}")
    ops.append(f"- op: add\n  path: /metadata/labels/{label.replace('/', '~1')}\n  value: {_q(v)}")
    patch = "\n".join("    " + line for op in ops for line in op.splitlines())
    return (
        f"# Generated from models/{model.name}/model.yaml (version {v}) by `shipyard register`.\n"
        f"# Do not edit: change model.yaml, then run `shipyard register {model.name} --sync`.\n"
        f"# Sets version {v} as {role}.\n"
        "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\n"
        "patches:\n"
        "- target:\n"
        f"    group: {SELDON_GROUP}\n"
        f"    kind: {SELDON_KIND}\n"
        f"    name: {model.name}\n"
        "  patch: |-\n"
        f"{patch}\n"
    )


def expected_components(repo: Repository, model: Model) -> dict[Path, str]:
    """Every generated component file of ``model`` and its content."""
    files: dict[Path, str] = {}
    for version in model.versions:
        for canary in (False, True):
            path = component_dir(repo, model.name, version.version, canary=canary) / "kustomization.yaml"
            files[path] = component_text(model, version, canary=canary)
    return files


def component_problems(repo: Repository, model: Model) -> list[Problem]:
    """Generated components that differ from model.yaml, are missing, or
    belong to no registered version."""
    problems: list[Problem] = []
    expected = expected_components(repo, model)
    for path, text in expected.items():
        rel = repo.rel(path)
        if not path.is_file():
            problems.append(Problem("SY505", rel, 1, "missing: generated component for a registered version",
                                    hint=f"run `shipyard register {model.name} --sync`"))
            continue
        try:
            actual = load_located_file(path, rel).data
        except ShipyardError as exc:
            problems.append(Problem("SY505", rel, exc.line or 1, exc.message))
            continue
        if actual != load_located(text, rel).data:
            problems.append(Problem("SY505", rel, 1, f"out of sync with {model.rel}",
                                    hint=f"run `shipyard register {model.name} --sync`"))
    registered = {v.version for v in model.versions}
    base = versions_dir(repo, model.name)
    if base.is_dir():
        for child in sorted(base.iterdir()):
            if child.is_dir() and child.name not in registered:
                problems.append(Problem("SY505", repo.rel(child), 1,
                                        f"component for version {child.name!r}, which {model.rel} does not register",
                                        hint="register the version or delete the folder"))
    return problems
