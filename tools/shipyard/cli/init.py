"""Point a fork at itself: the repository URL (and branch) in shipyard.yaml,
every Argo CD Application source and AppProject on this repository, and
every Flux GitRepository, as one branch and one commit with a pull request
body. Comments and formatting of the edited files are kept.

Examples:
  shipyard init --repo-url https://github.com/acme/shipyard.git
  shipyard init --repo-url ssh://git@git.acme.internal/ml/shipyard.git \\
      --branch trunk
  shipyard init --repo-url https://github.com/acme/shipyard.git --dry-run
"""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.cli.scaffold_options import dry_run_argument, print_dry_run
from shipyard.lifecycle.plan import Plan
from shipyard.repo import Repository
from shipyard.scaffold.init import plan_init

NAME = "init"
HELP = "point a fork at its own repository URL and branch, as a pull request"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--repo-url", required=True, metavar="URL",
                        help="the fork's git URL, as Argo CD and Flux clone it (https:// or ssh://)")
    parser.add_argument("--branch", dest="repo_branch", metavar="BRANCH",
                        help="the branch the clusters sync (default: repository.branch of shipyard.yaml, else main)")
    dry_run_argument(parser)
    add_change_arguments(parser, branch_option="--pr-branch")


def run(args: argparse.Namespace) -> int:
    def make(repo: Repository) -> Plan:
        return plan_init(repo, args.repo_url, args.repo_branch)

    if args.dry_run:
        return print_dry_run(args, make)
    return run_change(args, make)
