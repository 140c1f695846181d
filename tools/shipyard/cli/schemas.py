"""Maintain the schemas validate uses.

`shipyard schemas update --from DIR` regenerates the pinned CRD schema cache
(tools/shipyard/data/crd-schemas) from upstream CRD files laid out like the
mirror's crds/ folder. `shipyard schemas versions` lists the Kubernetes
versions whose schemas are bundled.
"""

from __future__ import annotations

import argparse
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
    if args.action == "versions":
        from shipyard.schemas.kubernetes import shipped_versions

        print(" ".join(f"{major}.{minor}" for major, minor in shipped_versions()))
        return 0
    raise ShipyardError("schemas needs an action: update or versions", hint="shipyard schemas update --from DIR")
