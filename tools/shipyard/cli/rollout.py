"""Finish a canary (its version becomes the stable one and takes all
traffic) or abort it (the canary predictor is removed), as a pull request;
or analyze it against the stable version on Prometheus and let the figures
decide: the next traffic step, finish, abort, or wait (exit code 75,
nothing written)."""

from __future__ import annotations

import argparse
import json
import sys

from shipyard import ids
from shipyard.cli.change_options import add_change_arguments, repository, run_change
from shipyard.errors import ShipyardError
from shipyard.lifecycle.analysis import table
from shipyard.lifecycle.rollout import Analyzed, analyze, plan_analyzed, plan_rollout
from shipyard.monitoring.prometheus import prometheus_url, query_number

NAME = "rollout"
HELP = "finish, abort or analyze a running canary"
WAIT_EXIT = 75  # EX_TEMPFAIL: too little traffic or no data yet; try again later


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model (a folder under models/)")
    parser.add_argument("--env", required=True, help="the environment the canary runs in")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--finish", action="store_true", help="the canary version becomes the stable one")
    what.add_argument("--abort", action="store_true", help="remove the canary; the stable version keeps all traffic")
    what.add_argument("--analyze", action="store_true",
                      help="compare the canary with the stable version on Prometheus (model.yaml spec.analysis) and "
                           "step its traffic, finish or abort it; exit 75 when it must wait for more traffic")
    parser.add_argument("--prometheus-url", metavar="URL",
                        help="Prometheus' base URL (default: SHIPYARD_PROMETHEUS_URL, then shipyard.yaml "
                             "prometheus.environments.ENV, then prometheus.url)")
    add_change_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if not args.analyze:
        if args.prometheus_url:
            raise ShipyardError("--prometheus-url goes with --analyze", check=ids.USAGE)
        return run_change(args, lambda repo: plan_rollout(repo, args.model, args.env, finish=args.finish))
    repo = repository(args)
    url = prometheus_url(repo, args.prometheus_url, args.env)
    analyzed = analyze(repo, args.model, args.env, lambda expr: query_number(url, expr), source=url)
    if analyzed.decision.action == "wait":
        _print_wait(analyzed, args.format)
        return WAIT_EXIT
    print(f"canary analysis of {args.model} in {args.env}: {analyzed.decision.action} ({analyzed.decision.reason})",
          file=sys.stderr)
    return run_change(args, lambda repo: plan_analyzed(repo, analyzed))


def _print_wait(analyzed: Analyzed, fmt: str) -> None:
    decision = analyzed.decision
    if fmt == "json":
        print(json.dumps({"action": "wait", "model": analyzed.model, "environment": analyzed.environment,
                          "reason": decision.reason, "changed": [], "figures": table(decision)}, indent=2))
        return
    print(f"wait: {decision.reason}; nothing written")
    print()
    print(table(decision), end="")
