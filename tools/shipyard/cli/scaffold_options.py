"""What the scaffolding commands (`init`, `new cluster`, `new model`) share
beyond the options of every changing command: --dry-run, which plans the
change and prints it without taking the lock or writing anything."""

from __future__ import annotations

import argparse
import json
from typing import Callable

from shipyard.cli.change_options import repository
from shipyard.lifecycle.plan import Plan
from shipyard.repo import Repository
from shipyard.scaffold.common import preview, preview_dict


def dry_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="print the files the command would write (new ones whole, changed ones as a diff) "
                        "and write nothing")


def print_dry_run(args: argparse.Namespace, make_plan: Callable[[Repository], Plan]) -> int:
    """Plan as the command would, print it, touch nothing: no lock, no
    branch, no file. The same refusals apply, so a dry run that succeeds
    is the change the real run makes."""
    repo = repository(args)
    plan = make_plan(repo)
    if args.format == "json":
        print(json.dumps(preview_dict(repo, plan), indent=2))
    else:
        print(preview(repo, plan), end="")
    return 0
