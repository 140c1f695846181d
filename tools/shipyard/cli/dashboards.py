"""Generate each model's Grafana dashboard from its model.yaml.

Writes models/<model>/monitoring/dashboard.yaml: a ConfigMap that
kube-prometheus-stack's Grafana sidecar loads (label grafana_dashboard: "1",
the JSON under data.<model>.json), with requests, errors, latency p50/p95 by
predictor and version, canary against stable, and data drift when model.yaml
declares spec.drift. The model's monitoring kustomization lists the file.
With --check nothing is written: exit 1 names every stale dashboard (CI).

Examples:
  shipyard dashboards              regenerate every model's dashboard
  shipyard dashboards iris         only iris
  shipyard dashboards --check      fail while a committed dashboard is stale
"""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_repo_argument
from shipyard.monitoring.dashboards import check_dashboards, write_dashboards
from shipyard.repo import Repository

NAME = "dashboards"
HELP = "generate each model's Grafana dashboard (models/<m>/monitoring/dashboard.yaml) from model.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="models to generate (default: every monitored model)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a dashboard is stale")
    add_repo_argument(parser)


def run(args: argparse.Namespace) -> int:
    repo = Repository.find(args.repo)
    models = list(args.models) or None
    if args.check:
        stale = [s for s in check_dashboards(repo, models) if not s.current]
        for state in stale:
            print(f"{state.path.relative_to(repo.root)}: stale or missing; run `shipyard dashboards {state.model}`")
        if not stale:
            print("every dashboard is up to date")
        return 1 if stale else 0
    for state in write_dashboards(repo, models):
        rel = state.path.relative_to(repo.root)
        print(f"{rel}: {'up to date' if state.current else 'written'}")
    return 0
