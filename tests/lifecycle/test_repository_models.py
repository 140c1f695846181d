"""This repository's own models: their pins pass the model checks, and
their monitoring is valid against the prometheus-operator CRDs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shipyard.models.spec import model_names, model_problems
from shipyard.checks import load_all
from shipyard.repo import Repository
from shipyard.checks.context import CheckContext
from shipyard.targets import build_folder, make_renderer, render_all, target_for_path
from shipyard.validate import run_checks

ROOT = Path(__file__).resolve().parents[2]
REPO = Repository.load(ROOT)
MONITORING = sorted(p for p in (ROOT / "models").glob("*/monitoring") if (p / "kustomization.yaml").is_file())


def test_model_pins_pass_the_model_checks() -> None:
    envs = REPO.model_environments()
    assert envs == ["dev", "staging", "production"]
    only = {k for k in load_all() if k.startswith("SY5")}
    renderer = make_renderer(REPO, use_cache=False)
    try:
        targets = render_all(renderer, [target_for_path(REPO, f"overlays/{e}/models", ROOT) for e in envs], 2)
    finally:
        if renderer.mirror:
            renderer.mirror.close()
    assert {t.environment for t in targets} == set(envs)
    served = {(t.environment, o.name) for t in targets for o in t.objects if o.kind == "SeldonDeployment"}
    assert served == {(e, m) for e in envs for m in ("iris", "tabular-xgb")}
    findings = run_checks(CheckContext(targets=targets, repo=REPO), only)
    assert [(f.check, f.location, f.message) for f in findings] == []


def test_every_model_yaml_is_valid() -> None:
    for name in model_names(REPO):
        model, problems = model_problems(REPO, name)
        assert problems == [] and model is not None, problems


def _strict(schema: Any) -> Any:
    """The CRD's structural schema as the API server applies it: fields not
    declared are rejected unless the schema preserves unknown fields."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        if out.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _crd_schemas(mirror: Path) -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in sorted((mirror / "crds" / "prometheus-operator").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    return schemas


@pytest.mark.parametrize("folder", MONITORING, ids=[p.parent.name for p in MONITORING])
def test_monitoring_matches_the_prometheus_operator_crds(folder: Path, mirror_dir: Path) -> None:
    schemas = _crd_schemas(mirror_dir)
    built = build_folder(REPO, folder, use_cache=False)
    # beside the scrape and the alerts: the Grafana dashboard ConfigMap and, for a model with spec.drift,
    # the drift CronJob, the request sink (Deployment, Service) and their NetworkPolicies (docs/monitoring.md)
    assert {"PodMonitor", "PrometheusRule"} <= {o["kind"] for o in built} <= {
        "PodMonitor", "PrometheusRule", "ConfigMap", "CronJob", "NetworkPolicy", "Deployment", "Service"}
    objects = [o for o in built if o["kind"] in ("PodMonitor", "PrometheusRule")]
    for obj in objects:
        schema = schemas[(obj["apiVersion"], obj["kind"])]
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert errors == [], f"{obj['kind']} {obj['metadata']['name']}: {errors}"
    monitor = next(o for o in objects if o["kind"] == "PodMonitor")
    model = folder.parent.name
    assert monitor["spec"]["selector"]["matchLabels"] == {"seldon-deployment-id": model}
    rules = next(o for o in objects if o["kind"] == "PrometheusRule")
    exprs = [r["expr"] for g in rules["spec"]["groups"] for r in g["rules"]]
    # an error is what is not a success of its transport: REST "2xx", gRPC "OK" (docs/monitoring.md)
    assert any("seldon_api_executor_server_requests_seconds_count" in e and 'code!~"2..|OK"' in e for e in exprs)
    assert any("histogram_quantile" in e and "seldon_api_executor_server_requests_seconds_bucket" in e for e in exprs)
    assert all(f'deployment_name="{model}"' in e for e in exprs if "seldon_api_executor" in e)


def test_strict_crd_schema_rejects_a_typo(mirror_dir: Path) -> None:
    schemas = _crd_schemas(mirror_dir)
    bad = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "x"},
           "spec": {"selector": {}, "podMetricsEndpoints": [{"port": "metrics", "pth": "/prometheus"}]}}
    errors = list(jsonschema.Draft7Validator(schemas[("monitoring.coreos.com/v1", "PodMonitor")]).iter_errors(bad))
    assert errors and "pth" in errors[0].message
