"""Register a trained model version in models/<model>/model.yaml and
generate its version components; the last step of a training pipeline. It
edits files only; --commit makes a branch and a commit for a pull request.

Examples:
  shipyard register iris --version 1.1.0 --uri gs://bucket/iris/1.1.0 \\
      --metrics metrics.json --sha256 <hex> --pipeline-run <run id>
  shipyard register iris --sync      # regenerate components from model.yaml
"""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.errors import ShipyardError
from shipyard.lifecycle.register import plan_register, plan_sync, read_metrics

NAME = "register"
HELP = "register a trained model version (or --sync its components)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="the model (a folder under models/)")
    parser.add_argument("--version", help="the new version id, e.g. 1.1.0")
    parser.add_argument("--uri", help="the artifact's immutable location (gs://, s3://, https://, pvc://; file:// for local runs)")
    parser.add_argument("--metrics", metavar="FILE", help="JSON or YAML metrics: {name: number} or Kubeflow's metrics list")
    parser.add_argument("--sha256", help="sha256 of the artifact")
    parser.add_argument("--pipeline-run", help="the training pipeline run id or URL")
    parser.add_argument("--created", help="registration time, RFC 3339 (default: now)")
    parser.add_argument("--sync", action="store_true", help="only regenerate the version components from model.yaml")
    add_change_arguments(parser, commit_by_default=False)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.sync:
        if args.version or args.uri or args.metrics:
            raise ShipyardError("--sync takes no --version, --uri or --metrics", check="SY900")
        return run_change(args, lambda repo: plan_sync(repo, args.model))
    missing = [flag for flag, value in (("--version", args.version), ("--uri", args.uri), ("--metrics", args.metrics))
               if not value]
    if missing:
        raise ShipyardError(f"register needs {', '.join(missing)}", hint="or --sync to regenerate components", check="SY900")
    metrics = read_metrics(Path(args.metrics))
    return run_change(args, lambda repo: plan_register(
        repo, args.model, args.version, args.uri, metrics, sha256=args.sha256,
        pipeline_run=args.pipeline_run, created=args.created))
