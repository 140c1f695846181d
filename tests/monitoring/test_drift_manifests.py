"""The drift chain of each model agrees with itself, end to end.

model.yaml's spec.drift says how often and on how many instances; the
CronJob (models/<m>/monitoring/drift.yaml) is written by hand, so this test
is what keeps them one fact: its schedule, --min-instances, deployment,
model and namespace, the store and Secret it reads (shipyard.yaml
modelStore), the window of requests it fetches. The alerts select the
metrics job.py writes (shipyard.drift.metrics) with labels those series
carry once Prometheus scrapes them from the Pushgateway, and their runbook
is a workflow that exists and starts the model's pipeline.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.drift import metrics as drift_metrics
from shipyard.models.spec import load_model
from shipyard.monitoring import seldon_metrics as sm
from shipyard.monitoring.promql import parse
from shipyard.repo import Repository

ROOT = Path(__file__).resolve().parents[2]
REPO = Repository.load(ROOT)
DRIFT_MODELS = [m for m in REPO.models() if load_model(REPO, m).drift is not None]
# what the Pushgateway's scrape keeps with honorLabels: the push's job and grouping label
PUSHED_LABELS = frozenset({"job", "deployment"}) | frozenset(sm.TARGET_LABELS)


def _documents(path: Path) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(path.read_text()) if d}


def _args(container: dict[str, Any]) -> dict[str, str]:
    found = {}
    for arg in container.get("args", []):
        key, _, value = str(arg).partition("=")
        found[key] = value
    return found


def disagreements(repo: Repository, model: str) -> list[str]:
    """What drift.yaml says differently from model.yaml and shipyard.yaml."""
    spec = load_model(repo, model)
    drift = spec.drift
    assert drift is not None
    docs = _documents(repo.root / "models" / model / "monitoring" / "drift.yaml")
    cron = docs["CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (check,) = pod["containers"]
    args = _args(check)
    store = repo.settings.model_store
    assert store is not None
    wrong = []
    want = {"--deployment": model, "--model": model, "--namespace": spec.namespace or "models",
            "--min-instances": str(drift.min_instances), "--requests": "/requests", "--detectors": "/detectors"}
    for key, value in want.items():
        if args.get(key) != value:
            wrong.append(f"{key}={args.get(key)} where model.yaml says {value}")
    if cron["spec"]["schedule"] != drift.schedule:
        wrong.append(f"schedule {cron['spec']['schedule']!r} where spec.drift.schedule is {drift.schedule!r}")
    for name in ("--prometheus", "--pushgateway"):
        if not args.get(name, "").startswith("http://"):
            wrong.append(f"{name} is not an http:// URL: {args.get(name)}")
    inits = {c["name"]: c for c in pod["initContainers"]}
    if inits["fetch-detectors"]["args"] != [f"{store.uri}/{model}/drift", "/detectors"]:
        wrong.append(f"fetch-detectors reads {inits['fetch-detectors']['args']}, not {store.uri}/{model}/drift")
    requests = inits["fetch-requests"]["args"]
    if requests[-2:] != [f"{store.uri}/{model}/requests", "/requests"]:
        wrong.append(f"fetch-requests reads {requests}, not {store.uri}/{model}/requests")
    hourly = re.fullmatch(r"\d{1,2} \* \* \* \*", drift.schedule)
    if hourly and requests[:2] != ["--max-age", "1h"]:
        wrong.append(f"an hourly check fetches {requests[:2]}, not the last hour (--max-age 1h)")
    for container in inits.values():
        secrets = [e["secretRef"]["name"] for e in container.get("envFrom", [])]
        if secrets != [store.secret_name]:
            wrong.append(f"{container['name']} reads the Secret {secrets}, not modelStore.secretName {store.secret_name}")
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    if docs["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() - labels.items():
        wrong.append("the NetworkPolicy selects no drift pod")
    return wrong


@pytest.mark.parametrize("model", DRIFT_MODELS)
def test_the_cronjob_is_what_model_yaml_and_shipyard_yaml_say(model: str) -> None:
    assert "drift.yaml" in yaml.safe_load((ROOT / "models" / model / "monitoring" / "kustomization.yaml")
                                          .read_text())["resources"]
    assert disagreements(REPO, model) == []


def test_a_disagreement_is_found(tmp_path: Path) -> None:
    """The check above can fail: minInstances changed in model.yaml only."""
    copy = tmp_path / "repo"
    (copy / "models").mkdir(parents=True)
    shutil.copy(ROOT / "shipyard.yaml", copy / "shipyard.yaml")
    shutil.copytree(ROOT / "models" / "iris", copy / "models" / "iris")
    for env in REPO.model_environments():
        for rel in ("kustomization.yaml", "models/kustomization.yaml"):
            (copy / "overlays" / env / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "overlays" / env / rel, copy / "overlays" / env / rel)
    model_yaml = copy / "models" / "iris" / "model.yaml"
    model_yaml.write_text(model_yaml.read_text().replace("minInstances: 100", "minInstances: 250")
                          .replace('schedule: "0 * * * *"', 'schedule: "*/30 * * * *"'))
    found = disagreements(Repository.load(copy), "iris")
    assert "--min-instances=100 where model.yaml says 250" in found
    assert "schedule '0 * * * *' where spec.drift.schedule is '*/30 * * * *'" in found


def _drift_rules(model: str) -> dict[str, dict[str, Any]]:
    rule = yaml.safe_load((ROOT / "models" / model / "monitoring" / "prometheusrule.yaml").read_text())
    return {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]
            if "alert" in r and "shipyard_drift_" in r["expr"]}


@pytest.mark.parametrize("model", DRIFT_MODELS)
def test_the_alerts_select_what_the_check_pushes(model: str) -> None:
    rules = _drift_rules(model)
    prefix = "".join(part.capitalize() for part in model.split("-"))
    assert {f"{prefix}DataDrift", f"{prefix}DriftCheckStale", f"{prefix}DriftCheckMissing",
            f"{prefix}DriftRequestsNotLogged"} <= set(rules)
    pushed = drift_metrics.series()
    for name, rule in rules.items():
        parsed = parse(rule["expr"])
        for selector in parsed.selectors:
            metric = selector.metric or ""
            if metric.startswith("seldon_"):
                carried = frozenset(sm.EXECUTOR.series()[metric]) | frozenset(sm.TARGET_LABELS)
            else:
                assert metric in pushed, f"{name}: {metric} is not what job.py writes"
                carried = frozenset(pushed[metric]) | PUSHED_LABELS
                assert any(m.name == "model" and m.value == model for m in selector.matchers), f"{name}: {metric}"
            for matcher in selector.matchers:
                assert matcher.name in carried, f"{name}: {metric} has no label {matcher.name}"
    drift = load_model(REPO, model).drift
    assert drift is not None
    assert f"< {drift.min_instances}" in rules[f"{prefix}DriftRequestsNotLogged"]["expr"]
    assert f"p-value {drift.p_value:g}" in rules[f"{prefix}DataDrift"]["annotations"]["description"]


@pytest.mark.parametrize("model", DRIFT_MODELS)
def test_the_runbook_is_a_workflow_that_starts_the_model_s_pipeline(model: str) -> None:
    prefix = "".join(part.capitalize() for part in model.split("-"))
    runbook = _drift_rules(model)[f"{prefix}DataDrift"]["annotations"]["runbook"]
    path = runbook.split()[0]
    assert path == ".github/workflows/retrain.yml" and f"model: {model}" in runbook
    workflow = yaml.safe_load((ROOT / path).read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "model" in triggers["workflow_dispatch"]["inputs"]
    assert triggers["repository_dispatch"]["types"] == ["retrain"]
    steps = " ".join(s.get("run", "") for s in workflow["jobs"]["retrain"]["steps"])
    assert 'shipyard pipeline run "$MODEL" --version "$NEW_VERSION"' in steps
    assert (ROOT / "pipelines" / model / "pipeline.py").is_file()
