"""Print the deterministic rendered manifests of an overlay, a cluster entry
point or a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shipyard.render.output import to_yaml
from shipyard.repo import Repository
from shipyard.targets import open_renderer, render_target, target_for_path

NAME = "render"
HELP = "print the rendered manifests of an overlay, cluster entry point or folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="e.g. overlays/dev or clusters/staging/flux")
    parser.add_argument("--repo", metavar="DIR", help="repository root (default: found from the current folder)")
    parser.add_argument("--sources", action="store_true", help="write each object's source file and line above it")
    parser.add_argument("--no-cache", action="store_true", help="ignore the render cache")


def run(args: argparse.Namespace) -> int:
    repo = Repository.find(Path(args.repo) if args.repo else None)
    with open_renderer(repo, use_cache=not args.no_cache) as renderer:
        target = render_target(renderer, target_for_path(repo, args.path))
    sys.stdout.write(to_yaml(target.objects, with_sources=args.sources))
    for finding in target.findings:
        print(f"{finding.location}: {finding.check}: {finding.message}", file=sys.stderr)
    return 1 if target.findings else 0
