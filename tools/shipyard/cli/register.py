"""Register a trained model version in models/<model>/model.yaml and
generate its version components; the last step of a training pipeline. It
edits files only; --commit makes a branch and a commit for a pull request.

Examples:
  shipyard register iris --version 1.1.0 --uri gs://bucket/iris/1.1.0 \\
      --metrics metrics.json --sha256 <hex> --pipeline-run <run id> \\
      --dataset iris-test --dataset-digest sha256:<hex of the test data>
  shipyard register iris --sync      # regenerate components from model.yaml
  shipyard register iris --from-mlflow models:/iris/3 [--version 1.3.0] \\
      [--mlflow-uri https://mlflow.example.com]   # or models:/iris@candidate
"""

from __future__ import annotations

import argparse

from shipyard.cli.change_options import add_change_arguments, run_change
from shipyard.errors import ShipyardError
from shipyard.lifecycle.register import plan_register, plan_sync, read_metrics
from shipyard.models.spec import Evaluation

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
    parser.add_argument("--dataset", metavar="NAME",
                        help="the evaluation data the metrics were measured on, e.g. iris-test (with --dataset-digest)")
    parser.add_argument("--dataset-digest", metavar="sha256:HEX",
                        help="sha256 of the evaluation data's content; promotions compare metrics only between "
                        "versions measured on the same data")
    parser.add_argument("--sync", action="store_true", help="only regenerate the version components from model.yaml")
    parser.add_argument("--from-mlflow", metavar="models:/NAME/VERSION",
                        help="import a model version from an MLflow registry (models:/<name>/<version> or "
                        "models:/<name>@<alias>): its artifact URI, metrics, run and lineage")
    parser.add_argument("--mlflow-uri", metavar="URL",
                        help="the MLflow tracking server (default: MLFLOW_TRACKING_URI, then mlflow.trackingUri in "
                        "shipyard.yaml)")
    add_change_arguments(parser, commit_by_default=False)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.sync:
        if args.version or args.uri or args.metrics or args.dataset or args.dataset_digest:
            raise ShipyardError("--sync takes no --version, --uri, --metrics, --dataset or --dataset-digest",
                                check="SY900")
        return run_change(args, lambda repo: plan_sync(repo, args.model))
    if args.from_mlflow:
        return _run_from_mlflow(args)
    if args.mlflow_uri:
        raise ShipyardError("--mlflow-uri goes with --from-mlflow", check="SY900")
    missing = [flag for flag, value in (("--version", args.version), ("--uri", args.uri), ("--metrics", args.metrics))
               if not value]
    if missing:
        raise ShipyardError(f"register needs {', '.join(missing)}", hint="or --sync to regenerate components", check="SY900")
    if bool(args.dataset) != bool(args.dataset_digest):
        given, needed = ("--dataset", "--dataset-digest") if args.dataset else ("--dataset-digest", "--dataset")
        raise ShipyardError(f"{given} needs {needed}: the evaluation data is recorded by its name and the sha256 of "
                            "its content together", hint="for example: --dataset iris-test --dataset-digest "
                            "sha256:$(sha256sum test.csv | cut -d' ' -f1)", check="SY900")
    evaluation = Evaluation(args.dataset, args.dataset_digest) if args.dataset else None
    metrics = read_metrics(Path(args.metrics))
    return run_change(args, lambda repo: plan_register(
        repo, args.model, args.version, args.uri, metrics, sha256=args.sha256,
        pipeline_run=args.pipeline_run, created=args.created, evaluation=evaluation))


def _run_from_mlflow(args: argparse.Namespace) -> int:
    """--from-mlflow: the facts come from MLflow, so the flags that state them by hand are refused."""
    from shipyard.mlflow.importer import plan_import
    from shipyard.mlflow.reference import parse_reference
    from shipyard.mlflow.settings import client

    given = [flag for flag, value in (("--uri", args.uri), ("--metrics", args.metrics), ("--sha256", args.sha256),
                                      ("--pipeline-run", args.pipeline_run), ("--created", args.created),
                                      ("--dataset", args.dataset), ("--dataset-digest", args.dataset_digest))
             if value]
    if given:
        raise ShipyardError(f"--from-mlflow takes no {', '.join(given)}: MLflow's model version says them",
                            hint="keep --from-mlflow (and --version), or register by hand without it", check="SY900")
    ref = parse_reference(args.from_mlflow)
    return run_change(args, lambda repo: plan_import(repo, args.model, ref, client(repo, args.mlflow_uri),
                                                     version=args.version))
