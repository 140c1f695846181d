"""Maintain the schemas validate uses.

`shipyard schemas update --from DIR` regenerates the pinned CRD schema cache
(tools/shipyard/data/crd-schemas) from upstream CRD files laid out like the
mirror's crds/ folder. `shipyard schemas index` renders every cluster entry
point and writes .shipyard/crds, the repository's index of the CRDs it
installs, which `shipyard validate FILE` reads instead of rendering the
whole repository; `--check` writes nothing and exits 1 when the committed
index is out of date (for CI). `shipyard schemas versions` lists the
Kubernetes versions whose schemas are bundled.

Examples:
  shipyard schemas index            # after changing a chart pin or a base
  shipyard schemas index --check    # in CI: fails when it was forgotten
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shipyard.errors import ShipyardError

NAME = "schemas"
HELP = "update the pinned CRD schema cache, list bundled Kubernetes schema versions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    update = sub.add_parser("update", help="regenerate the pinned CRD schemas from upstream CRD files")
    update.add_argument("--from", dest="source", required=True, metavar="DIR",
                        help="folder of upstream CRDs laid out like the mirror's crds/ (e.g. ../shared/mirror/crds)")
    update.add_argument("--to", dest="dest", metavar="DIR", help="write here instead of the toolkit's pinned cache")
    index = sub.add_parser("index", help="write .shipyard/crds: the CRDs the cluster entry points install")
    index.add_argument("--check", action="store_true", help="write nothing; exit 1 when the index is out of date")
    index.add_argument("--repo", metavar="DIR", help="repository root (default: found from the current folder)")
    index.add_argument("--no-cache", action="store_true", help="render everything again, ignoring the render cache")
    sub.add_parser("versions", help="Kubernetes versions with bundled schemas")


def run(args: argparse.Namespace) -> int:
    if args.action == "update":
        from shipyard.schemas.cache import CACHE_DIR, update_cache

        dest = Path(args.dest) if args.dest else CACHE_DIR
        result = update_cache(Path(args.source), dest)
        for name in result.written:
            print(f"wrote {dest / name}")
        for name in result.removed:
            print(f"removed {dest / name}")
        return 0
    if args.action == "index":
        return _index(args)
    if args.action == "versions":
        from shipyard.schemas.kubernetes import shipped_versions

        print(" ".join(f"{major}.{minor}" for major, minor in shipped_versions()))
        return 0
    raise ShipyardError("schemas needs an action: update, index or versions", hint="shipyard schemas update --from DIR")


def _index(args: argparse.Namespace) -> int:
    from shipyard.repo import Repository
    from shipyard.schemas.installed import INDEX_DIR, build_index, stale_files, write_index
    from shipyard.targets import entry_point_crds, open_renderer

    repo = Repository.find(Path(args.repo) if args.repo else None)
    with open_renderer(repo, use_cache=not args.no_cache) as renderer:
        outputs = build_index(entry_point_crds(renderer, repo))
    if args.check:
        stale = stale_files(repo.root, outputs)
        folder = repo.root / INDEX_DIR
        for name in stale:
            state = "out of date" if name not in outputs else "missing" if not (folder / name).exists() else "out of date"
            state = "left over" if name not in outputs else state
            print(f"{INDEX_DIR}/{name}: {state}", file=sys.stderr)
        if stale:
            print(f"run `shipyard schemas index` and commit {INDEX_DIR}", file=sys.stderr)
            return 1
        print(f"{INDEX_DIR} is current ({len(outputs) - 1} CRD bodies)")
        return 0
    changed = write_index(repo.root, outputs)
    for name in changed:
        print(f"wrote {INDEX_DIR}/{name}" if name in outputs else f"removed {INDEX_DIR}/{name}")
    if not changed:
        print(f"{INDEX_DIR} is current ({len(outputs) - 1} CRD bodies)")
    return 0
