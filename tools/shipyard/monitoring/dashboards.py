"""A Grafana dashboard per model, generated from its model.yaml.

Written by hand, a dashboard drifts from what the model emits: a renamed
label, a second predictor, a drift check added later. Generated, it says
what the alerts say, with the same metrics: the executor's request metrics
(shipyard.monitoring.seldon_metrics) by predictor and version, so a canary
and the stable predictor sit side by side, and, when model.yaml declares
spec.drift, the drift check's metrics (shipyard.drift.metrics).

Each dashboard is a ConfigMap in the convention of kube-prometheus-stack's
Grafana sidecar (label ``grafana_dashboard: "1"``, the JSON under
``data.<model>.json``; the chart's values.yaml grafana.sidecar.dashboards
label/labelValue, and searchNamespace: ALL since 45.12, so the ConfigMap
can live in the model's namespace), written to models/<model>/monitoring/dashboard.yaml,
which the monitoring kustomization lists. ``shipyard dashboards`` rewrites
them; ``--check`` (and a test) fails while a committed one is stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.files import atomic_write
from shipyard.models.spec import Model, load_model, require_model_name
from shipyard.repo import Repository

SCHEMA_VERSION = 39  # Grafana 10.4-11 dashboard JSON (kube-prometheus-stack's Grafana)
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
FILE_NAME = "dashboard.yaml"
SIDECAR_LABEL = ("grafana_dashboard", "1")  # kube-prometheus-stack grafana.sidecar.dashboards.label/labelValue
FOLDER_ANNOTATION = ("grafana_folder", "Shipyard models")  # read when sidecar.dashboards.folderAnnotation is set
WINDOW = "5m"
ERROR_CODES = 'code!~"2..|OK"'  # not a success of its transport: REST "200", gRPC "OK" (docs/monitoring.md)
BY_PREDICTOR = "predictor_name, predictor_version"
LEGEND = "{{predictor_name}} ({{predictor_version}})"


@dataclass(frozen=True)
class Target:
    """One query of a panel."""

    expr: str
    legend: str


def _selector(model: Model) -> str:
    namespace = model.namespace or "models"
    return f'deployment_name="{model.name}", namespace="{namespace}"'


def _requests(model: Model) -> str:
    return f"seldon_api_executor_server_requests_seconds_count{{{_selector(model)}}}"


def _quantile(model: Model, q: float, *, by: str = BY_PREDICTOR, where: str = "") -> str:
    buckets = f"seldon_api_executor_server_requests_seconds_bucket{{{_selector(model)}{where}}}"
    grouping = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({grouping}) (rate({buckets}[{WINDOW}])))"


def _serving_panels(model: Model) -> list[tuple[str, str, str, list[Target]]]:
    """(title, description, unit, targets) of the executor panels."""
    requests = _requests(model)
    errors = f"seldon_api_executor_server_requests_seconds_count{{{_selector(model)}, {ERROR_CODES}}}"
    rate = f"sum by ({BY_PREDICTOR}) (rate({requests}[{WINDOW}]))"
    canary_p95 = _quantile(model, 0.95, by="", where=', predictor_name="canary"')
    stable_p95 = _quantile(model, 0.95, by="", where=', predictor_name!="canary"')
    return [
        ("Requests per second", "Requests the executor served, by predictor and version.", "reqps",
         [Target(rate, LEGEND)]),
        ("Error ratio", "Share of requests that were not a success of their transport (REST 2xx, gRPC OK).",
         "percentunit",
         [Target(f"sum by ({BY_PREDICTOR}) (rate({errors}[{WINDOW}])) / {rate}", LEGEND)]),
        ("Latency p50", "Median request duration, by predictor and version.", "s",
         [Target(_quantile(model, 0.5), LEGEND)]),
        ("Latency p95", "95th percentile request duration, by predictor and version (IrisHighLatency-style alerts "
         "fire above 500 ms).", "s",
         [Target(_quantile(model, 0.95), LEGEND)]),
        ("Traffic share: canary vs stable", "Each predictor's share of all requests: the canary's weight as served.",
         "percentunit",
         [Target(f"{rate} / scalar(sum(rate({requests}[{WINDOW}])))", LEGEND)]),
        ("p95 latency: canary minus stable", "Positive: the canary is slower than the stable predictor.", "s",
         [Target(f"{canary_p95} - {stable_p95}", "canary - stable")]),
    ]


def _drift_panels(model: Model) -> list[tuple[str, str, str, list[Target]]]:
    drift = model.drift
    if drift is None:
        return []
    where = f'model="{model.name}", deployment_name="{model.name}"'
    return [
        ("Drift p-value by feature",
         f"{drift.detector} p-value of each feature of the last hour's requests against the version's training "
         f"data; below the threshold ({drift.p_value:g} / features, Bonferroni) the feature drifted.", "none",
         [Target(f"shipyard_drift_p_value{{{where}}}", "{{predictor_name}} ({{predictor_version}}) {{feature}}"),
          Target(f"shipyard_drift_threshold{{{where}}}", "threshold {{predictor_name}} ({{predictor_version}})")]),
        ("Drift detected", "1: the last check found the requests unlike the training data (the DataDrift alert).",
         "none",
         [Target(f"max by ({BY_PREDICTOR}) (shipyard_drift_detected{{{where}}})", LEGEND)]),
        ("Instances judged by the last drift check", f"Fewer than {drift.min_instances} give no verdict.", "none",
         [Target(f"max by ({BY_PREDICTOR}) (shipyard_drift_instances{{{where}}})", LEGEND)]),
        ("Time since the last drift check", f"The check runs on schedule {drift.schedule!r}.", "s",
         [Target(f"time() - max by ({BY_PREDICTOR}) (shipyard_drift_last_run_timestamp_seconds{{{where}}})",
                 LEGEND)]),
    ]


def _panel(panel_id: int, title: str, description: str, unit: str, targets: list[Target], x: int, y: int,
           *, stat: bool = False) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "stat" if stat else "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
        if not stat else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "targets": [{"datasource": DATASOURCE, "refId": chr(ord("A") + i), "expr": t.expr, "legendFormat": t.legend,
                     "range": True} for i, t in enumerate(targets)],
    }


def _row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {"id": panel_id, "type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}}


def dashboard(model: Model) -> dict[str, Any]:
    """The Grafana dashboard JSON of ``model``."""
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for title, section in (("Serving (seldon executor)", _serving_panels(model)), ("Data drift", _drift_panels(model))):
        if not section:
            continue
        panels.append(_row(next_id, title, y))
        next_id += 1
        y += 1
        for index, (name, description, unit, targets) in enumerate(section):
            panels.append(_panel(next_id, name, description, unit, targets, x=12 * (index % 2), y=y + 8 * (index // 2),
                                 stat=name == "Drift detected"))
            next_id += 1
        y += 8 * ((len(section) + 1) // 2)
    return {
        "uid": f"shipyard-{model.name}"[:40],
        "title": f"Model {model.name}",
        "description": f"Generated by `shipyard dashboards` from {model.rel}: do not edit by hand.",
        "tags": ["shipyard", "seldon", model.name],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": {"list": [{
            "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "options": [],
        }]},
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def dashboard_text(model: Model) -> str:
    """dashboard.yaml of ``model``: the ConfigMap the Grafana sidecar loads."""
    body = json.dumps(dashboard(model), indent=2, ensure_ascii=False)
    indented = "\n".join(("    " + line) if line else "" for line in body.splitlines())
    return (
        f"# The Grafana dashboard of {model.name}, generated from {model.rel} by\n"
        "# `shipyard dashboards` (do not edit: a test fails while it is stale).\n"
        "# kube-prometheus-stack's Grafana sidecar loads every ConfigMap labelled\n"
        "# grafana_dashboard: \"1\" in the namespaces grafana.sidecar.dashboards.searchNamespace\n"
        "# names: ALL by default since chart 45.12, so this one in the model's namespace too.\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        f"  name: {model.name}-dashboard\n"
        "  labels:\n"
        f"    {SIDECAR_LABEL[0]}: \"{SIDECAR_LABEL[1]}\"\n"
        f"    app.kubernetes.io/name: {model.name}\n"
        "    app.kubernetes.io/part-of: shipyard-models\n"
        "  annotations:\n"
        f"    {FOLDER_ANNOTATION[0]}: {FOLDER_ANNOTATION[1]}\n"
        "data:\n"
        f"  {model.name}.json: |-\n"
        f"{indented}\n"
    )


def dashboard_path(repo: Repository, model: str) -> Path:
    return repo.root / "models" / model / "monitoring" / FILE_NAME


def monitored_models(repo: Repository) -> list[str]:
    """Models with a monitoring folder: those that get a dashboard."""
    return [m for m in repo.models() if (repo.root / "models" / m / "monitoring" / "kustomization.yaml").is_file()]


@dataclass(frozen=True)
class DashboardState:
    model: str
    path: Path
    current: bool


def check_dashboards(repo: Repository, models: list[str] | None = None) -> list[DashboardState]:
    """Whether each model's committed dashboard.yaml is what model.yaml generates."""
    states = []
    for name in models or monitored_models(repo):
        require_model_name(repo, name)
        path = dashboard_path(repo, name)
        if not path.parent.is_dir():
            raise ShipyardError(f"model {name!r} has no monitoring folder", file=str(path.parent),
                                hint="a dashboard goes to models/<model>/monitoring/ (shipyard new model writes it)")
        want = dashboard_text(load_model(repo, name))
        have = path.read_text(encoding="utf-8") if path.is_file() else None
        states.append(DashboardState(name, path, have == want))
    return states


def write_dashboards(repo: Repository, models: list[str] | None = None) -> list[DashboardState]:
    """Regenerate each model's dashboard.yaml; returns which ones changed (current=False before)."""
    states = check_dashboards(repo, models)
    for state in states:
        if not state.current:
            atomic_write(state.path, dashboard_text(load_model(repo, state.model)))
    return states


def queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard."""
    return [t["expr"] for p in board.get("panels", []) for t in p.get("targets", [])]
