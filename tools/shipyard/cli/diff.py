"""Render two git refs and show what changes: a model summary and object diffs.

The base is the merge base of --base and the head, as `git diff main...HEAD`:
a branch behind main shows only its own changes. --base-tip compares with
the tip of --base instead. Exit 0 (changes or none), 2 on an error.
See docs/diff.md.

Examples:
  shipyard diff --base main                     # the working tree's changes
  shipyard diff --base origin/main --head HEAD --format markdown \\
      --output shipyard-diff.md                 # a pull request comment
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shipyard.files import write_report
from shipyard.diff import diff, format_markdown, format_text
from shipyard.repo import Repository

NAME = "diff"
HELP = "rendered diff between two git refs, with a model-level summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", required=True, metavar="REF", help="the git ref to compare against (e.g. origin/main)")
    parser.add_argument("--head", metavar="REF", help="the git ref to compare (default: the working tree)")
    parser.add_argument("--base-tip", action="store_true",
                        help="compare with the tip of --base, not its merge base with the head "
                             "(shows changes made on --base since the head branched off as reverted)")
    parser.add_argument("--format", choices=["text", "markdown"], default="text")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("--repo", metavar="DIR", help="repository root (default: found from the current folder)")


def run(args: argparse.Namespace) -> int:
    repo = Repository.find(Path(args.repo) if args.repo else None)
    report = diff(repo, args.base, args.head, against_tip=args.base_tip)
    text = format_markdown(report) if args.format == "markdown" else format_text(report)
    if args.output:
        write_report(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0
