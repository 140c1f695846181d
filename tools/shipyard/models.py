"""Models as data: model.yaml (schema, registered versions, gates), the
version components generated from it, and where each version is pinned.

Everything here only reads the repository. Changes (register, promote,
rollout, rollback) live in `shipyard.promote`, so the checks, `status` and the
benchmarks share one reading of the files with the commands that edit them.

Layout (docs/models.md):

    models/<m>/model.yaml                       declaration + registered versions
    models/<m>/deploy/                          kustomize base: the SeldonDeployment
    models/<m>/monitoring/                      kustomize base: PodMonitor + PrometheusRule
    models/<m>/versions/<v>/                    Component: version v as the stable predictor
    models/<m>/versions/<v>/canary/             Component: version v as a canary predictor
    overlays/<env>/models/kustomization.yaml    the models of an environment (one folder each)
    overlays/<env>/models/<m>/kustomization.yaml  the pin: which components, replicas, traffic
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

from shipyard.errors import ShipyardError
from shipyard.objects import JsonPath
from shipyard.repo import Repository

API_VERSION = "shipyard.dev/v1alpha1"
SELDON_GROUP = "machinelearning.seldon.io"
SELDON_KIND = "SeldonDeployment"
VERSION_LABEL = "shipyard.dev/model-version"
CANARY_LABEL = "shipyard.dev/canary-version"
CANARY_PREDICTOR = "canary"
GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_ORDER = ("dev", "staging", "production")
DEFAULT_MONITORED = ("staging", "production")

_COMPONENT_RE = re.compile(r"^models/(?P<model>[^/]+)/versions/(?P<version>[^/]+)(?P<canary>/canary)?/?$")
_MANAGED_OP_RE = re.compile(r"^/spec/predictors/(?P<index>\d+)/(?P<field>replicas|traffic)$")


# --------------------------------------------------------------------------
# YAML with line numbers


@dataclass(frozen=True)
class Located:
    """A parsed YAML document and the line of every key and item, so a
    problem found in the data can name the line a person has to edit."""

    data: Any
    lines: dict[JsonPath, int]

    def line(self, path: Iterable[str | int] = ()) -> int:
        probe = tuple(path)
        while True:
            if probe in self.lines:
                return self.lines[probe]
            if not probe:
                return 1
            probe = probe[:-1]


def parse_yaml(text: str, rel: str) -> Located:
    """Parse one YAML document keeping lines; duplicate keys are an error
    (PyYAML silently keeps the last one, which hides a real mistake).

    The bounded loader reads the text first: malformed YAML, alias bombs and
    absurd nesting are refused there (SY910/SY911) before libyaml's
    recursive composer could exhaust the stack."""
    from shipyard.load import load_documents

    load_documents(text, rel)
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {})
        data = loader.construct_document(node)
        lines: dict[JsonPath, int] = {}
        _walk(loader, node, (), lines, rel)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ShipyardError(
            f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
            file=rel,
            line=(mark.line + 1) if mark else None,
            check="SY902",
        ) from None
    finally:
        loader.dispose()
    return Located(_plain(data), lines)


def load_yaml(path: Path, rel: str) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShipyardError(f"cannot read file: {exc}", file=rel, check="SY902") from None
    return parse_yaml(text, rel)


def _walk(loader: Any, node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int], rel: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                continue
            if key in seen:
                raise ShipyardError(
                    f"duplicate key {key!r}", file=rel, line=key_node.start_mark.line + 1,
                    hint="YAML keeps only the last value; remove one of them", check="SY902",
                )
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(loader, value_node, path + (key,), lines, rel)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _walk(loader, item, path + (index,), lines, rel)


def _plain(value: Any) -> Any:
    """Timestamps as RFC 3339 strings: `created: 2026-11-01T00:00:00Z` written
    without quotes is still a time, and the schema speaks of strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------
# model.yaml: schema and semantic rules


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, at a line."""

    file: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@functools.lru_cache(maxsize=1)
def model_schema() -> dict[str, Any]:
    """The JSON Schema of model.yaml, shipped in the package."""
    text = resources.files("shipyard").joinpath("data/model.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(model_schema(), validate_formats=True)


def _schema_node(schema_path: list[str | int]) -> dict[str, Any]:
    node: Any = model_schema()
    for part in schema_path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return {}
    return node if isinstance(node, dict) else {}


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def schema_problems(doc: Located, rel: str) -> list[Problem]:
    """model.yaml against data/model.schema.json: each error at its line,
    with the schema's own wording replaced by a fix where one is written."""
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc.data):
        path = list(error.instance_path)
        schema_path = list(error.schema_path)
        keyword = schema_path[-1] if schema_path else ""
        parent = _schema_node(schema_path[:-1])
        message = (parent.get("x-messages") or {}).get(keyword) or error.message
        line_path = path
        unexpected = getattr(error.kind, "unexpected", None)
        if keyword == "additionalProperties" and unexpected:
            line_path = path + [unexpected[0]]
            allowed = sorted((parent.get("properties") or {}).keys())
            message = f"unknown field {unexpected[0]!r}" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        problems.append(Problem(rel, doc.line(line_path), f"{_dotted(path)}: {message}"))
    return sorted(problems, key=lambda p: (p.line, p.message))


def semantic_problems(doc: Located, rel: str, folder: str, environments: list[str] | None) -> list[Problem]:
    """Rules a JSON Schema cannot say: the name matches the folder, versions
    and URIs are unique, per-environment keys name real environments."""
    problems: list[Problem] = []
    data = doc.data if isinstance(doc.data, dict) else {}
    name = (data.get("metadata") or {}).get("name") if isinstance(data.get("metadata"), dict) else None
    if isinstance(name, str) and name != folder:
        problems.append(Problem(rel, doc.line(("metadata", "name")),
                                f"metadata.name is {name!r} but the folder is models/{folder}",
                                hint="the folder, metadata.name and the SeldonDeployment share one name"))
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    versions = spec.get("versions") if isinstance(spec.get("versions"), list) else []
    seen_versions: dict[str, int] = {}
    seen_uris: dict[str, str] = {}
    for index, item in enumerate(versions):
        if not isinstance(item, dict):
            continue
        version, uri = item.get("version"), item.get("modelUri")
        if isinstance(version, str):
            if version in seen_versions:
                problems.append(Problem(rel, doc.line(("spec", "versions", index, "version")),
                                        f"version {version!r} is registered twice (first at line {seen_versions[version]})"))
            else:
                seen_versions[version] = doc.line(("spec", "versions", index, "version"))
        if isinstance(uri, str):
            if uri in seen_uris:
                problems.append(Problem(rel, doc.line(("spec", "versions", index, "modelUri")),
                                        f"modelUri is already registered for version {seen_uris[uri]!r}",
                                        hint="each version has its own immutable artifact location"))
            else:
                seen_uris[uri] = str(version)
    if environments is not None:
        known = set(environments)
        serving = spec.get("serving") if isinstance(spec.get("serving"), dict) else {}
        sections = (("serving.replicas", ("spec", "serving", "replicas"), serving.get("replicas")),
                    ("serving.canaryReplicas", ("spec", "serving", "canaryReplicas"), serving.get("canaryReplicas")),
                    ("gates", ("spec", "gates"), spec.get("gates")))
        for section, base, mapping in sections:
            if not isinstance(mapping, dict):
                continue
            for env in mapping:
                if env not in known:
                    path = base + (env,)
                    problems.append(Problem(rel, doc.line(path), f"{section}: unknown environment {env!r}",
                                            hint=f"environments are: {', '.join(environments) or 'none'}"))
    return problems


# --------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class Version:
    version: str
    model_uri: str
    metrics: dict[str, float]
    created: str
    sha256: str | None = None
    pipeline_run: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Bound:
    metric: str
    min: float | None = None
    max: float | None = None

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)

    def passes(self, value: float | None) -> bool:
        if value is None:
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


@dataclass
class Model:
    """A valid model.yaml. Only `load_model` builds one, after the schema
    passed, so the accessors below can trust the shapes."""

    name: str
    rel: str
    doc: Located
    versions: list[Version]

    @property
    def spec(self) -> dict[str, Any]:
        return self.doc.data["spec"]

    @property
    def serving(self) -> dict[str, Any]:
        return self.spec["serving"]

    @property
    def owner(self) -> str:
        return str(self.spec["owner"])

    @property
    def namespace(self) -> str | None:
        return self.serving.get("namespace")

    @property
    def gpu(self) -> int:
        return int(self.serving.get("gpu", 0))

    def canary_replicas_for(self, env: str) -> int:
        value = self.serving.get("canaryReplicas", 1)
        if isinstance(value, dict):
            return int(value.get(env, 1))
        return int(value)

    def replicas_for(self, env: str) -> int | None:
        value = self.serving["replicas"].get(env)
        return int(value) if value is not None else None

    def find(self, version: str) -> Version | None:
        return next((v for v in self.versions if v.version == version), None)

    def get(self, version: str) -> Version:
        found = self.find(version)
        if found is None:
            known = ", ".join(v.version for v in self.versions) or "none"
            raise ShipyardError(
                f"model {self.name!r} has no registered version {version!r}",
                file=self.rel,
                hint=f"registered versions: {known}; register one with `shipyard register {self.name} --version ...`",
                check="SY502",
            )
        return found

    @property
    def latest(self) -> Version | None:
        return self.versions[-1] if self.versions else None

    def gates_for(self, env: str) -> list[Bound]:
        gates = (self.spec.get("gates") or {}).get(env) or {}
        return [Bound(metric, bounds.get("min"), bounds.get("max")) for metric, bounds in gates.items()]

    def gate_failures(self, version: Version, env: str) -> list[str]:
        """Why ``version`` may not run in ``env``; empty when it passes."""
        failures = []
        for bound in self.gates_for(env):
            value = version.metrics.get(bound.metric)
            if value is None:
                failures.append(f"{bound.metric} is not reported (gate: {bound.describe()})")
            elif not bound.passes(value):
                failures.append(f"{bound.metric} = {value:g} fails the gate ({bound.describe()})")
        return failures


def model_names(repo: Repository) -> list[str]:
    return repo.models()


def model_file(repo: Repository, name: str) -> Path:
    return repo.root / "models" / name / "model.yaml"


def require_model_name(repo: Repository, name: str) -> None:
    if not model_file(repo, name).is_file():
        known = ", ".join(model_names(repo)) or "none"
        raise ShipyardError(f"unknown model {name!r}", hint=f"models are: {known}", check="SY900")


def model_problems(repo: Repository, name: str) -> tuple[Model | None, list[Problem]]:
    """The model and every problem with its model.yaml (schema first; the
    semantic rules only when the schema passed)."""
    path = model_file(repo, name)
    rel = repo.rel(path)
    try:
        doc = load_yaml(path, rel)
    except ShipyardError as exc:
        return None, [Problem(rel, exc.line or 1, exc.message, exc.hint or "")]
    problems = schema_problems(doc, rel)
    if problems:
        return None, problems
    problems = semantic_problems(doc, rel, name, environments(repo))
    if problems:
        return None, problems
    return build_model(name, rel, doc), []


def load_model(repo: Repository, name: str) -> Model:
    """A valid model, or one error naming every problem in its model.yaml."""
    require_model_name(repo, name)
    model, problems = model_problems(repo, name)
    if model is None:
        first = problems[0]
        rest = "".join(f"\n  {p}" for p in problems[1:])
        raise ShipyardError(
            f"{first.message}{rest}",
            file=first.file,
            line=first.line,
            hint=first.hint or "fix model.yaml (schema: docs/models.md)",
            check="SY501",
        )
    return model


def build_model(name: str, rel: str, doc: Located) -> Model:
    """A Model from a document that passed the schema and the semantic rules."""
    versions = []
    for index, item in enumerate(doc.data["spec"]["versions"]):
        versions.append(
            Version(
                version=item["version"],
                model_uri=item["modelUri"],
                metrics={k: float(v) for k, v in item["metrics"].items()},
                created=str(item["created"]),
                sha256=item.get("sha256"),
                pipeline_run=item.get("pipelineRun"),
                line=doc.line(("spec", "versions", index)),
            )
        )
    return Model(name=name, rel=rel, doc=doc, versions=versions)


# --------------------------------------------------------------------------
# Version components (generated from model.yaml)


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
            problems.append(Problem(rel, 1, "missing: generated component for a registered version",
                                    hint=f"run `shipyard register {model.name} --sync`"))
            continue
        try:
            actual = parse_yaml(path.read_text(encoding="utf-8"), rel).data
        except ShipyardError as exc:
            problems.append(Problem(rel, exc.line or 1, exc.message))
            continue
        if actual != yaml.safe_load(text):
            problems.append(Problem(rel, 1, f"out of sync with {model.rel}",
                                    hint=f"run `shipyard register {model.name} --sync`"))
    registered = {v.version for v in model.versions}
    base = versions_dir(repo, model.name)
    if base.is_dir():
        for child in sorted(base.iterdir()):
            if child.is_dir() and child.name not in registered:
                problems.append(Problem(repo.rel(child), 1,
                                        f"component for version {child.name!r}, which {model.rel} does not register",
                                        hint="register the version or delete the folder"))
    return problems


# --------------------------------------------------------------------------
# Environments


def environments(repo: Repository) -> list[str]:
    """Environments that can run models: overlays/<env>/models/kustomization.yaml exists."""
    base = repo.root / "overlays"
    if not base.is_dir():
        return []
    found = sorted(p.name for p in base.iterdir() if (p / "models" / "kustomization.yaml").is_file())
    order = [e for e in _configured("order", DEFAULT_ORDER, repo) if e in found]
    return order + [e for e in found if e not in order]


def _configured(key: str, default: tuple[str, ...], repo: Repository) -> list[str]:
    section = repo.config.get("promotion")
    value = section.get(key) if isinstance(section, dict) else None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return list(default)


def promotion_order(repo: Repository) -> list[str]:
    """Environments in promotion order (shipyard.yaml `promotion.order`,
    default dev, staging, production); a version reaches an environment
    only after the one before it."""
    return environments(repo)


def monitored_environments(repo: Repository) -> set[str]:
    """Environments whose pins include the model's monitoring
    (shipyard.yaml `promotion.monitored`, default staging and production)."""
    return set(_configured("monitored", DEFAULT_MONITORED, repo))


def require_environment(repo: Repository, env: str) -> None:
    known = environments(repo)
    if env not in known:
        raise ShipyardError(
            f"unknown environment {env!r}",
            hint=f"environments are: {', '.join(known) or 'none'} (folders overlays/<env>/models)",
            check="SY900",
        )


def previous_environment(repo: Repository, env: str) -> str | None:
    order = promotion_order(repo)
    index = order.index(env)
    return order[index - 1] if index > 0 else None


# --------------------------------------------------------------------------
# Pins: which version runs where, read from the overlays


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
    doc = parse_yaml(text, rel) if text is not None else load_yaml(path, rel)
    data = doc.data if isinstance(doc.data, dict) else {}
    pins: dict[str, Pin] = {}
    components = data.get("components") if isinstance(data.get("components"), list) else []
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
    patches = data.get("patches") if isinstance(data.get("patches"), list) else []
    for index, patch in enumerate(patches):
        if not isinstance(patch, dict) or not isinstance(patch.get("patch"), str):
            continue
        target = patch.get("target") if isinstance(patch.get("target"), dict) else {}
        name = target.get("name")
        if target.get("kind") != SELDON_KIND or not isinstance(name, str):
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
        ops = yaml.load(str(patch_text), Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
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


# --------------------------------------------------------------------------
# Rendering (the real kustomize in kubectl)


def kustomize(repo: Repository, path: Path, *, cached: bool = False) -> list[dict[str, Any]]:
    """Objects of `kustomize build path` with the repository's pinned
    kubectl (shipyard.render), origin annotations removed. ``cached`` reads
    and fills the render cache (.shipyard-cache, keyed by the content of
    every input): right for reports, needless for a one-off build."""
    from shipyard.render import kustomize as build
    from shipyard.render.binaries import find_binaries

    if cached and path.resolve().is_relative_to(repo.root):
        from shipyard.render.cache import RenderCache
        from shipyard.render.engine import Renderer

        renderer = Renderer(repo, cache=RenderCache(repo.root / ".shipyard-cache"))
        return [copy.deepcopy(body) for body, _where, _line, _local in renderer.kustomize_records(repo.rel(path))]

    text, _wrapper = build.build(path, find_binaries(), None, label=repo.rel(path))
    objects = []
    for doc in yaml.load_all(text, Loader=yaml.CSafeLoader):
        if not isinstance(doc, dict):
            continue
        meta = doc.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        if isinstance(annotations, dict):
            annotations.pop(build.ORIGIN, None)
            if not annotations:
                meta.pop("annotations")
        objects.append(doc)
    return objects


def seldon_deployments(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == SELDON_KIND and str(o.get("apiVersion", "")).startswith(SELDON_GROUP + "/")]


# --------------------------------------------------------------------------
# Status: which version runs where


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


def predictor_gpus(predictor: dict[str, Any]) -> int:
    """GPUs one replica of ``predictor`` asks for (limits nvidia.com/gpu)."""
    total = 0
    for component in predictor.get("componentSpecs") or []:
        spec = (component or {}).get("spec") or {}
        for container in spec.get("containers") or []:
            limits = ((container or {}).get("resources") or {}).get("limits") or {}
            try:
                total += int(str(limits.get(GPU_RESOURCE, 0)))
            except ValueError:
                pass
    return total


def placements_in(objects: Iterable[dict[str, Any]], env: str, clusters: list[str]) -> list[Placement]:
    found: list[Placement] = []
    for sd in seldon_deployments(objects):
        labels = (sd.get("metadata") or {}).get("labels") or {}
        name = str((sd.get("metadata") or {}).get("name", ""))
        model = str(labels.get("app.kubernetes.io/name") or name)
        predictors = (sd.get("spec") or {}).get("predictors") or []
        for index, predictor in enumerate(predictors):
            role = "canary" if predictor.get("name") == CANARY_PREDICTOR else "stable"
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
    envs = envs or environments(repo)
    for env in envs:
        require_environment(repo, env)
    by_env: dict[str, list[str]] = {}
    for cluster in repo.clusters():
        by_env.setdefault(cluster.environment, []).append(cluster.name)
    with ThreadPoolExecutor(max_workers=2) as pool:
        rendered = list(pool.map(lambda e: kustomize(repo, env_models_dir(repo, e), cached=True), envs))
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
