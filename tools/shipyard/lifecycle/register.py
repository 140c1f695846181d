"""register: add a trained version to models/<m>/model.yaml and generate
its version components; `--sync` regenerates every component from
model.yaml, and the GPU patch of every pin (spec.serving.gpu and the
clusters' spec.gpu). Registered versions are immutable."""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from shipyard import ids
from shipyard.files import atomic_write, read_exact
from shipyard.errors import ShipyardError
from shipyard.lifecycle.gpus import pin_gpu_patch
from shipyard.lifecycle.guards import pin_file
from shipyard.lifecycle.pin_edit import PinState, edit_pin_text, relative_to_folder
from shipyard.lifecycle.plan import Plan, Rendered, Verify
from shipyard.lifecycle.pr_body import compare_table, version_lines
from shipyard.lifecycle.yaml_edit import append_to_block_sequence, dump_round_trip, load_round_trip, read_or_none
from shipyard.load import load_located, read_text
from shipyard.models.components import component_dir, component_text, expected_components
from shipyard.models import rules
from shipyard.models.pins import read_pin
from shipyard.models.rules import seldon_deployments
from shipyard.models.spec import (Evaluation, MlflowLineage, Model, Version, build_model, load_model, model_file, parse_model_text,
                                  require_model_name, schema_problems, semantic_problems)
from shipyard.repo import Repository
from shipyard.targets import open_renderer


def read_metrics(path: Path) -> dict[str, float]:
    """Metrics from a JSON or YAML file: ``{name: number}``, ``{metrics:
    {name: number}}`` or Kubeflow's ``{metrics: [{name, numberValue}]}``.

    Read like every other input (``read_text``: a regular file within the
    size limit; the strict loader: nesting, aliases, integers and dates
    bounded, a duplicate key an error), and every value must be a finite
    number: a gate compares it, and NaN compares false with everything, so
    a NaN accuracy would neither pass nor fail a gate for the right reason."""
    import math

    shown = str(path)

    def said(value: object) -> str:
        """``value`` for a message, cut short: it may be a megabyte string."""
        text = repr(value)
        return text if len(text) <= 60 else f"{text[:50]}... ({len(text):,} characters)"

    def checked(name: str, value: object, line: int) -> float:
        """``value`` as a metric, or the error that says why it is not one."""
        spelled = value.strip().lower().lstrip("+-.") if isinstance(value, str) else ""
        problem = ""
        if (isinstance(value, float) and math.isnan(value)) or spelled == "nan":
            problem = "is NaN: NaN is not a number a gate can compare"
        elif (isinstance(value, float) and math.isinf(value)) or spelled in ("inf", "infinity"):
            problem = "is infinite: infinity is not a number a gate can compare"
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problem = f"is not a number: {said(value)}"
        else:
            try:
                float(value)
            except OverflowError:  # an integer past a double's range (model.yaml keeps metrics as doubles)
                problem = f"is too large to be a number a gate can compare: {said(value)}"
        if problem:
            raise ShipyardError(f"metric {said(name)} {problem}", file=shown, line=line, check=ids.USAGE,
                                hint="report the metric's real value as a number, or leave the metric out")
        assert isinstance(value, (int, float))  # the checks above
        return value

    try:
        text = read_text(path, shown)
    except ShipyardError as exc:
        raise ShipyardError(f"cannot read the metrics file: {exc.message}", file=shown, hint=exc.hint,
                            check=ids.USAGE) from None
    doc = load_located(text, shown)
    data: Any = doc.data
    base: tuple[str, ...] = ()
    if isinstance(data, dict) and "metrics" in data and len(data) == 1:
        data, base = data["metrics"], ("metrics",)
    lines: dict[str, int] = {}
    if isinstance(data, list):
        items: dict[str, Any] = {}
        for index, entry in enumerate(data):
            line = doc.line(base + (index,))
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ShipyardError("a metrics list needs items like {name: accuracy, numberValue: 0.97}", file=shown,
                                    line=line, check=ids.USAGE)
            name = entry["name"]
            if name in items:
                raise ShipyardError(f"metric {said(name)} is listed twice (first at line {lines[name]})", file=shown,
                                    line=line, check="SY103", hint="keep one of the two: only one value is registered")
            items[name], lines[name] = entry.get("numberValue", entry.get("value")), line
        data = items
    if not isinstance(data, dict) or not data:
        raise ShipyardError("expected metrics as {name: number}", file=shown, line=doc.line(base),
                            hint='for example: {"accuracy": 0.97, "f1_macro": 0.96}', check=ids.USAGE)
    return {str(name): checked(str(name), value, lines.get(str(name)) or doc.line(base + (str(name),)))
            for name, value in data.items()}


def _components_verify(model_name: str, versions: list[str]) -> Verify:
    """Build each new component on the model's deploy base, stable and
    canary, so a version that cannot render never gets registered. The
    kustomization that joins them lives in a temporary folder outside the
    repository, so it is rendered without the cache (its key would never
    be read again)."""

    def verify(repo: Repository, _rendered: Rendered) -> None:
        base = repo.root / "models" / model_name / "deploy"
        if not (base / "kustomization.yaml").is_file():
            return
        with tempfile.TemporaryDirectory(prefix="shipyard-verify-") as tmp, \
                open_renderer(repo, use_cache=False) as renderer:
            for version in versions:
                folder = Path(tmp) / version
                stable = component_dir(repo, model_name, version)
                atomic_write(folder / "kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                    f"resources:\n- {relative_to_folder(folder, base)}\n"
                    f"components:\n- {relative_to_folder(folder, stable)}\n- {relative_to_folder(folder, stable / 'canary')}\n")
                sds = seldon_deployments(renderer.kustomize_bodies(str(folder)))
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
    evaluation: Evaluation | None = None,
    mlflow: MlflowLineage | None = None,
) -> Plan:
    """Add a trained version to models/<m>/model.yaml and generate its
    components. Registered versions are immutable: the same version again
    with the same facts is a no-op, with different facts an error.
    ``evaluation`` is what the metrics were measured on: a promotion
    compares two versions' metrics only when they were measured on the same
    data. ``mlflow`` is the version's lineage in an MLflow registry
    (shipyard.mlflow.importer)."""
    if evaluation is not None:
        evaluation = Evaluation(evaluation.dataset, evaluation.digest.lower())
    require_model_name(repo, model_name)
    model = load_model(repo, model_name)
    credential = rules.uri_without_credentials(model_name, version, uri, at=(model.rel, 1))
    if credential is not None:
        raise credential.error(hint=f"--uri: {credential.hint}")
    existing = model.find(version)
    if existing is not None:
        same = existing.model_uri == uri and existing.metrics == {k: float(v) for k, v in metrics.items()} \
            and (sha256 is None or existing.sha256 == sha256) \
            and (evaluation is None or existing.evaluation == evaluation) \
            and (mlflow is None or existing.mlflow == mlflow)
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
    if evaluation is not None:
        # quoted: a colon inside a flow mapping trips older YAML readers
        measured = CommentedMap({"dataset": evaluation.dataset, "digest": SingleQuotedScalarString(evaluation.digest)})
        measured.fa.set_flow_style()
        entry["evaluation"] = measured
    if pipeline_run:
        entry["pipelineRun"] = pipeline_run
    if mlflow is not None:
        lineage = CommentedMap({"model": mlflow.model, "version": SingleQuotedScalarString(mlflow.version),
                                "runId": mlflow.run_id})
        if mlflow.experiment_id is not None:
            lineage["experimentId"] = SingleQuotedScalarString(mlflow.experiment_id)
        lineage.fa.set_flow_style()
        entry["mlflow"] = lineage
    entry["created"] = created or datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    path = model_file(repo, model_name)
    text = read_exact(path)
    rel, owner, latest, count = model.rel, model.owner, model.latest, len(model.versions)
    last_line = model.doc.line(("spec", "versions", count - 1)) if count else 0
    del model, existing  # the file is read again below: hold one copy of a large model, not two
    new_text = append_to_block_sequence(text, last_line, entry) if count else None
    if new_text is None:
        rt, data = load_round_trip(text, rel)
        data["spec"]["versions"].append(entry)
        new_text = dump_round_trip(rt, data)
        del rt, data
    doc = parse_model_text(new_text, rel)
    problems = schema_problems(doc, rel) or semantic_problems(doc, rel, model_name, repo.model_environments())
    if problems:
        prefix = f"spec.versions[{count}]."
        flags = {"modelUri": "--uri", "sha256": "--sha256", "version": "--version", "metrics": "--metrics",
                 "created": "--created", "pipelineRun": "--pipeline-run", "evaluation.dataset": "--dataset",
                 "evaluation.digest": "--dataset-digest", "evaluation": "--dataset/--dataset-digest",
                 "mlflow": "--from-mlflow"}

        def said(message: str) -> str:
            if message.startswith(prefix):
                field, _, rest = message[len(prefix):].partition(":")
                return f"{flags.get(field, flags.get(field.split('.')[0], field))}:{rest}"
            return message

        raise ShipyardError("the new version is invalid: " + "; ".join(said(p.message) for p in problems),
                            hint="check --version, --uri, --sha256, --dataset-digest and the metrics file "
                                 "(schema: docs/models.md)",
                            check="SY501")
    new_model = build_model(model_name, rel, doc)
    registered = new_model.get(version)
    files = {path: new_text}
    for canary in (False, True):
        files[component_dir(repo, model_name, version, canary=canary) / "kustomization.yaml"] = \
            component_text(new_model, registered, canary=canary)
    gate_lines = []
    for env in repo.model_environments():
        failures = new_model.gate_failures(registered, env)
        gate_lines.append(f"- {env}: " + ("pass" if not failures else "fails: " + "; ".join(failures)))
    warnings = _comparability(new_model, registered, latest)
    sections = [
        "\n".join(["## What changes", "", f"- Model: `{model_name}` (owner: {owner})",
                   f"- New version: `{version}` in `{rel}`, with its components in "
                   f"`models/{model_name}/versions/{version}/`", *version_lines(registered)]),
        "## Metrics\n\n" + compare_table(latest, registered) + "".join(f"\n\n- {w}" for w in warnings),
        "## Gates\n\n" + "\n".join(gate_lines),
    ]
    plan = Plan(action="register", model=model_name, title=f"Register {model_name} {version}",
                branch=f"register/{model_name}-{version}", files=files, sections=sections,
                verify=_components_verify(model_name, [version]), noop=f"{model_name} {version} is already registered")
    plan.warnings.extend(warnings)
    return plan


def _comparability(model: Model, registered: Version, latest: Version | None) -> list[str]:
    """What will stop a promotion of the new version from comparing it
    with the one running (spec.compare), said now, when the pipeline that
    measured it can still be fixed: a compared metric it does not report,
    and evaluation data it does not record or that differs from the latest
    version's. Registering is not refused: the version is a fact."""
    notes = []
    compared = model.compared_metrics
    lacking = [metric for metric in compared if metric not in registered.metrics]
    if lacking:
        notes.append(f"{registered.version} does not report {', '.join(lacking)}, which spec.compare in {model.rel} "
                     "compares: promoting it over a version will need --accept-regression --reason")
    if compared and registered.evaluation is None:
        notes.append(f"{registered.version} records no evaluation data (--dataset, --dataset-digest): promotions "
                     "compare its metrics as if measured on the same data as the running version's")
    elif compared and latest is not None and latest.evaluation is not None and registered.evaluation is not None \
            and latest.evaluation.digest != registered.evaluation.digest:
        notes.append(f"{registered.version} was measured on other evaluation data than {latest.version} "
                     f"({registered.evaluation.describe()}, not {latest.evaluation.describe()}): promotions do not "
                     "judge one against the other")
    return notes


def _synced_pins(repo: Repository, model: Model) -> dict[Path, str]:
    """Every pin of ``model`` (in its own folder) with its generated GPU
    patch rewritten from model.yaml and the clusters' spec.gpu: added where
    the model uses GPUs, removed where it serves on CPU. Versions, replicas
    and traffic stay as the pin has them: changing those is a promotion."""
    files: dict[Path, str] = {}
    for env in repo.model_environments():
        pin = read_pin(repo, env, model.name)
        path = pin_file(repo, env, model.name)
        if pin is None or pin.stable is None or pin.file != repo.rel(path):
            continue
        state = PinState(stable=pin.stable, replicas=pin.replicas.get(0, model.replicas_for(env) or 1),
                         canary=pin.canary, canary_traffic=pin.traffic.get(1),
                         canary_replicas=pin.replicas.get(1) if pin.canary else None)
        text = read_exact(path)
        new = edit_pin_text(repo, env, model.name, text, state, pin_gpu_patch(repo, model, env, state))
        if new != text:
            files[path] = new
    return files


def _sync_plan(repo: Repository, model: Model, *, action: str, title: str, noop: str) -> Plan:
    files = {path: text for path, text in expected_components(repo, model).items() if read_or_none(path) != text}
    changed_versions = sorted({path.parent.name if path.parent.name != "canary" else path.parent.parent.name
                               for path in files})
    pins = _synced_pins(repo, model)
    files.update(pins)
    sections = ["## What changes\n\n" + "\n".join(
        [f"- regenerated `models/{model.name}/versions/{v}/` from `{model.rel}`" for v in changed_versions]
        + [f"- regenerated the GPU patch of `{repo.rel(path)}` from `{model.rel}` (spec.serving.gpu) and the "
           "clusters' spec.gpu" for path in pins])]
    return Plan(action=action, model=model.name, title=title, branch=f"register/{model.name}-sync", files=files,
                sections=sections, render=[path.parent for path in pins],
                verify=_components_verify(model.name, changed_versions), noop=noop)


def plan_sync(repo: Repository, model_name: str) -> Plan:
    """Regenerate every version component of a model from its model.yaml."""
    require_model_name(repo, model_name)
    model = load_model(repo, model_name)
    return _sync_plan(repo, model, action="sync", title=f"Regenerate the version components of {model_name}",
                      noop=f"the components of {model_name} match {model.rel}")
