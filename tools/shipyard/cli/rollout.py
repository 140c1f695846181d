"""Finish a canary (its version becomes the stable one and takes all
traffic) or abort it (the canary predictor is removed), as a pull request."""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.lifecycle.rollout import plan_rollout

NAME = "rollout"
HELP = "finish or abort a running canary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model (a folder under models/)")
    parser.add_argument("--env", required=True, help="the environment the canary runs in")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--finish", action="store_true", help="the canary version becomes the stable one")
    what.add_argument("--abort", action="store_true", help="remove the canary; the stable version keeps all traffic")
    add_change_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return run_change(args, lambda repo: plan_rollout(repo, args.model, args.env, finish=args.finish))
