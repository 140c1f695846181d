"""Render every overlay and cluster entry point (or the PATHs given) and
check them.

A file or folder is checked without rendering anything it does not include:
the CRDs the repository installs come from its index, .shipyard/crds
(`shipyard schemas index`). A rendered file (`shipyard render --sources`)
keeps each object's origin, and its HelmReleases are not rendered again
unless --render-releases.

Exit 0 when clean, 1 with findings, 2 on a usage or environment error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shipyard.files import write_report
from shipyard.findings import FORMATTERS, exit_code, format_junit

NAME = "validate"
HELP = "render and check overlays, cluster entry points, folders or files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="an overlay, kustomization folder or manifest file (default: everything)")
    parser.add_argument("--format", choices=sorted(FORMATTERS), default="text", help="report format on stdout")
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    parser.add_argument("--repo", metavar="DIR", help="repository root (default: found from the current folder)")
    parser.add_argument("--no-cache", action="store_true", help="render everything again, ignoring the render cache")
    parser.add_argument("--jobs", type=_positive, default=2, help="targets rendered in parallel (default 2)")
    parser.add_argument("--check", action="append", metavar="ID", help="run only these check ids (repeatable)")
    parser.add_argument("--changed-since", metavar="REF", help="only targets whose inputs changed since this git ref")
    parser.add_argument("--render-releases", action="store_true",
                        help="in a rendered file (shipyard render --sources) checked alone, render its HelmReleases, "
                        "Flux Kustomizations and Argo CD Applications again")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _progress(done: int, total: int, name: str) -> None:
    print(f"\r\033[Krendered {done}/{total}: {name}", end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from shipyard.repo import Repository
    from shipyard.validate import validate

    repo = Repository.find(Path(args.repo) if args.repo else None)
    report = validate(
        repo,
        args.paths or None,
        use_cache=not args.no_cache,
        jobs=max(1, args.jobs),
        only=set(args.check) if args.check else None,
        changed_since=args.changed_since,
        progress=_progress if sys.stderr.isatty() else None,
        render_releases=args.render_releases,
    )
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    sys.stdout.write(FORMATTERS[args.format](report.findings))
    if args.junit:
        write_report(Path(args.junit), format_junit(report.findings))
    if args.format == "text":
        print(
            f"checked {report.object_count} objects in {len(report.targets)} target(s) "
            f"in {report.timings['total']:.1f}s (render {report.timings['render']:.1f}s)"
            + (f"; {len(report.waived)} finding(s) waived" if report.waived else ""),
            file=sys.stderr,
        )
    return exit_code(report.findings)
