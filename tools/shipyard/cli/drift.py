"""Build a model version's drift detector from its training data.

The detector (alibi-detect, spec.drift of models/<model>/model.yaml: its
kind, p-value and feature columns) is fitted on the reference sample, a CSV
with a header row (the training data), in .venv-drift (built on first use),
and published beside the version in the model store:
<store>/<model>/drift/<version>/. The store is --store, else
$SHIPYARD_MODEL_STORE, else modelStore.uri in shipyard.yaml. A published
detector is immutable. With --out, the detector is only written to a new
local folder. The model's drift CronJob (models/<model>/monitoring/) judges
logged requests against it (docs/monitoring.md).

Examples:
  shipyard drift build iris --version 1.1.0 --reference train.csv
  shipyard drift build iris --version 1.1.0 --reference train.csv --out det/
  shipyard drift build iris --version 1.1.0 --reference train.csv --format json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shipyard.cli.change_options import add_repo_argument
from shipyard.drift.release import build_and_publish, build_to_folder
from shipyard.repo import Repository
from shipyard.serving.store import resolve_store

NAME = "drift"
HELP = "build a model version's drift detector from its training data and publish it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="build and publish a version's drift detector")
    build.add_argument("model", help="the model (a folder under models/)")
    build.add_argument("--version", required=True, help="the version the detector belongs to, e.g. 1.1.0")
    build.add_argument("--reference", type=Path, required=True, metavar="CSV",
                       help="the reference sample: the training data, a CSV with a header row")
    build.add_argument("--store", help="the store (default: $SHIPYARD_MODEL_STORE, else modelStore.uri)")
    build.add_argument("--out", type=Path, help="only write the detector to this new folder; publish nothing")
    build.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_repo_argument(build)


def run(args: argparse.Namespace) -> int:
    repo = Repository.find(args.repo)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.out is not None:
        built = build_to_folder(repo, args.model, args.reference, args.out, log=log)
        uri, uploaded = built.path.resolve().as_uri(), True
    else:
        store = resolve_store(repo.settings, args.store, root=repo.root)
        built, published = build_and_publish(repo, store, args.model, args.version, args.reference, log=log)
        uri, uploaded = published.uri, published.uploaded
    if args.format == "json":
        print(json.dumps({"model": args.model, "version": args.version, "uri": uri, "uploaded": uploaded,
                          "kind": built.kind, "pValue": built.p_value, "features": list(built.features),
                          "referenceRows": built.reference_rows, "referenceSha256": built.reference_sha256},
                         indent=2))
        return 0
    state = "published" if uploaded else "already in the store with these files:"
    print(f"{args.model} {args.version}: {built.kind} (p-value {built.p_value:g}) over "
          f"{', '.join(built.features)}, from {built.reference_rows} reference rows")
    print(f"  {state} {uri}")
    return 0
