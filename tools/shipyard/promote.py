"""Every change to the model lifecycle, made as a reviewable git change:
register a version, promote it (optionally as a canary), finish or abort a
canary, roll back.

Each command is split in two. A *plan* reads the repository and computes the
full new text of every file it changes, refusing anything unsafe (gates,
promotion order, Istio for canaries, unknown names) before a byte is
written. *apply* then makes the branch, writes the files atomically, renders
the result with the real kustomize (a change that does not build is undone),
commits, and returns the pull request title and body.

Overlay files are edited with ruamel.yaml's round-trip mode so comments,
ordering and quoting survive; generated files (version components) are
written whole.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from shipyard import gitops_git as gitx
from shipyard import models as m
from shipyard.files import fsync_dir, atomic_write
from shipyard.errors import ShipyardError
from shipyard.repo import Repository

# --------------------------------------------------------------------------
# Plans and their outcome


@dataclass
class Plan:
    """What one command will change, computed before anything is written."""

    action: str  # register | sync | promote | canary | finish | abort | rollback
    model: str
    title: str
    branch: str
    files: dict[Path, str]
    sections: list[str] = field(default_factory=list)  # markdown, before the rendered summary
    render: list[Path] = field(default_factory=list)  # folders rendered before and after
    verify: Callable[[Repository, dict[Path, list[dict[str, Any]]]], None] | None = None
    environment: str | None = None
    warnings: list[str] = field(default_factory=list)
    noop: str = "nothing to change"


@dataclass
class GitOptions:
    commit: bool = True  # False: only edit files
    new_branch: bool = True  # False: commit on the current branch
    branch: str | None = None  # overrides the plan's branch name


@dataclass
class Outcome:
    plan: Plan
    changed: list[str]  # repository-relative paths written
    title: str
    body: str
    branch: str | None = None
    commit: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.plan.action,
            "model": self.plan.model,
            "environment": self.plan.environment,
            "title": self.title,
            "body": self.body,
            "branch": self.branch,
            "commit": self.commit,
            "changed": self.changed,
            "warnings": self.plan.warnings,
            "note": self.note,
        }


# --------------------------------------------------------------------------
# Atomic file writes: shipyard.files.atomic_write




class FileTransaction:
    """Write several files, each atomically; if anything fails before
    `commit`, put every file (and folder) back as it was."""

    def __init__(self) -> None:
        self._saved: list[tuple[Path, str | None]] = []
        self._made: list[Path] = []

    def write(self, path: Path, text: str) -> None:
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        missing = []
        parent = path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self._saved.append((path, old))
        self._made.extend(reversed(missing))
        atomic_write(path, text)

    def rollback(self) -> None:
        for path, old in reversed(self._saved):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, old)
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._saved.clear()
        self._made.clear()


# --------------------------------------------------------------------------
# Round-trip YAML


def _yaml_for(text: str) -> YAML:
    """A round-trip YAML that writes sequences and mappings the way this
    file already does (``- item`` flush with its key, or indented), guessed
    from the first block sequence and the first nested mapping."""
    mapping = sequence = offset = None
    key_indent = 0
    parent_key: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(line) - len(line.lstrip(" "))
        if stripped.startswith("- ") and sequence is None:
            offset = max(lead - key_indent, 0)
            sequence = offset + 2 + len(stripped[2:]) - len(stripped[2:].lstrip(" "))
        elif mapping is None and parent_key is not None and lead > parent_key and not stripped.startswith("-"):
            mapping = lead - parent_key
        if stripped.endswith(":") and not stripped.startswith("-"):
            key_indent = parent_key = lead
        else:
            parent_key = None
        if sequence is not None and mapping is not None:
            break
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    mapping = mapping or 2
    offset = offset or 0
    rt.indent(mapping=mapping, sequence=sequence or (mapping + offset), offset=offset)
    return rt


def _load_rt(text: str, rel: str) -> tuple[YAML, Any]:
    rt = _yaml_for(text)
    try:
        return rt, rt.load(text)
    except RuamelError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ShipyardError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=rel,
                            line=(mark.line + 1) if mark else None, check="SY902") from None


def _dump_rt(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


# --------------------------------------------------------------------------
# Pins: the desired state of one model in one environment, and its file


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


def _rel_from(folder: Path, target: Path) -> str:
    return Path(os.path.relpath(target, folder)).as_posix()


def new_pin_text(repo: Repository, env: str, model: str, state: PinState) -> str:
    """A pin file for a model arriving in ``env``."""
    folder = m.pin_dir(repo, env, model)
    models_dir = repo.root / "models" / model
    resources = [_rel_from(folder, models_dir / "deploy")]
    if env in m.monitored_environments(repo) and (models_dir / "monitoring").is_dir():
        resources.append(_rel_from(folder, models_dir / "monitoring"))
    lines = [
        f"# {model} in {env}: the pinned version and its size here.",
        "# `shipyard promote`, `rollout` and `rollback` edit this file; comments are kept.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        *[f"- {r}" for r in resources],
        "components:",
        f"- {_rel_from(folder, m.component_dir(repo, model, state.stable))}",
        "patches:",
        f"- target: {{group: {m.SELDON_GROUP}, kind: {m.SELDON_KIND}, name: {model}}}",
        "  patch: |-",
        "    - op: replace",
        "      path: /spec/predictors/0/replicas",
        f"      value: {state.replicas}",
    ]
    return edit_pin_text(repo, env, model, "\n".join(lines) + "\n", state)


def edit_pin_text(repo: Repository, env: str, model: str, text: str, state: PinState) -> str:
    """``text`` of a pin file with ``state`` written into it: the version
    components and the replicas/traffic operations; everything else (other
    resources, other patches, comments) is kept as it was."""
    path = m.pin_dir(repo, env, model) / "kustomization.yaml"
    rel = repo.rel(path)
    rt, data = _load_rt(text, rel)
    if not isinstance(data, CommentedMap):
        raise ShipyardError("expected a kustomization (a mapping)", file=rel, line=1, check="SY902")
    _set_components(repo, data, path.parent, model, state, rel)
    _set_managed_patch(data, model, state, rel)
    return _dump_rt(rt, data)


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
        raise ShipyardError("components: expected a list", file=rel, check="SY902")
    stable_entry = _rel_from(folder, m.component_dir(repo, model, state.stable))
    canary_entry = _rel_from(folder, m.component_dir(repo, model, state.canary, canary=True)) if state.canary else None
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
        raise ShipyardError("patches: expected a list", file=rel, check="SY902")
    ours = None
    for entry in patches:
        target = entry.get("target") if isinstance(entry, dict) else None
        if isinstance(target, dict) and target.get("kind") == m.SELDON_KIND and target.get("name") == model \
                and isinstance(entry.get("patch"), str):
            if ours is None or m.managed_ops(entry["patch"]):
                ours = entry
                if m.managed_ops(entry["patch"]):
                    break
    if ours is None:
        target = CommentedMap([("group", m.SELDON_GROUP), ("kind", m.SELDON_KIND), ("name", model)])
        target.fa.set_flow_style()
        ours = CommentedMap([("target", target), ("patch", "[]")])
        patches.append(ours)
    ours["patch"] = LiteralScalarString(_rewrite_ops(str(ours["patch"]), state, rel))


def _rewrite_ops(patch_text: str, state: PinState, rel: str) -> str:
    """The JSON 6902 operations with replicas/traffic set to ``state``;
    the owner's other operations and comments stay in place.

    Existing operations are updated in place (their comments stay with
    them); the comment that followed the managed block (ruamel attaches it
    to the block's last value) is moved to the block's new last operation,
    so it stays above whatever came next."""
    rt, ops = _load_rt(patch_text if patch_text.strip() else "[]", rel)
    if ops is None:
        ops = CommentedSeq()
    if not isinstance(ops, CommentedSeq):
        raise ShipyardError("a SeldonDeployment patch must be a list of JSON 6902 operations", file=rel, check="SY902")
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
    return _dump_rt(rt, ops).rstrip("\n")


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
    path = m.env_models_dir(repo, env) / "kustomization.yaml"
    rel = repo.rel(path)
    text = path.read_text(encoding="utf-8")
    rt, data = _load_rt(text, rel)
    if not isinstance(data, CommentedMap):
        raise ShipyardError("expected a kustomization (a mapping)", file=rel, line=1, check="SY902")
    resources = data.get("resources")
    if resources is None:
        resources = CommentedSeq()
        data["resources"] = resources
    names = [str(r).strip("/").removeprefix("./") if isinstance(r, str) else "" for r in resources]
    if model in names:
        return None
    at = next((i for i, name in enumerate(names) if name and "/" not in name and name > model), len(resources))
    resources.insert(at, model)
    return path, _dump_rt(rt, data)


# --------------------------------------------------------------------------
# Checks shared by the plans


def _require_force_reason(force: bool, reason: str | None) -> str | None:
    if force and not (reason or "").strip():
        raise ShipyardError("--force needs --reason: a written reason why the rule may be skipped", check="SY900")
    if reason and not force:
        raise ShipyardError("--reason goes with --force", check="SY900")
    return reason.strip() if reason else None


def _require_gates(model: m.Model, version: m.Version, env: str) -> None:
    failures = model.gate_failures(version, env)
    if failures:
        raise ShipyardError(
            f"{model.name} {version.version} fails the {env} gate: " + "; ".join(failures),
            file=model.rel,
            line=version.line,
            hint=f"gates are in {model.rel} (spec.gates.{env}); register a better version",
            check="SY504",
        )


def _require_reachable(model: m.Model, version: m.Version, env: str) -> None:
    if version.model_uri.startswith("file://"):
        raise ShipyardError(
            f"{model.name} {version.version} lives at {version.model_uri}, a local folder no cluster in {env} can read",
            file=model.rel, line=version.line,
            hint="publish the artifact to gs://, s3://, https:// or a PVC and register it as a new version",
            check="SY508",
        )


def _pin_file(repo: Repository, env: str, model: str) -> Path:
    return m.pin_dir(repo, env, model) / "kustomization.yaml"


def _current_pin(repo: Repository, env: str, model: str) -> m.Pin | None:
    """The pin, which must be in the model's own folder for a command to edit it."""
    pin = m.read_pin(repo, env, model)
    expected = repo.rel(_pin_file(repo, env, model))
    if pin is not None and pin.file != expected:
        raise ShipyardError(
            f"{model} is pinned in {pin.file}, not in its own folder",
            file=pin.file,
            line=pin.stable_line or pin.canary_line,
            hint=f"move the pin to {expected} and list `{model}` in overlays/{env}/models/kustomization.yaml (docs/models.md)",
            check="SY900",
        )
    return pin


def _replicas(model: m.Model, env: str) -> int:
    value = model.replicas_for(env)
    if value is None:
        raise ShipyardError(
            f"{model.rel} gives no replicas for {env}",
            file=model.rel,
            line=model.doc.line(("spec", "serving", "replicas")),
            hint=f"add `{env}: N` under spec.serving.replicas",
            check="SY506",
        )
    return value


def _istio_problem(repo: Repository, env: str) -> tuple[str | None, str | None]:
    """(refusal, warning) about a canary's traffic split in ``env``: Seldon
    splits traffic between predictors through Istio."""
    clusters = [c for c in repo.clusters() if c.environment == env]
    if not clusters:
        return None, f"no cluster in clusters/ declares environment {env}: cannot check that Istio is installed"
    without = [c.name for c in clusters if not c.istio]
    if without:
        files = ", ".join(f"clusters/{name}/cluster.yaml" for name in without)
        return (f"canary traffic needs Istio, and {files} {'says' if len(without) == 1 else 'say'} istio: false "
                f"(environment {env})"), None
    return None, None


def _require_deploy_base(repo: Repository, model: str) -> None:
    base = repo.root / "models" / model / "deploy" / "kustomization.yaml"
    if not base.is_file():
        raise ShipyardError(f"models/{model}/deploy/kustomization.yaml is missing: the model has no deploy base",
                            hint="write the SeldonDeployment base first (docs/models.md)", check="SY900")


def _clusters_of(repo: Repository, env: str) -> str:
    names = [c.name for c in repo.clusters() if c.environment == env]
    return ", ".join(names) if names else "none declared"


# --------------------------------------------------------------------------
# Markdown for the pull request


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def metrics_table(model: m.Model, old: m.Version | None, new: m.Version, env: str) -> str:
    names = list(new.metrics)
    for name in (old.metrics if old else {}):
        if name not in names:
            names.append(name)
    gates = {b.metric: b for b in model.gates_for(env)}
    for name in gates:
        if name not in names:
            names.append(name)
    head_old = f"{old.version} (now)" if old else "now"
    rows = [f"| metric | {head_old} | {new.version} (new) | {env} gate |", "|---|---|---|---|"]
    for name in names:
        gate = gates.get(name)
        if gate:
            verdict = f"{gate.describe()} " + ("pass" if gate.passes(new.metrics.get(name)) else "FAIL")
        else:
            verdict = "no gate"
        rows.append(f"| {name} | {_fmt(old.metrics.get(name) if old else None)} | {_fmt(new.metrics.get(name))} | {verdict} |")
    return "\n".join(rows)


def _compare_table(old: m.Version | None, new: m.Version) -> str:
    """Metrics of a new version beside the latest registered one."""
    names = list(new.metrics) + [n for n in (old.metrics if old else {}) if n not in new.metrics]
    head = f"| metric | {old.version} (latest) | {new.version} (new) |" if old else f"| metric | {new.version} (new) |"
    rows = [head, "|---|---|---|" if old else "|---|---|"]
    for name in names:
        if old:
            rows.append(f"| {name} | {_fmt(old.metrics.get(name))} | {_fmt(new.metrics.get(name))} |")
        else:
            rows.append(f"| {name} | {_fmt(new.metrics.get(name))} |")
    return "\n".join(rows)


def _version_lines(version: m.Version) -> list[str]:
    lines = [f"- modelUri: `{version.model_uri}`"]
    if version.sha256:
        lines.append(f"- sha256: `{version.sha256}`")
    if version.pipeline_run:
        lines.append(f"- training run: `{version.pipeline_run}`")
    lines.append(f"- registered: {version.created}")
    return lines


def _short(value: Any, width: int = 100) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in items)


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    """Field-level differences; a subtree that appears or disappears whole
    is one line (a canary predictor is "added", not thirty fields)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(f"  - `{sub}`: added `{_short(b[key])}`")
            elif key not in b:
                out.append(f"  - `{sub}`: removed (was `{_short(a[key])}`)")
            else:
                _diff(a[key], b[key], sub, out)
    elif isinstance(a, list) and isinstance(b, list) and (_named(a) or _named(b)) and all(
            isinstance(v, dict) and isinstance(v.get("name"), str) for v in a + b):
        old = {v["name"]: v for v in a}
        new = {v["name"]: v for v in b}
        for name in list(old) + [n for n in new if n not in old]:
            sub = f"{path}[{name}]"
            if name not in old:
                out.append(f"  - `{sub}`: added")
            elif name not in new:
                out.append(f"  - `{sub}`: removed")
            else:
                _diff(old[name], new[name], sub, out)
    elif a != b:
        out.append(f"  - `{path}`: `{_short(a)}` → `{_short(b)}`")


def _object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


def rendered_changes(before: list[dict[str, Any]], after: list[dict[str, Any]], *, limit: int = 40) -> list[str]:
    """What changes in the rendered objects, field by field: the summary a
    reviewer reads instead of diffing kustomize output by hand."""
    old = {_object_key(o): o for o in before}
    new = {_object_key(o): o for o in after}
    lines: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            lines.append(f"- `{key}`: added")
            continue
        if key not in new:
            lines.append(f"- `{key}`: removed")
            continue
        changes: list[str] = []
        _diff(old[key], new[key], "", changes)
        if changes:
            lines.append(f"- `{key}`:")
            lines.extend(changes)
    if len(lines) > limit:
        lines = lines[:limit] + [f"- … {len(lines) - limit} more lines"]
    return lines or ["- no change in the rendered objects"]


# --------------------------------------------------------------------------
# Plans


def _stable_section(model: m.Model, env: str, old: str | None, new: str, extra: list[str]) -> str:
    return "\n".join([
        "## What changes",
        "",
        f"- Model: `{model.name}` (owner: {model.owner})",
        f"- Environment: `{env}`",
        f"- Version: {('`' + old + '`') if old else 'not deployed'} → `{new}`",
        *extra,
    ])


def _pin_render_verify(model: m.Model, env: str, state: PinState) -> Callable[[Repository, dict[Path, list[dict[str, Any]]]], None]:
    """After the edit, the rendered SeldonDeployment must serve exactly the
    registered artifacts with the intended traffic; anything else (a hand
    patch overriding modelUri, a base with two predictors) stops the change."""

    def verify(repo: Repository, rendered: dict[Path, list[dict[str, Any]]]) -> None:
        folder = m.pin_dir(repo, env, model.name)
        rel = repo.rel(folder)
        sds = [o for o in m.seldon_deployments(rendered.get(folder, [])) if (o.get("metadata") or {}).get("name") == model.name]
        if len(sds) != 1:
            raise ShipyardError(f"{rel} renders {len(sds)} SeldonDeployment(s) named {model.name}, expected 1",
                                file=rel, check="SY503")
        predictors = (sds[0].get("spec") or {}).get("predictors") or []
        expected = [(state.stable, 100 if not state.canary else 100 - int(state.canary_traffic or 0), state.replicas)]
        if state.canary:
            expected.append((state.canary, int(state.canary_traffic or 0), int(state.canary_replicas or 1)))
        if len(predictors) != len(expected):
            raise ShipyardError(f"{rel} renders {len(predictors)} predictor(s), expected {len(expected)}",
                                file=rel, hint=f"models/{model.name}/deploy must declare exactly one predictor",
                                check="SY503")
        for predictor, (version, traffic, replicas) in zip(predictors, expected):
            uri = (predictor.get("graph") or {}).get("modelUri")
            registered = model.get(version).model_uri
            if uri != registered:
                raise ShipyardError(
                    f"{rel} renders modelUri {uri!r} for {model.name} {version}, registered is {registered!r}",
                    file=rel, hint="a patch overrides the version component's modelUri; remove it", check="SY503")
            if int(predictor.get("traffic", 100) or 0) != traffic or int(predictor.get("replicas", 1) or 0) != replicas:
                raise ShipyardError(
                    f"{rel} renders predictor {predictor.get('name')} with traffic {predictor.get('traffic')} and "
                    f"replicas {predictor.get('replicas')}, expected {traffic} and {replicas}",
                    file=rel, hint="another patch changes traffic or replicas; remove it", check="SY506")

    return verify


def _pin_plan(repo: Repository, model: m.Model, env: str, current: m.Pin | None, state: PinState,
              *, action: str, title: str, branch: str, sections: list[str], noop: str) -> Plan:
    pin_path = _pin_file(repo, env, model.name)
    files: dict[Path, str] = {}
    if current is None:
        files[pin_path] = new_pin_text(repo, env, model.name, state)
        added = add_to_env_models(repo, env, model.name)
        if added:
            files[added[0]] = added[1]
    else:
        text = pin_path.read_text(encoding="utf-8")
        new = edit_pin_text(repo, env, model.name, text, state)
        if new != text:
            files[pin_path] = new
    return Plan(action=action, model=model.name, environment=env, title=title, branch=branch, files=files,
                sections=sections, render=[m.pin_dir(repo, env, model.name)],
                verify=_pin_render_verify(model, env, state), noop=noop)


def plan_promote(
    repo: Repository,
    model_name: str,
    env: str,
    *,
    version: str | None = None,
    from_env: str | None = None,
    canary: int | None = None,
    force: bool = False,
    reason: str | None = None,
) -> Plan:
    """Pin a version in ``env`` (or start/adjust a canary of it there)."""
    reason = _require_force_reason(force, reason)
    m.require_model_name(repo, model_name)
    m.require_environment(repo, env)
    model = m.load_model(repo, model_name)
    _require_deploy_base(repo, model_name)
    if version is not None and from_env is not None:
        raise ShipyardError("give --version or --from, not both", check="SY900")
    previous_env = m.previous_environment(repo, env)
    if from_env is not None:
        m.require_environment(repo, from_env)
        source = m.read_pin(repo, from_env, model_name)
        if source is None or source.stable is None:
            raise ShipyardError(f"{model_name} is not deployed in {from_env}: nothing to promote from there",
                                hint=f"pass --version; registered: {', '.join(v.version for v in model.versions)}",
                                check="SY900")
        version = source.stable
    elif version is None:
        source = m.read_pin(repo, previous_env, model_name) if previous_env else None
        if source is not None and source.stable:
            version = source.stable
        elif model.latest is not None and previous_env is None:
            version = model.latest.version
        else:
            raise ShipyardError(f"which version? {model_name} is not deployed in {previous_env}",
                                hint=f"pass --version; registered: {', '.join(v.version for v in model.versions) or 'none'}",
                                check="SY900")
    target = model.get(version)
    _require_reachable(model, target, env)
    _require_gates(model, target, env)
    forced: list[str] = []
    if previous_env is not None:
        before = m.read_pin(repo, previous_env, model_name)
        if before is None or before.stable != version:
            runs = before.stable if before and before.stable else "no version"
            problem = f"{model_name} {version} is not running in {previous_env} ({previous_env} runs {runs})"
            if not force:
                raise ShipyardError(
                    f"{problem}: {env} comes after {previous_env}",
                    hint=f"promote it to {previous_env} first, or pass --force --reason TEXT",
                    check="SY510",
                )
            forced.append(problem)
    current = _current_pin(repo, env, model_name)
    replicas = _replicas(model, env)
    warnings: list[str] = []
    if canary is None:
        if current is not None and current.canary:
            raise ShipyardError(
                f"a canary of {model_name} {current.canary} is running in {env}",
                file=current.file, line=current.canary_line,
                hint=f"finish or abort it first: shipyard rollout {model_name} --env {env} --finish|--abort",
                check="SY900",
            )
        state = PinState(stable=version, replicas=replicas)
        old_version = model.find(current.stable) if current and current.stable else None
        title = f"Promote {model_name} {version} to {env}"
        extra = [f"- Replicas: {replicas}", f"- Clusters: {_clusters_of(repo, env)}"]
        action, branch = "promote", f"promote/{model_name}-{env}-{version}"
        noop = f"{model_name} {version} is already pinned in {env} with {replicas} replica(s)"
    else:
        if not 1 <= canary <= 99:
            raise ShipyardError(f"--canary takes a percentage from 1 to 99, not {canary}", check="SY900")
        if current is None or not current.stable:
            raise ShipyardError(f"{model_name} has no stable version in {env} to run a canary beside",
                                hint=f"promote it without --canary first: shipyard promote {model_name} --to {env}",
                                check="SY900")
        if current.stable == version:
            raise ShipyardError(f"{model_name} {version} is already the stable version in {env}", check="SY900")
        refusal, warning = _istio_problem(repo, env)
        if refusal:
            if not force:
                raise ShipyardError(refusal, hint="install Istio there (and set istio: true), or pass --force --reason TEXT",
                                    check="SY509")
            forced.append(refusal)
        if warning:
            warnings.append(warning)
        state = PinState(stable=current.stable, replicas=replicas, canary=version, canary_traffic=canary,
                         canary_replicas=model.canary_replicas_for(env))
        old_version = model.find(current.stable)
        title = f"Canary {model_name} {version} at {canary}% in {env}"
        extra = [f"- Stable: `{current.stable}` keeps {100 - canary}% of traffic ({replicas} replica(s))",
                 f"- Canary: `{version}` takes {canary}% ({model.canary_replicas_for(env)} replica(s)), Seldon traffic split through Istio",
                 f"- Clusters: {_clusters_of(repo, env)}"]
        if current.canary and current.canary != version:
            extra.append(f"- Replaces the running canary `{current.canary}`")
        action, branch = "canary", f"canary/{model_name}-{env}-{version}-{canary}"
        noop = f"a canary of {model_name} {version} at {canary}% already runs in {env}"
    if canary is None:
        what = _stable_section(model, env, current.stable if current else None, version, extra)
    else:
        what = "\n".join(["## What changes", "", f"- Model: `{model_name}` (owner: {model.owner})",
                          f"- Environment: `{env}`", *extra])
    sections = [
        what,
        f"## Metrics ({env} gate: pass)\n\n" + metrics_table(model, old_version, target, env),
        f"## Version {version}\n\n" + "\n".join(_version_lines(target)),
    ]
    if forced:
        sections.append("## Forced\n\n" + "\n".join(f"- skipped: {f}" for f in forced) + f"\n- reason: {reason}")
    plan = _pin_plan(repo, model, env, current, state, action=action, title=title, branch=branch,
                     sections=sections, noop=noop)
    plan.warnings.extend(warnings)
    return plan


def plan_rollout(repo: Repository, model_name: str, env: str, *, finish: bool) -> Plan:
    """Finish a canary (its version becomes the stable one, all traffic) or
    abort it (the canary predictor goes away)."""
    m.require_model_name(repo, model_name)
    m.require_environment(repo, env)
    model = m.load_model(repo, model_name)
    current = _current_pin(repo, env, model_name)
    if current is None or not current.canary or not current.stable:
        done = _rollout_done(repo, model_name, env, finish=finish) if current is not None else None
        if done is not None:
            return done
        raise ShipyardError(f"no canary of {model_name} is running in {env}",
                            hint=f"start one with: shipyard promote {model_name} --to {env} --version V --canary PERCENT",
                            check="SY900")
    replicas = _replicas(model, env)
    canary_version = model.get(current.canary)
    stable_version = model.find(current.stable)
    if finish:
        _require_gates(model, canary_version, env)
        state = PinState(stable=current.canary, replicas=replicas)
        title = f"Finish canary: {model_name} {current.canary} takes all traffic in {env}"
        sections = [
            _stable_section(model, env, current.stable, current.canary,
                            [f"- Traffic: `{current.canary}` {current.canary_traffic}% → 100%; `{current.stable}` removed",
                             f"- Replicas: {replicas}"]),
            f"## Metrics ({env} gate: pass)\n\n" + metrics_table(model, stable_version, canary_version, env),
        ]
        return _pin_plan(repo, model, env, current, state, action="finish", title=title,
                         branch=f"rollout/{model_name}-{env}-{current.canary}-finish", sections=sections,
                         noop="nothing to change")
    state = PinState(stable=current.stable, replicas=replicas)
    title = f"Abort canary of {model_name} {current.canary} in {env}"
    sections = [
        "\n".join([
            "## What changes", "",
            f"- Model: `{model_name}` (owner: {model.owner})",
            f"- Environment: `{env}`",
            f"- Canary `{current.canary}` ({current.canary_traffic}% of traffic) is removed; "
            f"`{current.stable}` serves 100% again",
        ]),
    ]
    return _pin_plan(repo, model, env, current, state, action="abort", title=title,
                     branch=f"rollout/{model_name}-{env}-{current.canary}-abort", sections=sections,
                     noop="nothing to change")


def _rollout_done(repo: Repository, model_name: str, env: str, *, finish: bool) -> Plan | None:
    """A re-run of a rollout that already happened here: the pin is exactly
    what the last commit to it, a finish (or abort) of this model, made.
    That is a no-op, not an error, so a retried job succeeds."""
    path = _pin_file(repo, env, model_name)
    subject = f"Finish canary: {model_name} " if finish else f"Abort canary of {model_name} "
    try:
        revisions = gitx.history(repo.root, repo.rel(path), limit=1)
    except ShipyardError:
        return None  # not a git work tree: nothing to recognise
    if not revisions or not revisions[0].subject.startswith(subject) or revisions[0].text != _read(path):
        return None
    last = revisions[0]
    return Plan(action="finish" if finish else "abort", model=model_name, environment=env, title=last.subject,
                branch="", files={}, noop=f"already done in commit {last.commit[:12]} ({last.subject})")


def previous_pin(repo: Repository, env: str, model: str, current: str) -> tuple[str, gitx.Revision] | None:
    """The stable version pinned before ``current``, from the git history of
    the model's pin file in ``env``."""
    path = _pin_file(repo, env, model)
    rel = repo.rel(path)
    for revision in gitx.history(repo.root, rel):
        if revision.text is None:
            continue
        try:
            pin = m.parse_pins(repo, path, env, text=revision.text).get(model)
        except ShipyardError:
            continue
        if pin is not None and pin.stable and pin.stable != current:
            return pin.stable, revision
    return None


def plan_rollback(repo: Repository, model_name: str, env: str) -> Plan:
    """Return ``env`` to the version pinned there before the current one."""
    m.require_model_name(repo, model_name)
    m.require_environment(repo, env)
    model = m.load_model(repo, model_name)
    current = _current_pin(repo, env, model_name)
    if current is None or not current.stable:
        raise ShipyardError(f"{model_name} is not deployed in {env}: nothing to roll back", check="SY900")
    if current.canary:
        raise ShipyardError(
            f"a canary of {model_name} {current.canary} is running in {env}",
            file=current.file, line=current.canary_line,
            hint=f"to undo the canary: shipyard rollout {model_name} --env {env} --abort",
            check="SY900",
        )
    gitx.require_repository(repo.root)
    found = previous_pin(repo, env, model_name, current.stable)
    if found is None:
        raise ShipyardError(f"no earlier version of {model_name} in {env} in the git history of {current.file}",
                            hint="promote a specific version instead: shipyard promote --version V", check="SY900")
    version, revision = found
    target = model.find(version)
    if target is None:
        raise ShipyardError(
            f"the previous version {version} (commit {revision.commit[:12]}) is no longer registered in {model.rel}",
            file=model.rel, hint="promote a registered version instead", check="SY502")
    _require_gates(model, target, env)
    replicas = _replicas(model, env)
    state = PinState(stable=version, replicas=replicas)
    title = f"Roll back {model_name} in {env} from {current.stable} to {version}"
    sections = [
        _stable_section(model, env, current.stable, version,
                        [f"- Previous pin: commit `{revision.commit[:12]}` ({revision.subject})",
                         f"- Replicas: {replicas}", f"- Clusters: {_clusters_of(repo, env)}"]),
        f"## Metrics ({env} gate: pass)\n\n" + metrics_table(model, model.find(current.stable), target, env),
    ]
    return _pin_plan(repo, model, env, current, state, action="rollback", title=title,
                     branch=f"rollback/{model_name}-{env}-{version}", sections=sections, noop="nothing to change")


# --------------------------------------------------------------------------
# Register


def read_metrics(path: Path) -> dict[str, float]:
    """Metrics from a JSON or YAML file: ``{name: number}``, ``{metrics:
    {name: number}}`` or Kubeflow's ``{metrics: [{name, numberValue}]}``."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShipyardError(f"cannot read the metrics file: {exc}", file=shown, check="SY900") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = m.parse_yaml(text, shown).data
    if isinstance(data, dict) and "metrics" in data and len(data) == 1:
        data = data["metrics"]
    if isinstance(data, list):
        items: dict[str, Any] = {}
        for entry in data:
            if not isinstance(entry, dict) or "name" not in entry:
                raise ShipyardError("a metrics list needs items like {name: accuracy, numberValue: 0.97}", file=shown,
                                    check="SY900")
            items[str(entry["name"])] = entry.get("numberValue", entry.get("value"))
        data = items
    if not isinstance(data, dict) or not data:
        raise ShipyardError("expected metrics as {name: number}", file=shown,
                            hint='for example: {"accuracy": 0.97, "f1_macro": 0.96}', check="SY900")
    metrics: dict[str, float] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ShipyardError(f"metric {name!r} is not a number: {value!r}", file=shown, check="SY900")
        metrics[str(name)] = value
    return metrics


def _components_verify(model_name: str, versions: list[str]) -> Callable[[Repository, dict[Path, list[dict[str, Any]]]], None]:
    """Build each new component on the model's deploy base, stable and
    canary, so a version that cannot render never gets registered."""

    def verify(repo: Repository, _rendered: dict[Path, list[dict[str, Any]]]) -> None:
        base = repo.root / "models" / model_name / "deploy"
        if not (base / "kustomization.yaml").is_file():
            return
        with tempfile.TemporaryDirectory(prefix="shipyard-verify-") as tmp:
            folder = Path(tmp)
            for version in versions:
                stable = m.component_dir(repo, model_name, version)
                (folder / "kustomization.yaml").write_text(
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                    f"resources:\n- {_rel_from(folder, base)}\n"
                    f"components:\n- {_rel_from(folder, stable)}\n- {_rel_from(folder, stable / 'canary')}\n",
                    encoding="utf-8",
                )
                objects = m.kustomize(repo, folder)
                sds = m.seldon_deployments(objects)
                if not sds or len((sds[0].get("spec") or {}).get("predictors") or []) != 2:
                    raise ShipyardError(f"models/{model_name}/deploy with version {version} does not render one "
                                        "SeldonDeployment with a stable and a canary predictor",
                                        file=f"models/{model_name}/deploy", check="SY503")

    return verify


def plan_register(
    repo: Repository,
    model_name: str,
    version: str,
    uri: str,
    metrics: dict[str, float],
    *,
    sha256: str | None = None,
    pipeline_run: str | None = None,
    created: str | None = None,
) -> Plan:
    """Add a trained version to models/<m>/model.yaml and generate its
    components. Registered versions are immutable: the same version again
    with the same facts is a no-op, with different facts an error."""
    m.require_model_name(repo, model_name)
    model = m.load_model(repo, model_name)
    existing = model.find(version)
    if existing is not None:
        same = existing.model_uri == uri and existing.metrics == {k: float(v) for k, v in metrics.items()} \
            and (sha256 is None or existing.sha256 == sha256)
        if not same:
            raise ShipyardError(
                f"{model_name} {version} is already registered with different facts (registered versions are immutable)",
                file=model.rel, line=existing.line, hint="register the new artifact as a new version", check="SY502")
        return _sync_plan(repo, model, action="register", title=f"Register {model_name} {version}",
                          noop=f"{model_name} {version} is already registered")
    entry = CommentedMap()
    entry["version"] = version
    entry["modelUri"] = uri
    if sha256:
        entry["sha256"] = sha256.lower()
    flow = CommentedMap(metrics)
    flow.fa.set_flow_style()
    entry["metrics"] = flow
    if pipeline_run:
        entry["pipelineRun"] = pipeline_run
    entry["created"] = created or datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    path = m.model_file(repo, model_name)
    text = path.read_text(encoding="utf-8")
    rt, data = _load_rt(text, model.rel)
    data["spec"]["versions"].append(entry)
    new_text = _dump_rt(rt, data)
    doc = m.parse_yaml(new_text, model.rel)
    problems = m.schema_problems(doc, model.rel) or m.semantic_problems(doc, model.rel, model_name, m.environments(repo))
    if problems:
        prefix = f"spec.versions[{len(data['spec']['versions']) - 1}]."
        flags = {"modelUri": "--uri", "sha256": "--sha256", "version": "--version", "metrics": "--metrics",
                 "created": "--created", "pipelineRun": "--pipeline-run"}

        def said(message: str) -> str:
            if message.startswith(prefix):
                field, _, rest = message[len(prefix):].partition(":")
                return f"{flags.get(field.split('.')[0], field)}:{rest}"
            return message

        raise ShipyardError("the new version is invalid: " + "; ".join(said(p.message) for p in problems),
                            hint="check --version, --uri, --sha256 and the metrics file (schema: docs/models.md)",
                            check="SY501")
    new_model = m.build_model(model_name, model.rel, doc)
    registered = new_model.get(version)
    files = {path: new_text}
    for canary in (False, True):
        files[m.component_dir(repo, model_name, version, canary=canary) / "kustomization.yaml"] = \
            m.component_text(new_model, registered, canary=canary)
    gate_lines = []
    for env in m.environments(repo):
        failures = new_model.gate_failures(registered, env)
        gate_lines.append(f"- {env}: " + ("pass" if not failures else "fails: " + "; ".join(failures)))
    sections = [
        "\n".join(["## What changes", "", f"- Model: `{model_name}` (owner: {model.owner})",
                   f"- New version: `{version}` in `{model.rel}`, with its components in "
                   f"`models/{model_name}/versions/{version}/`", *_version_lines(registered)]),
        "## Metrics\n\n" + _compare_table(model.latest, registered),
        "## Gates\n\n" + "\n".join(gate_lines),
    ]
    return Plan(action="register", model=model_name, title=f"Register {model_name} {version}",
                branch=f"register/{model_name}-{version}", files=files, sections=sections,
                verify=_components_verify(model_name, [version]), noop=f"{model_name} {version} is already registered")


def _sync_plan(repo: Repository, model: m.Model, *, action: str, title: str, noop: str) -> Plan:
    files = {path: text for path, text in m.expected_components(repo, model).items() if _read(path) != text}
    changed_versions = sorted({path.parent.name if path.parent.name != "canary" else path.parent.parent.name
                               for path in files})
    sections = ["## What changes\n\n" + "\n".join(
        f"- regenerated `models/{model.name}/versions/{v}/` from `{model.rel}`" for v in changed_versions)]
    return Plan(action=action, model=model.name, title=title, branch=f"register/{model.name}-sync", files=files,
                sections=sections, verify=_components_verify(model.name, changed_versions), noop=noop)


def plan_sync(repo: Repository, model_name: str) -> Plan:
    """Regenerate every version component of a model from its model.yaml."""
    m.require_model_name(repo, model_name)
    model = m.load_model(repo, model_name)
    return _sync_plan(repo, model, action="sync", title=f"Regenerate the version components of {model_name}",
                      noop=f"the components of {model_name} match {model.rel}")


# --------------------------------------------------------------------------
# Interruptions: signals, and the record of a change in progress


class Interrupted(ShipyardError):
    """SIGTERM or SIGINT arrived while a change was being made; it was put back."""


class StopFlag:
    """Defers SIGTERM and SIGINT while a change is made, so a job cancelled
    mid-way (a CI runner sends SIGTERM) stops at the next safe point and
    puts everything back, instead of dying between two git calls. A second
    signal stops at once; the journal then lets the next run repair."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self) -> None:
        """Raise `Interrupted` at a safe point if a signal arrived."""
        if self.signum is not None:
            name = signal.Signals(self.signum).name
            raise Interrupted(f"stopped by {name} before the change was committed; "
                              "the files, the branch and the work tree are as they were",
                              hint="run the command again when you are ready", check=gitx.BUSY)

    @contextmanager
    def installed(self) -> Iterator["StopFlag"]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum: int, _frame: Any) -> None:
            if self.signum is not None:
                raise Interrupted(f"stopped by a second {signal.Signals(signum).name}",
                                  hint="run the command again: it repairs what was left half-done",
                                  check=gitx.BUSY)
            self.signum = signum

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


JOURNAL = "journal.json"
_TEMP = re.compile(r"^\.(?P<name>.+)\.\d+\..+\.tmp$")  # atomic_write's temporary files


def journal_path(repo: Repository) -> Path:
    return gitx.state_dir(repo.root) / JOURNAL


def _missing_folders(paths: list[Path]) -> list[Path]:
    missing: list[Path] = []
    for path in paths:
        parent = path.parent
        chain = []
        while not parent.exists():
            chain.append(parent)
            parent = parent.parent
        missing.extend(f for f in reversed(chain) if f not in missing)
    return missing


def _begin_journal(repo: Repository, plan: Plan, changed: dict[Path, str], *, command: str, commit: bool,
                   head: str | None, origin: str | None, branch: str | None) -> Path:
    """Record, before the first change, everything needed to undo it: each
    file's text before and after, the folders it creates, the branch it
    makes and the commit it starts from. A run killed at any point leaves
    this record; the next command reads it (`recover`)."""
    path = journal_path(repo)
    data = {
        "pid": os.getpid(),
        "command": command,
        "started": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "title": plan.title,
        "commit": commit,
        "head": head,
        "origin": origin,
        "branch": branch,
        "files": [{"path": repo.rel(p), "before": _read(p), "after": t} for p, t in changed.items()],
        "folders": [repo.rel(f) for f in _missing_folders(list(changed))],
    }
    atomic_write(path, json.dumps(data, indent=1) + "\n")
    return path


def _end_journal(path: Path) -> None:
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _remove_temp_files(repo: Repository, rels: list[str]) -> None:
    """Temporary files of atomic writes a killed process left next to the
    files it changed (the lock is held, so no live process owns them)."""
    for rel in rels:
        path = repo.root / rel
        if not path.parent.is_dir():
            continue
        for candidate in path.parent.iterdir():
            match = _TEMP.match(candidate.name)
            if match and match.group("name") == path.name:
                candidate.unlink(missing_ok=True)


def recover(repo: Repository) -> list[str]:
    """Repair what a killed command left, from its journal: before anything
    else, a new command puts the files, the index and the branch back as
    they were before the interrupted one started (or, when that one got as
    far as its commit, just drops the record). Returns what was done, for
    the user; refuses, touching nothing, when a file was edited since."""
    path = journal_path(repo)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = [(str(f["path"]), f["before"], str(f["after"])) for f in data["files"]]
        who = f"an interrupted `{data['command']}` (pid {data['pid']}, started {data['started']})"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShipyardError(f"{path}: the record of an interrupted change cannot be read ({exc})",
                            hint=f"check `git status` and `git branch`, put things back by hand, then delete {path}",
                            check=gitx.BUSY) from None
    root = repo.root
    rels = [rel for rel, _, _ in files]
    head = data.get("head")
    now = gitx.head(root) if head else None
    _remove_temp_files(repo, rels)
    if head and now != head:
        # HEAD moved: the interrupted run made its commit, or someone has moved on by hand since
        _end_journal(path)
        done = all(gitx.show(root, "HEAD", rel) == after for rel, _, after in files)
        if done:
            return [f"{who} had committed its change ({now[:12]}); nothing to repair"]
        return [f"{who} left a record, but HEAD has moved since ({head[:12]} -> {now[:12]}); record dropped, "
                "check `git status`"]
    edited = [rel for rel, before, after in files if _read(root / rel) not in (before, after)]
    if edited:
        steps = ["keep or undo those edits yourself (`git status`, `git restore`)"]
        if data.get("branch") and gitx.rev(root, f"refs/heads/{data['branch']}") == head:
            steps.append(f"switch back to {data.get('origin')} and delete its empty branch "
                         f"(git branch -D {data['branch']})")
        steps.append(f"then delete {path} and run again")
        raise ShipyardError(
            f"{who} was stopped half-way, and {', '.join(edited)} changed since; nothing was touched",
            hint=", ".join(steps), check=gitx.BUSY)
    if data.get("commit"):
        gitx.git(root, "reset", "--quiet", "--", *rels, what="unstaging the interrupted change")
    restored = 0
    for rel, before, _after in files:
        target = root / rel
        if before is None:
            if target.exists():
                target.unlink()
                restored += 1
        elif _read(target) != before:
            atomic_write(target, before)
            restored += 1
    for rel in reversed(data.get("folders") or []):
        try:
            (root / rel).rmdir()
        except OSError:
            pass
    notes = [f"{who} was stopped half-way: put back {restored} file(s)" if restored
             else f"{who} was stopped before it changed any file"]
    branch, origin = data.get("branch"), data.get("origin")
    if branch and head and gitx.rev(root, f"refs/heads/{branch}") == head:
        if gitx.current_branch(root) == branch:
            _drop_branch(repo, branch, origin)
        else:
            gitx.delete_branch(root, branch)
        notes.append(f"removed its branch {branch}, back on {gitx.current_branch(root) or origin}")
    _end_journal(path)
    return notes


# --------------------------------------------------------------------------
# Apply


def prepare(repo: Repository, options: GitOptions) -> None:
    """Before planning: a change that will be committed starts from a clean
    work tree, so the commit holds this change and nothing else."""
    if options.commit:
        gitx.require_clean(repo.root)


def change(repo: Repository, make_plan: Callable[[Repository], Plan], options: GitOptions | None = None, *,
           command: str = "shipyard", wait: float = 0.0, notify: Callable[[str], None] | None = None) -> Outcome:
    """The whole of a command that changes the repository: take the work
    tree's lock (or wait for it), repair what an interrupted run left, check
    the work tree, plan, apply. ``notify`` hears about waiting, a lock taken
    over from a dead process and repairs."""
    options = options or GitOptions()
    say = notify or (lambda _message: None)
    lock = gitx.WorkTreeLock(repo.root, command)
    lock.acquire(wait=wait, notify=say)
    try:
        if lock.taken_over is not None:
            state = "is no longer running" if not lock.taken_over.alive() else "no longer holds it"
            say(f"took over the work-tree lock of {lock.taken_over.describe()}, which {state}")
        for note in recover(repo):
            say(note)
        prepare(repo, options)
        plan = make_plan(repo)
        stop = StopFlag()
        with stop.installed():
            return apply(repo, plan, options, stop=stop, command=command)
    finally:
        lock.release()


def _render_all(repo: Repository, folders: list[Path]) -> dict[Path, list[dict[str, Any]]]:
    return {folder: (m.kustomize(repo, folder) if (folder / "kustomization.yaml").is_file() else []) for folder in folders}


def apply(repo: Repository, plan: Plan, options: GitOptions | None = None, *, stop: StopFlag | None = None,
          command: str = "shipyard") -> Outcome:
    """Make ``plan`` real: branch, atomic writes, render check, commit.
    Nothing is left half-done: on any failure the files, and the branch,
    are put back; a kill leaves a journal the next command repairs from.
    Conflicts (the branch exists with other content, the target branch
    changed these files) are refused before anything is touched."""
    options = options or GitOptions()
    stop = stop or StopFlag()
    root = repo.root
    changed = {path: text for path, text in plan.files.items() if _read(path) != text}
    rels = [repo.rel(p) for p in changed]
    if not changed:
        body = "\n\n".join(plan.sections)
        return Outcome(plan, [], plan.title, body, note=plan.noop)
    branch = _branch_name(repo, plan, options)
    if branch is not None and gitx.branch_exists(root, branch):
        return _already_prepared(repo, plan, branch, changed)
    head = origin = None
    if options.commit:
        _require_up_to_date(repo, rels)
        head = gitx.head(root)
        origin = gitx.current_branch(root) or head
    journal = _begin_journal(repo, plan, changed, command=command, commit=options.commit, head=head,
                             origin=origin, branch=branch)
    transaction = FileTransaction()
    staged = False
    try:
        # The "before" render reads the same files the new branch starts
        # from, so it runs while the branch is being made.
        with ThreadPoolExecutor(max_workers=1) as pool:
            rendering = pool.submit(_render_all, repo, plan.render)
            try:
                if branch is not None:
                    gitx.create_branch(root, branch)
            except BaseException:
                rendering.exception()  # wait for it; the branch error is the one to report
                raise
            before = rendering.result()
        stop.check()
        for path, text in changed.items():
            transaction.write(path, text)
            stop.check()
        after = _render_all(repo, plan.render)
        if plan.verify is not None:
            plan.verify(repo, after)
        summary: list[str] = []
        for folder in plan.render:
            summary.append(f"`{repo.rel(folder)}`:")
            summary.extend(rendered_changes(before.get(folder, []), after.get(folder, [])))
        sections = list(plan.sections)
        if summary:
            sections.append("## Rendered change\n\n" + "\n".join(summary))
        sections.append("## Files\n\n" + "\n".join(f"- `{r}`" for r in rels))
        body = "\n\n".join(sections) + "\n"
        commit = None
        if options.commit:
            stop.check()
            staged = True
            commit = gitx.commit(root, rels, plan.title + "\n\n" + _commit_body(plan))
    except BaseException:
        # put everything back; if that fails too, the journal stays for the next run
        if staged:
            gitx.git(root, "reset", "--quiet", "--", *rels, check=False)
        transaction.rollback()
        if branch is not None and gitx.current_branch(root) == branch:
            _drop_branch(repo, branch, origin)
        elif branch is not None and gitx.rev(root, f"refs/heads/{branch}") == head:
            gitx.delete_branch(root, branch)
        _end_journal(journal)
        raise
    _end_journal(journal)
    out_branch = (branch or gitx.current_branch(root)) if options.commit else None
    return Outcome(plan, rels, plan.title, body, branch=out_branch, commit=commit)


def _branch_name(repo: Repository, plan: Plan, options: GitOptions) -> str | None:
    """The branch this change gets, or None when it goes on the current one."""
    if not (options.commit and options.new_branch):
        return None
    name = options.branch or plan.branch
    if options.branch and not gitx.valid_branch_name(repo.root, name):
        raise ShipyardError(f"{name!r} is not a valid branch name", hint="pass another --branch NAME", check="SY900")
    return name


def _already_prepared(repo: Repository, plan: Plan, name: str, changed: dict[Path, str]) -> Outcome:
    """The outcome of an earlier run that prepared this exact change on
    branch ``name``; a branch of that name with anything else is a
    conflict, explained: which files differ, what it holds, and whether it
    was made from an older base."""
    root = repo.root
    differing = [repo.rel(p) for p, t in changed.items() if gitx.show(root, name, repo.rel(p)) != t]
    if not differing:
        body = "\n\n".join(plan.sections)
        return Outcome(plan, [], plan.title, body, branch=name, commit=gitx.rev(root, f"refs/heads/{name}"),
                       note=f"already prepared on branch {name}")
    here = gitx.current_branch(root) or "HEAD"
    details = [f"{', '.join(differing)} there {'differs' if len(differing) == 1 else 'differ'} from this change"]
    base = gitx.merge_base(root, "HEAD", name)
    if base is not None:
        moved = [rel for rel in differing if gitx.show(root, base, rel) != gitx.show(root, "HEAD", rel)]
        if moved:
            latest = gitx.log_lines(root, f"{base}..HEAD", moved, limit=1)
            details.append(f"it was made from an older {here}: {', '.join(moved)} changed on {here} since"
                           + (f" (latest: {latest[0]})" if latest else ""))
        own = gitx.log_lines(root, f"{base}..{name}")
        if own:
            details.append("its commits: " + "; ".join(own))
    raise ShipyardError(
        f"branch {name} already exists with other content: " + "; ".join(details),
        hint=f"if {name} is an outdated run of this command, delete it and run again (git branch -D {name}); "
        "to keep it, pass --branch NAME to make the change on another branch",
        check=gitx.CONFLICT)


def _require_up_to_date(repo: Repository, rels: list[str]) -> None:
    """Refuse a change to files the target branch (shipyard.yaml
    repository.branch, default main, or its fetched remote counterpart)
    changed since this work tree's base: its pull request would conflict,
    or silently undo the other change."""
    config = repo.config.get("repository") if isinstance(repo.config.get("repository"), dict) else {}
    target = str((config or {}).get("branch") or "main")
    found = gitx.upstream_changes(repo.root, target, rels)
    if found is None:
        return
    commits = f" ({'; '.join(found.commits)})" if found.commits else ""
    raise ShipyardError(
        f"{', '.join(found.paths)} changed on {found.ref} since this work tree's base{commits}: "
        "a pull request made from here would conflict with that change or undo it",
        hint=f"bring the work tree up to date first (git pull --rebase, or git rebase {found.ref}), then run again; "
        "nothing was changed",
        check=gitx.CONFLICT)


def _drop_branch(repo: Repository, created: str | None, origin: str | None) -> None:
    """Undo the branch creation: back where we were, the new branch gone."""
    if not created or not origin:
        return
    if gitx.branch_exists(repo.root, origin):
        gitx.switch(repo.root, origin)
    else:
        gitx.git(repo.root, "switch", "--quiet", "--detach", origin, check=False)
    gitx.delete_branch(repo.root, created)


def _commit_body(plan: Plan) -> str:
    lines = []
    for section in plan.sections:
        if section.startswith("## What changes") or section.startswith("## Forced"):
            lines.extend(line for line in section.splitlines() if line.startswith("- "))
    return "\n".join(lines)


def write_pr_files(outcome: Outcome, title_file: Path | None, body_file: Path | None) -> None:
    if title_file is not None:
        atomic_write(title_file, outcome.title + "\n")
    if body_file is not None:
        atomic_write(body_file, outcome.body)
