"""Pins: which version of each model runs in each environment, read from
the overlays' kustomizations (version components, replicas and traffic
operations), with the line of each."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.load import load_located, load_located_file
from shipyard.models import SELDON_KIND
from shipyard.repo import Repository
from shipyard.shapes import as_dict, as_list

_COMPONENT_RE = re.compile(r"^models/(?P<model>[^/]+)/versions/(?P<version>[^/]+)(?P<canary>/canary)?/?$")
_MANAGED_OP_RE = re.compile(r"^/spec/predictors/(?P<index>\d+)/(?P<field>replicas|traffic)$")


def env_models_dir(repo: Repository, env: str) -> Path:
    return repo.overlay_path(env) / "models"


def pin_dir(repo: Repository, env: str, model: str) -> Path:
    return env_models_dir(repo, env) / model


@dataclass
class Pin:
    """A model's pin in one environment, as written in a kustomization."""

    model: str
    environment: str
    file: str
    stable: str | None = None
    stable_line: int = 0
    canary: str | None = None
    canary_line: int = 0
    replicas: dict[int, int] = field(default_factory=dict)
    traffic: dict[int, int] = field(default_factory=dict)
    replicas_line: int = 0
    extra: list[tuple[str, int]] = field(default_factory=list)  # more components of this model (an error)

    @property
    def canary_traffic(self) -> int | None:
        return self.traffic.get(1) if self.canary else None


def parse_pins(repo: Repository, path: Path, env: str, text: str | None = None) -> dict[str, Pin]:
    """The pins written in one kustomization (``text`` of it, when given:
    an older revision): its version components and its replicas/traffic
    patch operations, by model."""
    rel = repo.rel(path)
    doc = load_located(text, rel) if text is not None else load_located_file(path, rel)
    data = as_dict(doc.data)
    pins: dict[str, Pin] = {}
    components = as_list(data.get("components"))
    for index, entry in enumerate(components):
        if not isinstance(entry, str):
            continue
        target = os.path.normpath(os.path.join(path.parent, entry))
        match = _COMPONENT_RE.match(Path(os.path.relpath(target, repo.root)).as_posix())
        if not match:
            continue
        pin = pins.setdefault(match["model"], Pin(match["model"], env, rel))
        line = doc.line(("components", index))
        if match["canary"]:
            if pin.canary is None:
                pin.canary, pin.canary_line = match["version"], line
            else:
                pin.extra.append((entry, line))
        elif pin.stable is None:
            pin.stable, pin.stable_line = match["version"], line
        else:
            pin.extra.append((entry, line))
    patches = as_list(data.get("patches"))
    for index, patch in enumerate(patches):
        if not isinstance(patch, dict) or not isinstance(patch.get("patch"), str):
            continue
        selector = as_dict(patch.get("target"))
        name = selector.get("name")
        if selector.get("kind") != SELDON_KIND or not isinstance(name, str):
            continue
        for field_name, predictor, value in managed_ops(patch["patch"]):
            pin = pins.setdefault(name, Pin(name, env, rel))
            (pin.replicas if field_name == "replicas" else pin.traffic)[predictor] = value
            if field_name == "replicas" and predictor == 0:
                pin.replicas_line = doc.line(("patches", index, "patch"))
    return pins


def managed_ops(patch_text: str) -> list[tuple[str, int, int]]:
    """(field, predictor index, value) of the replicas/traffic operations in
    a JSON 6902 patch string; other operations are the owner's own."""
    try:
        ops = load_located(str(patch_text), "patch").data
    except ShipyardError:
        return []
    found = []
    for op in ops if isinstance(ops, list) else []:
        if not isinstance(op, dict) or op.get("op") not in ("replace", "add"):
            continue
        match = _MANAGED_OP_RE.match(str(op.get("path", "")))
        if match and isinstance(op.get("value"), int):
            found.append((match["field"], int(match["index"]), int(op["value"])))
    return found


def _kustomizations_under(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        if "kustomization.yaml" in filenames:
            found.append(Path(dirpath) / "kustomization.yaml")
    return found


def read_pins(repo: Repository, env: str) -> dict[str, Pin]:
    """Every model pinned in ``env``, from every kustomization under
    overlays/<env>/models (a pin written somewhere else still counts)."""
    pins: dict[str, Pin] = {}
    for path in _kustomizations_under(env_models_dir(repo, env)):
        for model, pin in parse_pins(repo, path, env).items():
            if pin.stable is None and pin.canary is None and model in pins:
                continue
            pins[model] = pin
    return pins


def read_pin(repo: Repository, env: str, model: str) -> Pin | None:
    """The pin of one model in one environment, reading only the two files
    it can be in (fast on a repository of hundreds of models)."""
    for path in (pin_dir(repo, env, model) / "kustomization.yaml", env_models_dir(repo, env) / "kustomization.yaml"):
        if path.is_file():
            pin = parse_pins(repo, path, env).get(model)
            if pin is not None and (pin.stable or pin.canary):
                return pin
    return None
