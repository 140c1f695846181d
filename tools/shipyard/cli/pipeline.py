"""Compile, check or run a Kubeflow pipeline of this repository.

kfp cannot live in the toolkit's environment (its protobuf and click pins
clash), so these commands run pipelines/kfp_tool.py with .venv-kfp's Python
(created on first use from tools/envs/kfp.txt). `run` leaves the work tree on
the branch its register step commits to, and says how to get back.

Examples:
  shipyard pipeline compile iris   write pipelines/iris/pipeline.yaml, deploy/
  shipyard pipeline check iris     fail when the committed output is stale
  shipyard pipeline run iris --version 1.1.0 --model-store /srv/models
                                   run it locally (kfp's SubprocessRunner);
                                   register edits models/iris/model.yaml here
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.serving.store import resolve_store
from shipyard.pipelines import kfp_tool, require_pipeline, run_params, run_pipeline
from shipyard.repo import Repository

NAME = "pipeline"
HELP = "compile, check or run a Kubeflow pipeline (in .venv-kfp)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("compile", "check", "run"))
    parser.add_argument("name", help="pipeline name (a folder under pipelines/)")
    parser.add_argument("--repo", type=Path, help="repository root (default: found from the current folder)")
    parser.add_argument("--version", help="run: the model version to register")
    parser.add_argument("--model-store", help="run: where artifacts go (a local folder, file://, gs:// or s3://; default: $SHIPYARD_MODEL_STORE, then modelStore.uri in shipyard.yaml)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="run: any other pipeline input, typed as the pipeline declares it (repeatable)")
    parser.add_argument("--pipeline-root", type=Path, help="run: folder for intermediate artifacts (default: a temporary folder)")


def run(args: argparse.Namespace) -> int:
    repo = Repository.load(args.repo.resolve()) if args.repo else Repository.find()
    require_pipeline(repo, args.name)
    if args.action in ("compile", "check"):
        done = kfp_tool(repo.root, [args.action, args.name])
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if args.action == "check" and done.returncode == 0:
            print(f"pipelines/{args.name}: compiled output is up to date")
        return done.returncode
    return _run_pipeline(repo, args)


def _run_pipeline(repo: Repository, args: argparse.Namespace) -> int:
    if not args.version:
        raise ShipyardError("`pipeline run` needs --version", hint="e.g. --version 1.1.0", check="SY900")
    store = resolve_store(repo.settings, args.model_store, root=repo.root)
    params = run_params(repo, args.version, store.uri, args.param)
    pipeline_root = args.pipeline_root or Path(tempfile.mkdtemp(prefix=f"shipyard-{args.name}-"))
    result = run_pipeline(repo, args.name, params, pipeline_root)
    if result.summary is not None:
        print(f"pipeline {args.name} finished in {result.summary['seconds']:.1f}s: {result.summary['output']}", flush=True)
        print(f"log and intermediate artifacts: {result.pipeline_root}", flush=True)
    if result.switched:
        print(result.switched.note(), file=sys.stderr)
    if result.summary is None:
        raise ShipyardError(f"pipeline {args.name} failed: {result.failure}", hint=f"full log: {result.log}", check="SY900")
    return 0
