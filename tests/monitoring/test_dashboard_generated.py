"""Every model's Grafana dashboard is generated, current, loadable and true.

- current: models/<m>/monitoring/dashboard.yaml is what model.yaml generates
  (`shipyard dashboards --check` fails otherwise, and says what to run);
- loadable: the ConfigMap carries the Grafana sidecar's label and the JSON
  under data.<model>.json; the JSON has a schemaVersion, panels with unique
  ids and a gridPos inside the 24-column grid that no two panels share, a
  datasource and targets with unique refIds;
- true: every query parses (promql-parser), the real promtool accepts it
  (as a recording rule in `promtool check rules`), and it selects only
  metrics and labels that are emitted: the seldon-core 1.17.1 executor's
  (shipyard.monitoring.seldon_metrics) and the drift check's
  (shipyard.drift.metrics), with no by-clause naming a label its series
  cannot carry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.drift import metrics as drift_metrics
from shipyard.models.spec import load_model
from shipyard.monitoring import seldon_metrics as sm
from shipyard.monitoring.dashboards import check_dashboards, dashboard, monitored_models, queries
from shipyard.monitoring.promql import Selector, grouping_problems, parse
from shipyard.monitoring.promtool import Promtool, RuleFile, check_rules
from shipyard.repo import Repository

ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(ROOT / ".venv" / "bin" / "shipyard")
REPO = Repository.load(ROOT)
MODELS = monitored_models(REPO)


def _configmap(model: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "models" / model / "monitoring" / "dashboard.yaml").read_text()))


def _board(model: str) -> dict[str, Any]:
    return dict(json.loads(_configmap(model)["data"][f"{model}.json"]))


def test_every_monitored_model_has_a_current_dashboard() -> None:
    assert set(MODELS) >= {"iris", "tabular-xgb"}
    stale = [s.model for s in check_dashboards(REPO) if not s.current]
    assert not stale, f"stale dashboards: {stale}; run `shipyard dashboards`"
    for model in MODELS:
        kustomization = yaml.safe_load((ROOT / "models" / model / "monitoring" / "kustomization.yaml").read_text())
        assert "dashboard.yaml" in kustomization["resources"], f"{model}: monitoring/kustomization.yaml does not list it"


def test_check_fails_on_a_stale_dashboard_and_regeneration_fixes_it(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv*", ".git", "node_modules", "__pycache__"))
    model_yaml = copy / "models" / "iris" / "model.yaml"
    model_yaml.write_text(model_yaml.read_text().replace("minInstances: 100", "minInstances: 250"))
    done = subprocess.run([SHIPYARD, "dashboards", "--check", "--repo", str(copy)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "models/iris/monitoring/dashboard.yaml: stale or missing; run `shipyard dashboards iris`" in done.stdout
    assert "tabular-xgb" not in done.stdout
    done = subprocess.run([SHIPYARD, "dashboards", "--repo", str(copy)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "models/iris/monitoring/dashboard.yaml: written" in done.stdout
    assert "Fewer than 250 give no verdict." in (copy / "models" / "iris" / "monitoring" / "dashboard.yaml").read_text()
    done = subprocess.run([SHIPYARD, "dashboards", "--check", "--repo", str(copy)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("model", MODELS)
def test_the_configmap_follows_the_grafana_sidecar_convention(model: str) -> None:
    cm = _configmap(model)
    assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert list(cm["data"]) == [f"{model}.json"]
    assert _board(model) == dashboard(load_model(REPO, model))


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.mark.parametrize("model", MODELS)
def test_the_dashboard_is_valid_grafana_json(model: str) -> None:
    board = _board(model)
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["uid"] and len(board["uid"]) <= 40 and board["title"]
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    for panel in panels:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), panel["title"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"] and target["expr"].strip()
    for i, a in enumerate(panels):
        for b in panels[i + 1:]:
            assert not _overlap(a["gridPos"], b["gridPos"]), (a["title"], b["title"])
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"


def test_what_the_dashboards_show() -> None:
    iris = _board("iris")
    titles = [p["title"] for p in iris["panels"]]
    for wanted in ("Requests per second", "Error ratio", "Latency p50", "Latency p95",
                   "Traffic share: canary vs stable", "Drift p-value by feature", "Drift detected"):
        assert wanted in titles
    exprs = queries(iris)
    assert any('code!~"2..|OK"' in e for e in exprs)  # an error is what the alerts call one
    assert any("histogram_quantile(0.5," in e for e in exprs) and any("histogram_quantile(0.95," in e for e in exprs)
    # no spec.drift, no drift panels
    assert not [p for p in _board("tabular-xgb")["panels"] if "rift" in p["title"]]


EMITTED = {**sm.EXECUTOR.series(), **drift_metrics.series()}


def _labels_of(selector: Selector) -> frozenset[str] | None:
    labels = EMITTED.get(selector.metric or "")
    return None if labels is None else frozenset(labels) | frozenset(sm.TARGET_LABELS)


@pytest.mark.parametrize("model", MODELS)
def test_every_query_selects_what_is_emitted(model: str) -> None:
    for expr in queries(_board(model)):
        parsed = parse(expr)
        assert parsed.selectors, expr
        for selector in parsed.selectors:
            assert selector.metric in EMITTED, f"{selector.metric} is not emitted: {expr}"
            carried = _labels_of(selector)
            assert carried is not None
            for matcher in selector.matchers:
                assert matcher.name in carried, f"{selector.metric} has no label {matcher.name}: {expr}"
                if matcher.op == "=" and selector.metric.startswith("seldon_"):
                    emitted = sm.value_emitted(matcher.name, matcher.value)
                    assert emitted is not False, f"the executor never writes {matcher}: {expr}"
            assert any(m.name == "deployment_name" and m.value == model for m in selector.matchers), expr
        assert not grouping_problems(parsed, _labels_of), expr


@pytest.mark.parametrize("model", MODELS)
def test_promtool_accepts_every_query(model: str, promtool: Promtool) -> None:
    rules = [{"record": f"dashboard:{model.replace('-', '_')}:panel_{p['id']}_{t['refId']}", "expr": t["expr"]}
             for p in _board(model)["panels"] for t in p.get("targets", [])]
    (errors,) = check_rules([RuleFile([{"name": f"{model}-dashboard", "rules": rules}])])
    assert errors == []


def test_promtool_check_refuses_a_broken_query(promtool: Promtool) -> None:
    """The check above can fail: a query with a bad range is refused."""
    (errors,) = check_rules([RuleFile([{"name": "broken", "rules": [
        {"record": "dashboard:broken", "expr": "rate(seldon_api_executor_server_requests_seconds_count[5x])"}]}])])
    assert errors
