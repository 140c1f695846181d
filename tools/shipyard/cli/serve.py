"""Serve a registered model version locally with the cluster's own server.

Resolves the version's modelUri from models/<model>/model.yaml: a local path
or file://, or s3:// and gs://, which are fetched with rclone as the
cluster's storage initializer does (credentials from RCLONE_CONFIG_S3_* /
AWS_* variables; docs/registry.md) into .shipyard-cache/artifacts/. Checks
the artifact against the registered sha256, then runs what seldon-core
1.17.1 runs for the model's serving implementation and protocol: its Python
microservice (.venv-seldon) for protocol seldon, MLServer 1.3.5
(.venv-mlserver) for protocol v2; each environment is created on first use.
Everything listens on 127.0.0.1: REST on --port, gRPC and metrics on free
ports unless given. Prints the URLs and a sample curl; Ctrl-C or SIGTERM
stops it cleanly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shipyard.repo import Repository
from shipyard.serving.server import pick_ports
from shipyard.serving.session import banner, build_server, prepare, serve_until_stopped

NAME = "serve"
HELP = "serve a registered model version on 127.0.0.1 with the server the cluster runs (Seldon microservice or MLServer)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model name (a folder under models/)")
    parser.add_argument("--version", help="registered version (default: the last one registered)")
    parser.add_argument("--port", type=int, default=9000, help="REST port on 127.0.0.1 (default 9000)")
    parser.add_argument("--grpc-port", type=int, help="gRPC port (default: a free port)")
    parser.add_argument("--metrics-port", type=int, help="metrics port (default: a free port)")
    parser.add_argument("--model-dir", type=Path, help="serve this local folder instead of modelUri; its sha256 is still checked")
    parser.add_argument("--method", choices=("predict_proba", "predict", "decision_function"), default=None,
                        help="estimator method predictions call (SKLEARN_SERVER's `method` parameter, protocol seldon only; "
                             "default predict_proba)")
    parser.add_argument("--allow-unverified", action="store_true", help="serve a version that has no sha256 in model.yaml")
    parser.add_argument("--repo", type=Path, help="repository root (default: found from the current folder)")


def run(args: argparse.Namespace) -> int:
    repo = Repository.load(args.repo.resolve()) if args.repo else Repository.find()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    prepared = prepare(repo.root, args.model, args.version, model_dir=args.model_dir, allow_unverified=args.allow_unverified,
                       log=log)
    ports = pick_ports(args.port, args.grpc_port, args.metrics_port)
    server = build_server(prepared, ports, method=args.method, log=log)
    return serve_until_stopped(server, sys.stdout, lambda: banner(prepared, server))
