"""Publish a trained artifact to the model store, for `shipyard register`.

Uploads FILE to <store>/<model>/<version>/ under the name the model's
runtime loads (model.yaml's serving: model.joblib for SKLEARN_SERVER;
model.json, model.ubj or model.bst for XGBOOST_SERVER under protocol v2)
and prints the modelUri and sha256 to register. The
store is --store, else $SHIPYARD_MODEL_STORE, else modelStore.uri in
shipyard.yaml: s3://bucket[/prefix], gs://bucket[/prefix], or a local
folder. s3:// and gs:// are written with rclone (.venv-rclone, built on
first use), credentials and endpoint from the environment (AWS_* or
RCLONE_CONFIG_S3_* variables; docs/registry.md). A version's folder is
immutable: the same bytes again is a no-op, different bytes are refused.

Examples:
  shipyard publish iris --version 1.1.0 --from model.joblib
  shipyard register iris --version 1.1.0 --sha256 <hex> --metrics m.json \\
      --uri s3://shipyard-models/iris/1.1.0    # what publish printed
  shipyard publish iris --version 1.1.0 --from model.joblib --format json
  shipyard publish tabular-xgb --version 1.1.0 --from out/model  # model.json
  SHIPYARD_MODEL_STORE=/srv/models shipyard publish iris --version 1.1.0 \\
      --from model.joblib                      # a local folder store
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from shipyard.cli.change_options import add_repo_argument
from shipyard.repo import Repository
from shipyard.serving.publish import publish
from shipyard.serving.store import resolve_store, storage_secret_warning

NAME = "publish"
HELP = "upload a trained artifact to the model store (s3://, gs:// or a folder) for `register`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model (a folder under models/)")
    parser.add_argument("--version", required=True, help="the new version id, e.g. 1.1.0")
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE",
                        help="the artifact the model's runtime loads (model.joblib, model.json, ...), "
                             "or a folder holding only that file")
    parser.add_argument("--store", help="the store (default: $SHIPYARD_MODEL_STORE, else modelStore.uri in shipyard.yaml)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_repo_argument(parser)


def run(args: argparse.Namespace) -> int:
    repo = Repository.find(args.repo)
    store = resolve_store(repo.settings, args.store, root=repo.root)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    published = publish(repo, store, args.model, args.version, args.source, log=log)
    warning = storage_secret_warning(repo, args.model, store)
    if args.format == "json":
        print(json.dumps({**published.as_dict(), "store": store.uri, "warnings": [warning] if warning else []}, indent=2))
        return 0
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if published.uploaded:
        print(f"published {published.model} {published.version}: {published.object_uri} ({published.size:,} bytes)")
    else:
        print(f"{published.model} {published.version} is already in the store with these bytes: nothing uploaded "
              f"({published.object_uri})")
    print(f"  modelUri {published.uri}")
    print(f"  sha256   {published.sha256}")
    register = ["shipyard", "register", published.model, "--version", published.version, "--uri", published.uri,
                "--sha256", published.sha256]
    print(f"register it: {shlex.join(register)} --metrics FILE")
    return 0
