"""What every command that changes the repository shares: --repo, the git
and pull request options, running the change (lock, repair, plan, apply)
and printing its outcome."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Callable

from shipyard.files import check_report_path
from shipyard.lifecycle.apply import change
from shipyard.lifecycle.plan import GitOptions, Outcome, Plan
from shipyard.lifecycle.pr_body import write_pr_files
from shipyard.repo import Repository


def add_repo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", type=Path, default=None, help="repository root (default: found from the current folder)")


def wait_seconds(text: str) -> float:
    """``--wait SECONDS``: a finite number, 0 or more. ``float()`` alone
    takes ``nan`` (which compares false with every deadline, so the wait
    would end at once or never) and ``inf`` (wait forever)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds of 0 or more (such as 30)")
    return value


def add_change_arguments(parser: argparse.ArgumentParser, *, commit_by_default: bool = True,
                         branch_option: str = "--branch") -> None:
    """Options every command that changes the repository shares. Changes
    that deploy something commit by default (a reviewed pull request);
    `register` only records a fact and edits files unless asked to commit.
    ``branch_option`` renames --branch for a command whose own --branch
    means something else (`init --branch` is the branch the engines sync)."""
    add_repo_argument(parser)
    git = parser.add_argument_group("git")
    if commit_by_default:
        git.add_argument("--no-commit", dest="commit", action="store_false",
                         help="only edit the files; no branch, no commit")
    else:
        git.add_argument("--commit", dest="commit", action="store_true",
                         help="commit the change on a new branch (default: only edit the files)")
    parser.set_defaults(commit=commit_by_default)
    git.add_argument(branch_option, dest="branch", help="name of the branch to create (default: derived from the change)")
    git.add_argument("--no-branch", action="store_true", help="commit on the current branch")
    git.add_argument("--wait", type=wait_seconds, default=0.0, metavar="SECONDS",
                     help="when another shipyard command is changing this work tree, wait up to SECONDS "
                     "for it to finish (default: fail at once, naming it)")
    out = parser.add_argument_group("pull request")
    out.add_argument("--pr-title", type=Path, metavar="FILE", help="write the pull request title to FILE")
    out.add_argument("--pr-body", type=Path, metavar="FILE", help="write the pull request body (markdown) to FILE")
    out.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def repository(args: argparse.Namespace) -> Repository:
    """The repository named by --repo (its root, or any folder inside it), or
    the one holding the current folder; an error when there is none."""
    return Repository.find(args.repo)


def git_options(args: argparse.Namespace) -> GitOptions:
    return GitOptions(commit=args.commit, new_branch=not args.no_branch, branch=args.branch)


def command_line(args: argparse.Namespace) -> str:
    """The command as typed, for the lock's record and the message another
    command prints while this one runs."""
    if sys.argv and Path(sys.argv[0]).name == "shipyard" and len(sys.argv) > 1 and sys.argv[1] == args.command:
        return shlex.join(["shipyard", *sys.argv[1:]])
    return " ".join(["shipyard", args.command, getattr(args, "model", "") or ""]).strip()


def run_change(args: argparse.Namespace, make_plan: Callable[[Repository], Plan]) -> int:
    """Lock, repair, check the work tree, plan, apply, print: the shared
    body of every command that changes the repository."""
    for report in (args.pr_title, args.pr_body):
        if report is not None:
            check_report_path(report)
    repo = repository(args)
    options = git_options(args)
    outcome = change(repo, make_plan, options, command=command_line(args), wait=args.wait,
                     notify=lambda message: print(f"note: {message}", file=sys.stderr, flush=True))
    write_pr_files(outcome, args.pr_title, args.pr_body)
    print_outcome(outcome, args)
    return 0


def print_outcome(outcome: Outcome, args: argparse.Namespace) -> None:
    for warning in outcome.plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(outcome.as_dict(), indent=2))
        return
    if not outcome.changed:
        print(f"{outcome.note}: nothing written" + (f" (branch {outcome.branch})" if outcome.branch else ""))
        return
    print(outcome.title)
    for path in outcome.changed:
        print(f"  changed {path}")
    if outcome.commit:
        print(f"branch {outcome.branch}, commit {outcome.commit[:12]}")
    else:
        print("files edited; nothing committed")
    if args.pr_body or args.pr_title:
        written = [str(p) for p in (args.pr_title, args.pr_body) if p]
        print(f"pull request text written to {', '.join(written)}")
    else:
        print()
        print(f"# {outcome.title}")
        print()
        print(outcome.body, end="")
