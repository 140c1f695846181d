"""Return a model in one environment to the version pinned there before the
current one, found in the git history of its pin, as a pull request."""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.lifecycle.rollback import plan_rollback

NAME = "rollback"
HELP = "return a model in an environment to its previous version"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model (a folder under models/)")
    parser.add_argument("--env", required=True, help="the environment to roll back")
    add_change_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_change(args, lambda repo: plan_rollback(repo, args.model, args.env))
