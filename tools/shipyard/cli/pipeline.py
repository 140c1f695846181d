"""Compile, check or run a Kubeflow pipeline of this repository.

kfp cannot live in the toolkit's environment (its protobuf and click pins
clash), so these commands run pipelines/kfp_tool.py with .venv-kfp's Python
(created on first use from tools/envs/kfp.txt).

  shipyard pipeline compile iris    write pipelines/iris/pipeline.yaml and deploy/
  shipyard pipeline check iris      fail when the committed output is stale
  shipyard pipeline run iris --version 1.1.0 --model-store /srv/models
                                    run it locally (kfp's SubprocessRunner);
                                    register edits models/iris/model.yaml here
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from shipyard import envs
from shipyard.errors import ShipyardError
from shipyard.repo import Repository

NAME = "pipeline"
HELP = "compile, check or run a Kubeflow pipeline (in .venv-kfp)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("compile", "check", "run"))
    parser.add_argument("name", help="pipeline name (a folder under pipelines/)")
    parser.add_argument("--repo", type=Path, help="repository root (default: found from the current folder)")
    parser.add_argument("--version", help="run: the model version to register")
    parser.add_argument("--model-store", help="run: where artifacts go (a local folder, file://, gs:// or s3://)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="run: any other pipeline input")
    parser.add_argument("--pipeline-root", type=Path, help="run: folder for intermediate artifacts (default: a temporary folder)")


def shipyard_executable() -> str:
    """This toolkit's `shipyard` script, for the register step to call."""
    beside = Path(sys.executable).parent / "shipyard"
    if beside.is_file():
        return str(beside)
    found = shutil.which("shipyard")
    if found:
        return found
    raise ShipyardError("cannot find the shipyard executable", hint="install the toolkit (pip install -e ., or make setup)", check="SY900")


def kfp_tool(root: Path, arguments: list[str], *, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run pipelines/kfp_tool.py of ``root`` with .venv-kfp's Python."""
    script = root / "pipelines" / "kfp_tool.py"
    if not script.is_file():
        raise ShipyardError("pipelines/kfp_tool.py is missing", file=str(script), hint="restore it from git")
    env = envs.ensure("kfp", envs.toolkit_root(root), log=lambda msg: print(msg, file=sys.stderr, flush=True)).env
    command = [str(env.python), str(script), *arguments]
    if log is None:
        return subprocess.run(command, cwd=root, capture_output=True, text=True)
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run(command, cwd=root, stdout=subprocess.PIPE, stderr=err, text=True)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, log.read_text(encoding="utf-8"))


def run(args: argparse.Namespace) -> int:
    repo = Repository.load(args.repo.resolve()) if args.repo else Repository.find()
    if not (repo.root / "pipelines" / args.name / "pipeline.py").is_file():
        known = sorted(p.parent.name for p in (repo.root / "pipelines").glob("*/pipeline.py"))
        raise ShipyardError(f"unknown pipeline {args.name!r}", hint=f"pipelines are: {', '.join(known) or 'none'}")
    if args.action in ("compile", "check"):
        done = kfp_tool(repo.root, [args.action, args.name])
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if args.action == "check" and done.returncode == 0:
            print(f"pipelines/{args.name}: compiled output is up to date")
        return done.returncode
    return _run_pipeline(repo, args)


def _run_pipeline(repo: Repository, args: argparse.Namespace) -> int:
    if not args.version or not args.model_store:
        raise ShipyardError("`pipeline run` needs --version and --model-store", hint="e.g. --version 1.1.0 --model-store /srv/models")
    store = args.model_store
    if "://" not in store:
        store = str(Path(store).resolve())
    params = [
        f"version={args.version}",
        f"model_store={store}",
        f"repo_root={repo.root}",
        f"shipyard_bin={shipyard_executable()}",
        *args.param,
    ]
    pipeline_root = (args.pipeline_root or Path(tempfile.mkdtemp(prefix=f"shipyard-{args.name}-"))).resolve()
    pipeline_root.mkdir(parents=True, exist_ok=True)
    log = pipeline_root / "run.log"
    done = kfp_tool(repo.root, ["run", args.name, "--pipeline-root", str(pipeline_root), *[a for p in params for a in ("--param", p)]], log=log)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        reason = errors[-1][len("error: "):] if errors else f"exit {done.returncode}"
        raise ShipyardError(f"pipeline {args.name} failed: {reason}", hint=f"full log: {log}", check="SY900")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"pipeline {args.name} finished in {summary['seconds']:.1f}s: {summary['output']}")
    print(f"log and intermediate artifacts: {pipeline_root}")
    return 0
