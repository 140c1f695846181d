"""Run the end-to-end suite on a kind cluster, or print its apply order.

`shipyard e2e --plan` renders a cluster entry point (default
clusters/kind-e2e, Flux) and prints the order in which it installs: namespaces
and CRDs, operators, then models, with the reason for every wait. Without
--plan it checks that Docker, kind, the node image and pytest-kind are there
(and says which are not), then runs tests/e2e with pytest: create the
cluster, apply the plan step by step, predict, promote a canary, predict on
both predictors; the cluster is deleted unless --keep-cluster.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

from shipyard.e2e.pins import node_image_for
from shipyard.e2e.plan import DEFAULT_CLUSTER, choose_engine, format_plan, plan_as_json, plan_for
from shipyard.e2e.preflight import missing_requirements, summary
from shipyard.errors import ShipyardError, ToolMissing
from shipyard.repo import Repository

NAME = "e2e"
HELP = "run the kind end-to-end suite, or print the apply order (--plan)"
DEFAULT_LOGS = ".shipyard-cache/e2e"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plan", action="store_true", help="print the apply order and exit (no cluster needed)")
    parser.add_argument("--cluster", default=DEFAULT_CLUSTER, help=f"cluster folder under clusters/ (default {DEFAULT_CLUSTER})")
    parser.add_argument("--engine", choices=["flux", "argocd"], help="entry point to follow (default: flux when the cluster has it)")
    parser.add_argument("--json", action="store_true", help="with --plan: print the plan as JSON")
    parser.add_argument("--brief", action="store_true", help="with --plan: steps only, without their objects")
    parser.add_argument("--keep-cluster", action="store_true", help="do not delete the kind cluster afterwards (re-used by the next run)")
    parser.add_argument("--logs", metavar="DIR", help=f"step manifests and failure diagnostics (default {DEFAULT_LOGS})")
    parser.add_argument("--repo", metavar="DIR", help="repository root (default: found from the current folder)")
    parser.add_argument("--no-cache", action="store_true", help="render again, ignoring the render cache")


def run(args: argparse.Namespace) -> int:
    repo = Repository.find(Path(args.repo) if args.repo else None)
    if args.plan:
        plan = plan_for(repo, args.cluster, args.engine, use_cache=not args.no_cache)
        sys.stdout.write(plan_as_json(plan) if args.json else format_plan(plan, objects=not args.brief))
        return 0
    return run_suite(repo, args)


def run_suite(repo: Repository, args: argparse.Namespace) -> int:
    cluster = repo.cluster(args.cluster)
    engine = choose_engine(cluster, args.engine)
    image = node_image_for(cluster.kubernetes_version, file=f"clusters/{cluster.name}/cluster.yaml")
    suite = repo.root / "tests" / "e2e"
    if not suite.is_dir():
        raise ShipyardError(f"{repo.rel(suite)} does not exist", hint="the kind suite lives in tests/e2e", check="SY900")
    if importlib.util.find_spec("pytest") is None:
        raise ToolMissing("pytest is not installed in this Python", hint="run `make setup` (installs the test extras)", check="SY901")
    missing = missing_requirements(image)
    if missing:
        raise ToolMissing(summary(missing), hint="see docs/e2e.md for running the suite on a laptop", check="SY901")
    logs = Path(args.logs) if args.logs else repo.root / DEFAULT_LOGS
    cmd = [sys.executable, "-m", "pytest", str(suite), "-m", "e2e", "-rs", "-v",
           f"--e2e-cluster={cluster.name}", f"--e2e-engine={engine}", f"--e2e-logs={logs.resolve()}"]
    if args.keep_cluster:
        cmd.append("--keep-cluster")
    print("$ " + " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=repo.root).returncode
    if code == 5:
        print("error [SY900]: pytest collected no e2e test", file=sys.stderr)
        return 2
    return code
