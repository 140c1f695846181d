"""Scaffold a cluster or a model in the repository's own shapes. It writes
files only (review them, then commit); --commit makes a branch and a
commit for a pull request. Nothing that exists is ever overwritten.

Examples:
  shipyard new cluster edge-eu --environment production --gpus 8
  shipyard new cluster lab --environment dev --engines flux
  shipyard new model churn --server XGBOOST_SERVER --owner ml@example.com
  shipyard new model ranker --image registry.example.com/ranker:2.1.0 --gpus 1
  shipyard new model churn --server XGBOOST_SERVER --protocol v2 \\
      --gpus staging=1,production=1
  shipyard new model churn --server SKLEARN_SERVER --dry-run   # print only
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Callable

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.cli.scaffold_options import dry_run_argument, print_dry_run
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan
from shipyard.repo import ENGINES, Repository
from shipyard.scaffold.cluster import parse_engines, plan_new_cluster
from shipyard.scaffold.model import plan_new_model, servers

NAME = "new"
HELP = "scaffold a new cluster or model (writes files; --commit for a branch and a commit)"

CLUSTER_HELP = """\
Write clusters/NAME/cluster.yaml and its entry points (argocd/: AppProjects,
the root app of apps and one Application per step; flux/: the GitRepository
and the Kustomizations platform -> charts -> models), pointing at
clusters/NAME and at overlays/ENV. Istio, the AppProject's chart sources
and its namespaces come from the environment's charts and overlay.

Examples:
  shipyard new cluster edge-eu --environment production --gpus 8
  shipyard new cluster lab --environment dev --engines flux
"""

MODEL_HELP = f"""\
Write models/NAME/model.yaml (no version registered yet), deploy/ (the
SeldonDeployment) and monitoring/ (PodMonitor, alerts), shaped like
models/iris. The overlays are not touched: `shipyard promote` adds the model
to an environment when it first pins a registered version there.

Servers: {textwrap.fill(', '.join(servers()), 76, subsequent_indent='  ')}

Examples:
  shipyard new model churn --server XGBOOST_SERVER --owner ml@example.com
  shipyard new model ranker --image registry.example.com/ranker:2.1.0 \\
      --protocol v2 --gpus 1
  shipyard new model churn --server XGBOOST_SERVER --protocol v2 \\
      --gpus staging=1,production=1          # CPU in dev, a GPU elsewhere
then:
  shipyard register churn --version 1.0.0 --uri gs://bucket/churn/1.0.0 \\
      --metrics metrics.json
  shipyard promote churn --to dev
"""


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _gpus(text: str) -> int | dict[str, int]:
    """--gpus of a model: N for every environment, or ENV=N[,ENV=N...] (the others 0)."""
    if "=" not in text:
        return _count(text)
    counts: dict[str, int] = {}
    for part in text.split(","):
        env, sep, number = part.partition("=")
        env = env.strip()
        if not sep or not env:
            raise argparse.ArgumentTypeError(f"{part!r} is not ENV=N (e.g. staging=1,production=1)")
        if env in counts:
            raise argparse.ArgumentTypeError(f"{env} is named twice")
        counts[env] = _count(number.strip())
    return counts


def _engines(text: str) -> tuple[str, ...]:
    try:
        return parse_engines(text)
    except ShipyardError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)

    cluster = sub.add_parser("cluster", help="a cluster: cluster.yaml and its Argo CD and Flux entry points",
                             description=CLUSTER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    cluster.add_argument("name", metavar="NAME", help="the cluster's name (a DNS label; its folder under clusters/)")
    cluster.add_argument("--environment", required=True, metavar="ENV", help="the environment it runs (overlays/ENV)")
    cluster.add_argument("--kubernetes-version", metavar="V",
                         help="e.g. 1.34 (default: what the environment's clusters run, else shipyard.yaml's default)")
    cluster.add_argument("--gpus", type=_count, default=0, metavar="N",
                         help="nvidia.com/gpu schedulable on the whole cluster (default 0)")
    cluster.add_argument("--engines", type=_engines, default=ENGINES, metavar="LIST",
                         help=f"comma-separated, of {', '.join(ENGINES)} (default: both)")
    dry_run_argument(cluster)
    add_change_arguments(cluster, commit_by_default=False)
    cluster.set_defaults(_plan=_cluster_plan)

    model = sub.add_parser("model", help="a model: model.yaml, deploy/ and monitoring/, no version yet",
                           description=MODEL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    model.add_argument("name", metavar="NAME", help="the model's name (a DNS label; its folder and SeldonDeployment)")
    served = model.add_mutually_exclusive_group(required=True)
    served.add_argument("--server", metavar="SERVER", help="a Seldon Core 1.17 prepackaged server (listed above)")
    served.add_argument("--image", metavar="IMAGE", help="a custom server image, pinned by tag or digest")
    model.add_argument("--protocol", metavar="PROTOCOL",
                       help="seldon, v2 or tensorflow (default: v2 for TRITON/HUGGINGFACE/TEMPO, else seldon)")
    model.add_argument("--gpus", type=_gpus, default=0, metavar="N|ENV=N,...",
                       help="nvidia.com/gpu per replica: N everywhere, or per environment, e.g. "
                            "staging=1,production=1 (the others 0; default 0)")
    model.add_argument("--owner", metavar="TEAM-OR-EMAIL",
                       help="who answers for the model (default: git config user.email)")
    model.add_argument("--description", metavar="TEXT", help="one line on what the model does")
    dry_run_argument(model)
    add_change_arguments(model, commit_by_default=False)
    model.set_defaults(_plan=_model_plan)


def _cluster_plan(args: argparse.Namespace) -> Callable[[Repository], Plan]:
    return lambda repo: plan_new_cluster(repo, args.name, args.environment, kubernetes_version=args.kubernetes_version,
                                         gpus=args.gpus, engines=args.engines)


def _model_plan(args: argparse.Namespace) -> Callable[[Repository], Plan]:
    return lambda repo: plan_new_model(repo, args.name, server=args.server, image=args.image, gpus=args.gpus,
                                       owner=args.owner, protocol=args.protocol, description=args.description)


def run(args: argparse.Namespace) -> int:
    make = args._plan(args)
    if args.dry_run:
        return print_dry_run(args, make)
    return run_change(args, make)
