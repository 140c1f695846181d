"""Move a model version to an environment, optionally as a canary, as a
branch and a commit with a pull request title and body.

Examples:
  shipyard promote iris --to staging                  # the version dev runs
  shipyard promote iris --to production --from staging
  shipyard promote iris --to production --version 1.1.0 --canary 10
  shipyard promote iris --to dev --accept-regression --reason "new features"
"""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.lifecycle.promote import plan_promote

NAME = "promote"
HELP = "pin a model version in an environment (or start a canary), as a pull request"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model (a folder under models/)")
    parser.add_argument("--to", required=True, metavar="ENV", help="the environment to promote to")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="the registered version to promote")
    which.add_argument("--from", dest="from_env", metavar="ENV", help="promote the version pinned in ENV")
    parser.add_argument("--canary", type=int, metavar="PERCENT",
                        help="run it beside the stable version with PERCENT%% of traffic (needs Istio)")
    parser.add_argument("--force", action="store_true", help="skip the promotion order / Istio rule (needs --reason)")
    parser.add_argument("--accept-regression", action="store_true",
                        help="promote although the version is worse than the one the environment runs now on a "
                        "metric model.yaml compares (spec.compare; needs --reason)")
    parser.add_argument("--reason", help="why --force or --accept-regression is needed; recorded in the commit and "
                        "pull request")
    add_change_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_change(args, lambda repo: plan_promote(
        repo, args.model, args.to, version=args.version, from_env=args.from_env, canary=args.canary,
        force=args.force, accept_regression=args.accept_regression, reason=args.reason))
