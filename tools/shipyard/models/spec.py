"""model.yaml, read once: the schema, the rules a schema cannot say, and
the typed model (versions, gates, serving) every other part reads.

The file is read by the one strict YAML reader (`shipyard.load`), which
keeps the line of every key, so each problem names the line to edit.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Literal

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.load import Located, load_located_file
from shipyard.models.problem import Problem
from shipyard.repo import Repository
from shipyard.shapes import as_dict, as_list

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
        problems.append(Problem("SY501", rel, doc.line(line_path), f"{_dotted(path)}: {message}"))
    return sorted(problems, key=lambda p: (p.line, p.message))


def semantic_problems(doc: Located, rel: str, folder: str, environments: list[str] | None) -> list[Problem]:
    """Rules a JSON Schema cannot say: the name matches the folder, versions
    and URIs are unique, per-environment keys name real environments."""
    problems: list[Problem] = []
    data = as_dict(doc.data)
    name = as_dict(data.get("metadata")).get("name")
    if isinstance(name, str) and name != folder:
        problems.append(Problem("SY501", rel, doc.line(("metadata", "name")),
                                f"metadata.name is {name!r} but the folder is models/{folder}",
                                hint="the folder, metadata.name and the SeldonDeployment share one name"))
    spec = as_dict(data.get("spec"))
    versions = as_list(spec.get("versions"))
    seen_versions: dict[str, int] = {}
    seen_uris: dict[str, str] = {}
    for index, item in enumerate(versions):
        if not isinstance(item, dict):
            continue
        version, uri = item.get("version"), item.get("modelUri")
        if isinstance(version, str):
            if version in seen_versions:
                problems.append(Problem("SY501", rel, doc.line(("spec", "versions", index, "version")),
                                        f"version {version!r} is registered twice (first at line {seen_versions[version]})"))
            else:
                seen_versions[version] = doc.line(("spec", "versions", index, "version"))
        if isinstance(uri, str):
            if uri in seen_uris:
                problems.append(Problem("SY501", rel, doc.line(("spec", "versions", index, "modelUri")),
                                        f"modelUri is already registered for version {seen_uris[uri]!r}",
                                        hint="each version has its own immutable artifact location"))
            else:
                seen_uris[uri] = str(version)
    if environments is not None:
        known = set(environments)
        serving = as_dict(spec.get("serving"))
        sections = (("serving.replicas", ("spec", "serving", "replicas"), serving.get("replicas")),
                    ("serving.canaryReplicas", ("spec", "serving", "canaryReplicas"), serving.get("canaryReplicas")),
                    ("serving.gpu", ("spec", "serving", "gpu"), serving.get("gpu")),
                    ("gates", ("spec", "gates"), spec.get("gates")))
        for section, base, mapping in sections:
            if not isinstance(mapping, dict):
                continue
            for env in mapping:
                if env not in known:
                    path = base + (env,)
                    problems.append(Problem("SY501", rel, doc.line(path), f"{section}: unknown environment {env!r}",
                                            hint=f"environments are: {', '.join(environments) or 'none'}"))
        for metric, rule in as_dict(spec.get("compare")).items():
            for index, env in enumerate(as_list(as_dict(rule).get("environments"))):
                if isinstance(env, str) and env not in known:
                    problems.append(Problem("SY501", rel, doc.line(("spec", "compare", metric, "environments", index)),
                                            f"compare.{metric}.environments: unknown environment {env!r}",
                                            hint=f"environments are: {', '.join(environments) or 'none'}"))
    return problems


# --------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class Evaluation:
    """What a version's metrics were measured on: two versions' metrics
    say which is better only when both were measured on the same data."""

    dataset: str
    digest: str  # sha256:<64 hex digits> of the evaluation data's content

    def describe(self) -> str:
        return f"{self.dataset} ({self.digest[:len('sha256:') + 12]}…)"


@dataclass(frozen=True)
class MlflowLineage:
    """Where a version came from in an MLflow model registry: the registry
    is the record of what exists, so the alias of an environment can be set
    on the model version that git says runs there."""

    model: str
    version: str
    run_id: str
    experiment_id: str | None = None


@dataclass(frozen=True)
class Version:
    version: str
    model_uri: str
    metrics: dict[str, float]
    created: str
    sha256: str | None = None
    pipeline_run: str | None = None
    line: int = 0
    evaluation: Evaluation | None = None
    mlflow: MlflowLineage | None = None


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


Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class CompareRule:
    """How one metric of a candidate is compared with the version an
    environment runs now (spec.compare): which direction is better and how
    much worse is tolerated, absolutely or as a percentage of the current
    value."""

    metric: str
    better: Better
    tolerance: float = 0.0
    relative: bool = False  # tolerance is a percentage of the current version's value
    environments: tuple[str, ...] | None = None  # None: every environment
    line: int = 0

    def applies_to(self, env: str) -> bool:
        return self.environments is None or env in self.environments

    def worse_by(self, current: float, candidate: float) -> float:
        """How much worse ``candidate`` is than ``current`` in this rule's
        direction: positive when worse, zero or negative when not."""
        return current - candidate if self.better == "higher" else candidate - current

    def allowed(self, current: float) -> float:
        """How much worse than ``current`` a candidate may be."""
        return abs(current) * self.tolerance / 100 if self.relative else self.tolerance


DEFAULT_ANALYSIS_WINDOW = "5m"
DEFAULT_ANALYSIS_MIN_REQUESTS = 100
DEFAULT_ANALYSIS_STEPS = (10, 25, 50, 100)


@dataclass(frozen=True)
class AnalysisMetric:
    """One figure of a canary analysis (spec.analysis.metrics): its PromQL
    (None: the default query of that name, shipyard.lifecycle.analysis),
    an absolute bound, and how much worse than stable the canary may be."""

    name: str
    query: str | None = None
    better: Better = "lower"
    max: float | None = None
    min: float | None = None
    tolerance: float | None = None  # None: not compared with stable
    relative: bool = False  # tolerance is a percentage of the stable version's value
    line: int = 0


@dataclass(frozen=True)
class CanaryAnalysis:
    """spec.analysis: how `shipyard rollout --analyze` judges a canary."""

    window: str
    min_requests: int
    steps: tuple[int, ...]
    requests: str | None  # None: the default request count
    metrics: tuple[AnalysisMetric, ...]
    declared: bool  # False: model.yaml has no spec.analysis, every value is a default
    line: int = 0


@dataclass(frozen=True)
class DriftSpec:
    """spec.drift: how a version's drift detector is built (shipyard.drift)
    and how often the CronJob judges the logged requests against it."""

    detector: str
    p_value: float
    schedule: str
    min_instances: int
    features: tuple[str, ...]
    line: int = 0


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

    def gpu_for(self, env: str) -> int:
        """GPUs one replica uses in ``env`` (spec.serving.gpu: one number for
        every environment, or per environment; unlisted environments: 0)."""
        value = self.serving.get("gpu", 0)
        if isinstance(value, dict):
            return int(value.get(env, 0))
        return int(value)

    @property
    def gpu_line(self) -> int:
        """The line of spec.serving.gpu (of spec.serving when it is not written)."""
        path = ("spec", "serving", "gpu") if "gpu" in self.serving else ("spec", "serving")
        return self.doc.line(path)

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

    @property
    def compares(self) -> bool:
        """Whether model.yaml declares spec.compare at all."""
        return bool(self.spec.get("compare"))

    @property
    def compared_metrics(self) -> list[str]:
        """Every metric spec.compare names, in any environment."""
        return [str(metric) for metric in (self.spec.get("compare") or {})]

    def compare_rules(self, env: str) -> list[CompareRule]:
        """The metrics a promotion to ``env`` compares, in model.yaml's order."""
        rules = []
        for metric, rule in (self.spec.get("compare") or {}).items():
            tolerance = rule.get("tolerance", 0)
            relative = isinstance(tolerance, str)
            value = float(tolerance.rstrip("%")) if relative else float(tolerance)
            environments = rule.get("environments")
            found = CompareRule(metric, rule["better"], value, relative,
                                tuple(environments) if environments is not None else None,
                                self.doc.line(("spec", "compare", metric)))
            if found.applies_to(env):
                rules.append(found)
        return rules

    @property
    def analysis(self) -> CanaryAnalysis:
        """spec.analysis with its defaults filled in (all defaults when it
        is not written): what a canary of this model is judged on."""
        raw = self.spec.get("analysis")
        section = raw if isinstance(raw, dict) else {}
        metrics: list[AnalysisMetric] = []
        declared = section.get("metrics") or {"errorRate": {"max": 0.05}, "latencyP95": {"tolerance": "50%"}}
        for name, rule in declared.items():
            tolerance = rule.get("tolerance")
            relative = isinstance(tolerance, str)
            value = None if tolerance is None else float(tolerance.rstrip("%")) if relative else float(tolerance)
            metrics.append(AnalysisMetric(
                name=str(name), query=rule.get("query"), better=rule.get("better", "lower"),
                max=float(rule["max"]) if "max" in rule else None, min=float(rule["min"]) if "min" in rule else None,
                tolerance=value, relative=relative,
                line=self.doc.line(("spec", "analysis", "metrics", name)) if "metrics" in section else 0))
        return CanaryAnalysis(
            window=str(section.get("window", DEFAULT_ANALYSIS_WINDOW)),
            min_requests=int(section.get("minRequests", DEFAULT_ANALYSIS_MIN_REQUESTS)),
            steps=tuple(int(s) for s in section.get("steps", DEFAULT_ANALYSIS_STEPS)),
            requests=section.get("requests"),
            metrics=tuple(metrics),
            declared=raw is not None,
            line=self.doc.line(("spec", "analysis")) if raw is not None else 0,
        )

    @property
    def drift(self) -> DriftSpec | None:
        """spec.drift with its defaults filled in; None when model.yaml has none."""
        raw = self.spec.get("drift")
        if not isinstance(raw, dict):
            return None
        return DriftSpec(
            detector=str(raw.get("detector", "KSDrift")),
            p_value=float(raw.get("pValue", 0.05)),
            schedule=str(raw.get("schedule", "0 * * * *")),
            min_instances=int(raw.get("minInstances", 100)),
            features=tuple(str(f) for f in raw["features"]),
            line=self.doc.line(("spec", "drift")),
        )

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


def read_model_file(path: Path, rel: str) -> Located:
    """The one reading of a model.yaml: strict YAML with the line of every key."""
    return load_located_file(path, rel)


def parse_model_text(text: str, rel: str) -> Located:
    """A model.yaml given as text (a new version about to be written, or an
    older revision from git), read like the file."""
    from shipyard.load import load_located

    return load_located(text, rel)


def model_names(repo: Repository) -> list[str]:
    return repo.models()


def model_file(repo: Repository, name: str) -> Path:
    return repo.root / "models" / name / "model.yaml"


def require_model_name(repo: Repository, name: str) -> None:
    if not model_file(repo, name).is_file():
        known = ", ".join(model_names(repo)) or "none"
        raise ShipyardError(f"unknown model {name!r}", hint=f"models are: {known}", check=ids.USAGE)


def model_problems(repo: Repository, name: str) -> tuple[Model | None, list[Problem]]:
    """The model and every problem with its model.yaml (schema first; the
    semantic rules only when the schema passed)."""
    path = model_file(repo, name)
    rel = repo.rel(path)
    try:
        doc = read_model_file(path, rel)
    except ShipyardError as exc:
        return None, [Problem("SY501", rel, exc.line or 1, exc.message, exc.hint or "")]
    problems = schema_problems(doc, rel)
    if problems:
        return None, problems
    problems = semantic_problems(doc, rel, name, repo.model_environments())
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
                evaluation=Evaluation(item["evaluation"]["dataset"], item["evaluation"]["digest"])
                if "evaluation" in item else None,
                mlflow=MlflowLineage(item["mlflow"]["model"], item["mlflow"]["version"], item["mlflow"]["runId"],
                                     item["mlflow"].get("experimentId")) if "mlflow" in item else None,
            )
        )
    return Model(name=name, rel=rel, doc=doc, versions=versions)
