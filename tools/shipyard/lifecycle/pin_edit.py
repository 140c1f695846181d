"""Pin files: the desired state of one model in one environment
(`PinState`), written into overlays/<env>/models/<model>/kustomization.yaml
with everything else in the file (other resources, other patches, comments)
kept as it was, and the environment's list of model folders."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.files import read_exact
from shipyard.lifecycle.yaml_edit import dump_round_trip, load_round_trip
from shipyard.models import REQUEST_LOGGING, SELDON_GROUP, SELDON_KIND
from shipyard.models.components import component_dir
from shipyard.models.gpus import is_gpu_patch
from shipyard.models.pins import env_models_dir, managed_ops, pin_dir
from shipyard.repo import Repository
from shipyard.shapes import as_dict

@dataclass(frozen=True)
class PinState:
    stable: str
    replicas: int
    canary: str | None = None
    canary_traffic: int | None = None
    canary_replicas: int | None = None

    def managed_ops(self) -> list[tuple[int, str, int]]:
        ops = [(0, "replicas", self.replicas)]
        if self.canary:
            ops.append((0, "traffic", 100 - int(self.canary_traffic or 0)))
            ops.append((1, "replicas", int(self.canary_replicas or 1)))
            ops.append((1, "traffic", int(self.canary_traffic or 0)))
        return ops


def relative_to_folder(folder: Path, target: Path) -> str:
    return Path(os.path.relpath(target, folder)).as_posix()


def new_pin_text(repo: Repository, env: str, model: str, state: PinState, gpu_patch: str | None = None) -> str:
    """A pin file for a model arriving in ``env`` (``gpu_patch``: the
    generated GPU patch, shipyard.models.gpus; None in a CPU environment)."""
    folder = pin_dir(repo, env, model)
    models_dir = repo.root / "models" / model
    resources = [relative_to_folder(folder, models_dir / "deploy")]
    components = []
    if env in repo.settings.monitored and (models_dir / "monitoring").is_dir():
        resources.append(relative_to_folder(folder, models_dir / "monitoring"))
        if (models_dir / REQUEST_LOGGING).is_dir():
            # before the version's component: the canary copies predictor 0, logger included
            components.append(relative_to_folder(folder, models_dir / REQUEST_LOGGING))
    lines = [
        f"# {model} in {env}: the pinned version and its size here.",
        "# `shipyard promote`, `rollout` and `rollback` edit this file; comments are kept.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        *[f"- {r}" for r in resources],
        "components:",
        *[f"- {c}" for c in components],
        f"- {relative_to_folder(folder, component_dir(repo, model, state.stable))}",
        "patches:",
        f"- target: {{group: {SELDON_GROUP}, kind: {SELDON_KIND}, name: {model}}}",
        "  patch: |-",
        "    - op: replace",
        "      path: /spec/predictors/0/replicas",
        f"      value: {state.replicas}",
    ]
    return edit_pin_text(repo, env, model, "\n".join(lines) + "\n", state, gpu_patch)


def edit_pin_text(repo: Repository, env: str, model: str, text: str, state: PinState,
                  gpu_patch: str | None = None) -> str:
    """``text`` of a pin file with ``state`` written into it: the version
    components, the replicas/traffic operations and the generated GPU patch
    (``gpu_patch``; None: the environment serves on CPU, so there is none);
    everything else (other resources, other patches, comments) is kept as
    it was."""
    path = pin_dir(repo, env, model) / "kustomization.yaml"
    rel = repo.rel(path)
    rt, data = load_round_trip(text, rel)
    if not isinstance(data, CommentedMap):
        raise ShipyardError("expected a kustomization (a mapping)", file=rel, line=1, check=ids.USAGE)
    _set_components(repo, data, path.parent, model, state, rel)
    _set_managed_patch(data, model, state, rel)
    _set_gpu_patch(data, model, gpu_patch)
    return dump_round_trip(rt, data)


def _component_role(repo: Repository, folder: Path, entry: Any, model: str) -> str | None:
    if not isinstance(entry, str):
        return None
    target = os.path.normpath(os.path.join(folder, entry))
    match = re.match(r"^models/([^/]+)/versions/[^/]+(/canary)?/?$", Path(os.path.relpath(target, repo.root)).as_posix())
    if not match or match.group(1) != model:
        return None
    return "canary" if match.group(2) else "stable"


def _set_components(repo: Repository, data: CommentedMap, folder: Path, model: str, state: PinState, rel: str) -> None:
    components = data.get("components")
    if components is None:
        components = CommentedSeq()
        data["components"] = components
    if not isinstance(components, CommentedSeq):
        raise ShipyardError("components: expected a list", file=rel, check=ids.USAGE)
    stable_entry = relative_to_folder(folder, component_dir(repo, model, state.stable))
    canary_entry = relative_to_folder(folder, component_dir(repo, model, state.canary, canary=True)) if state.canary else None
    roles = [_component_role(repo, folder, entry, model) for entry in components]
    stable_at = roles.index("stable") if "stable" in roles else None
    if stable_at is None:
        components.insert(0, stable_entry)
        roles.insert(0, "stable")
        stable_at = 0
    elif components[stable_at] != stable_entry:
        components[stable_at] = stable_entry  # same item: its comment stays
    # drop every other component of this model, then put the canary right after the stable one
    for index in range(len(components) - 1, -1, -1):
        if index != stable_at and roles[index] is not None:
            keep_canary = roles[index] == "canary" and canary_entry is not None and index == stable_at + 1
            if keep_canary:
                if components[index] != canary_entry:
                    components[index] = canary_entry
                continue
            del components[index]
            del roles[index]
            if index < stable_at:
                stable_at -= 1
    if canary_entry is not None and (stable_at + 1 >= len(components) or components[stable_at + 1] != canary_entry):
        components.insert(stable_at + 1, canary_entry)


def _set_managed_patch(data: CommentedMap, model: str, state: PinState, rel: str) -> None:
    patches = data.get("patches")
    if patches is None:
        patches = CommentedSeq()
        data["patches"] = patches
    if not isinstance(patches, CommentedSeq):
        raise ShipyardError("patches: expected a list", file=rel, check=ids.USAGE)
    ours = None
    for entry in patches:
        target = entry.get("target") if isinstance(entry, dict) else None
        if isinstance(target, dict) and target.get("kind") == SELDON_KIND and target.get("name") == model \
                and isinstance(entry.get("patch"), str) and not is_gpu_patch(entry, model):
            if ours is None or managed_ops(entry["patch"]):
                ours = entry
                if managed_ops(entry["patch"]):
                    break
    if ours is None:
        target = CommentedMap([("group", SELDON_GROUP), ("kind", SELDON_KIND), ("name", model)])
        target.fa.set_flow_style()
        ours = CommentedMap([("target", target), ("patch", "[]")])
        patches.append(ours)
    ours["patch"] = LiteralScalarString(_rewrite_ops(str(ours["patch"]), state, rel))


def _set_gpu_patch(data: CommentedMap, model: str, gpu_patch: str | None) -> None:
    """The generated GPU patch as one entry of ``patches``, right after the
    replicas/traffic one: rewritten whole, since nothing in it is the
    owner's; an entry that already holds exactly this text stays untouched."""
    patches = data.get("patches")
    if not isinstance(patches, CommentedSeq):
        return  # _set_managed_patch made it a list
    ours = [i for i, entry in enumerate(patches) if is_gpu_patch(entry, model)]
    if gpu_patch is not None and len(ours) == 1 and str(patches[ours[0]]["patch"]) == gpu_patch:
        return
    for index in reversed(ours):
        del patches[index]
    if gpu_patch is None:
        return
    managed = [i for i, entry in enumerate(patches) if isinstance(entry, dict) and isinstance(entry.get("patch"), str)
               and as_dict(entry.get("target")).get("name") == model and managed_ops(entry["patch"])]
    target = CommentedMap([("group", SELDON_GROUP), ("kind", SELDON_KIND), ("name", model)])
    target.fa.set_flow_style()
    entry = CommentedMap([("target", target), ("patch", LiteralScalarString(gpu_patch))])
    patches.insert(managed[0] + 1 if managed else len(patches), entry)


def _rewrite_ops(patch_text: str, state: PinState, rel: str) -> str:
    """The JSON 6902 operations with replicas/traffic set to ``state``;
    the owner's other operations and comments stay in place.

    Existing operations are updated in place (their comments stay with
    them); the comment that followed the managed block (ruamel attaches it
    to the block's last value) is moved to the block's new last operation,
    so it stays above whatever came next."""
    rt, ops = load_round_trip(patch_text if patch_text.strip() else "[]", rel)
    if ops is None:
        ops = CommentedSeq()
    if not isinstance(ops, CommentedSeq):
        raise ShipyardError("a SeldonDeployment patch must be a list of JSON 6902 operations", file=rel, check=ids.USAGE)
    managed_at = [i for i, op in enumerate(ops) if _managed_key(op) is not None]
    existing = {_managed_key(ops[i]): ops[i] for i in managed_at}
    trailing = _take_following_comment(ops[managed_at[-1]]) if managed_at else None
    block = []
    for index, name, value in state.managed_ops():
        op = existing.get((index, name))
        if op is None:
            op = CommentedMap([("op", "replace"), ("path", f"/spec/predictors/{index}/{name}"), ("value", value)])
        else:
            op["value"] = value
        block.append(op)
    position = managed_at[0] if managed_at else len(ops)
    for i in reversed(managed_at):
        del ops[i]
    for offset, op in enumerate(block):
        ops.insert(position + offset, op)
    if trailing is not None:
        last = block[-1]
        key = list(last.keys())[-1]
        entry = last.ca.items.setdefault(key, [None, None, None, None])
        if entry[2] is None:
            entry[2] = trailing
        else:  # keep its own end-of-line comment, then the moved lines
            entry[2].value = entry[2].value.rstrip("\n") + trailing.value
    rt.indent(mapping=2, sequence=2, offset=0)
    return dump_round_trip(rt, ops).rstrip("\n")


def _take_following_comment(op: Any) -> CommentToken | None:
    """Detach the full-line comments ruamel stored after ``op``'s last value
    (they introduce what follows), leaving its end-of-line comment."""
    if not isinstance(op, CommentedMap) or not op:
        return None
    entry = op.ca.items.get(list(op.keys())[-1])
    token = entry[2] if entry and len(entry) > 2 else None
    if not isinstance(token, CommentToken):
        return None
    first, newline, rest = token.value.partition("\n")
    if not rest.strip():
        return None
    token.value = first + newline
    return CommentToken("\n" + rest, CommentMark(0), None)


def _managed_key(op: Any) -> tuple[int, str] | None:
    if not isinstance(op, dict):
        return None
    match = re.match(r"^/spec/predictors/(\d+)/(replicas|traffic)$", str(op.get("path", "")))
    return (int(match.group(1)), match.group(2)) if match else None


def add_to_env_models(repo: Repository, env: str, model: str) -> tuple[Path, str] | None:
    """overlays/<env>/models/kustomization.yaml listing ``model``'s folder
    (sorted in), or None when it already does."""
    path = env_models_dir(repo, env) / "kustomization.yaml"
    rel = repo.rel(path)
    text = read_exact(path)
    rt, data = load_round_trip(text, rel)
    if not isinstance(data, CommentedMap):
        raise ShipyardError("expected a kustomization (a mapping)", file=rel, line=1, check=ids.USAGE)
    resources = data.get("resources")
    if resources is None:
        resources = CommentedSeq()
        data["resources"] = resources
    names = [str(r).strip("/").removeprefix("./") if isinstance(r, str) else "" for r in resources]
    if model in names:
        return None
    at = next((i for i, name in enumerate(names) if name and "/" not in name and name > model), len(resources))
    resources.insert(at, model)
    return path, dump_round_trip(rt, data)
