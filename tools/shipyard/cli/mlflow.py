"""Keep an MLflow model registry in step with git: `aliases` sets each
environment's alias (dev, staging, production; mlflow.aliases in
shipyard.yaml renames them) on the MLflow model version that environment's
pins run, and removes those aliases where they point elsewhere. Versions
are linked to MLflow by `shipyard register --from-mlflow`. Runs on every
push to main (.github/workflows/mlflow-aliases.yml).

`log` records a trained model.joblib in MLflow (a run with its parameters
and metrics, the model, a new registered model version), as the iris
pipeline's register step does; MLflow itself runs from .venv-mlflow.

Examples:
  shipyard mlflow aliases --dry-run            # what would change
  shipyard mlflow aliases --mlflow-uri https://mlflow.example.com
  shipyard mlflow log iris --version 1.3.0 --from model.joblib \\
      --metrics metrics.json --param regularization=3.0
"""

from __future__ import annotations

import argparse
import json
import sys

from shipyard.cli.change_options import add_repo_argument, repository

NAME = "mlflow"
HELP = "keep MLflow's aliases on the versions git runs (aliases)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mlflow_command", metavar="SUBCOMMAND", required=True)
    aliases = sub.add_parser("aliases", help="set each environment's alias on the version its pins run")
    aliases.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    aliases.add_argument("--mlflow-uri", metavar="URL",
                         help="the MLflow tracking server (default: MLFLOW_TRACKING_URI, then mlflow.trackingUri)")
    aliases.add_argument("--format", choices=("text", "json"), default="text")
    add_repo_argument(aliases)
    log = sub.add_parser("log", help="log a trained model.joblib to MLflow and register a model version")
    log.add_argument("model", help="the model (a folder under models/); also the registered model's name in MLflow")
    log.add_argument("--version", required=True, help="the version id model.yaml will give it (tag shipyard.version)")
    log.add_argument("--from", dest="source", required=True, metavar="FILE", help="the trained model.joblib")
    log.add_argument("--metrics", required=True, metavar="FILE", help="JSON or YAML metrics, as for register")
    log.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a run parameter (repeatable)")
    log.add_argument("--registered-model", metavar="NAME", help="the registered model in MLflow (default: the model)")
    log.add_argument("--experiment", default="", help="the MLflow experiment (default: MLflow's default)")
    log.add_argument("--pipeline-run", default="", help="the training pipeline run id (tag shipyard.pipelineRun)")
    log.add_argument("--dataset", default="", help="the evaluation data's name (with --dataset-digest)")
    log.add_argument("--dataset-digest", default="", metavar="sha256:HEX", help="sha256 of the evaluation data")
    log.add_argument("--mlflow-uri", metavar="URL", help="the MLflow tracking server")
    log.add_argument("--format", choices=("text", "json"), default="text")
    add_repo_argument(log)


def run(args: argparse.Namespace) -> int:
    if args.mlflow_command == "log":
        return _log(args)
    from shipyard.mlflow.aliases import apply_aliases, plan_aliases
    from shipyard.mlflow.settings import client

    repo = repository(args)
    rest = client(repo, args.mlflow_uri)
    changes, notes = plan_aliases(repo, rest)
    if not args.dry_run:
        apply_aliases(rest, changes)
    if args.format == "json":
        print(json.dumps({"dryRun": args.dry_run, "notes": notes,
                          "changes": [{"registeredModel": c.registered_model, "alias": c.alias, "version": c.version,
                                       "was": c.was, "why": c.why} for c in changes]}, indent=2))
        return 0
    for note in notes:
        print(f"note: {note}")
    if not changes:
        print(f"MLflow's aliases at {rest.uri} match what git runs: nothing to change")
        return 0
    lead = "would " if args.dry_run else ""
    for change in changes:
        print(lead + change.describe())
    return 0


def _log(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shipyard.errors import ShipyardError
    from shipyard.lifecycle.register import read_metrics
    from shipyard.mlflow.settings import tracking_uri
    from shipyard.mlflow.tracking import log_model
    from shipyard.models.spec import require_model_name

    repo = repository(args)
    require_model_name(repo, args.model)
    if bool(args.dataset) != bool(args.dataset_digest):
        raise ShipyardError("--dataset and --dataset-digest go together", check="SY900",
                            hint="for example: --dataset iris-test --dataset-digest sha256:<hex>")
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ShipyardError(f"--param {item!r} is not KEY=VALUE", check="SY900", hint="for example --param seed=42")
        params[key] = value
    logged = log_model(tracking_uri(repo, args.mlflow_uri), args.registered_model or args.model, Path(args.source),
                       version=args.version, metrics=read_metrics(Path(args.metrics)), params=params,
                       experiment=args.experiment, pipeline_run=args.pipeline_run, dataset=args.dataset,
                       dataset_digest=args.dataset_digest,
                       log=lambda message: print(message, file=sys.stderr, flush=True))
    if args.format == "json":
        print(json.dumps({"runId": logged.run_id, "experimentId": logged.experiment_id, "model": logged.model,
                          "version": logged.version, "source": logged.source, "reference": logged.reference}))
    else:
        print(f"logged run {logged.run_id} and registered {logged.reference} ({logged.source})")
    return 0
