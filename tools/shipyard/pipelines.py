"""The repository's Kubeflow pipelines, driven from the toolkit.

kfp cannot live in the toolkit's environment (its protobuf and click pins
clash), so everything here runs pipelines/kfp_tool.py with .venv-kfp's
Python and reads back what it printed: the JSON summary of a run on stdout,
the steps' output (the log) on stderr.

A local run's last step calls `shipyard register`, which with git_commit
(the default) commits on a new branch and leaves the work tree there: a
run records the branch before and after, so the command can say so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard import envs, git, ids
from shipyard.errors import ShipyardError
from shipyard.repo import Repository

_ERROR_PREFIX = "error: "
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception)\b: .+")


def require_pipeline(repo: Repository, name: str) -> None:
    """An unknown pipeline is an error listing the ones that exist."""
    if not (repo.root / "pipelines" / name / "pipeline.py").is_file():
        known = sorted(p.parent.name for p in (repo.root / "pipelines").glob("*/pipeline.py"))
        raise ShipyardError(f"unknown pipeline {name!r}", hint=f"pipelines are: {', '.join(known) or 'none'}",
                            check=ids.USAGE)


def shipyard_executable() -> str:
    """This toolkit's `shipyard` script, for the register step to call."""
    beside = Path(sys.executable).parent / "shipyard"
    if beside.is_file():
        return str(beside)
    found = shutil.which("shipyard")
    if found:
        return found
    raise ShipyardError("cannot find the shipyard executable", hint="install the toolkit (pip install -e ., or make setup)",
                        check=ids.USAGE)


def kfp_tool(root: Path, arguments: list[str], *, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run pipelines/kfp_tool.py of ``root`` with .venv-kfp's Python; with
    ``log``, its stderr goes to that file (and is returned too)."""
    script = root / "pipelines" / "kfp_tool.py"
    if not script.is_file():
        raise ShipyardError("pipelines/kfp_tool.py is missing", file=str(script), hint="restore it from git",
                            check=ids.USAGE)
    env = envs.ensure("kfp", envs.toolkit_root(root), log=lambda msg: print(msg, file=sys.stderr, flush=True)).env
    command = [str(env.python), str(script), *arguments]
    if log is None:
        return subprocess.run(command, cwd=root, capture_output=True, text=True)
    with log.open("w", encoding="utf-8") as err:
        done = subprocess.run(command, cwd=root, stdout=subprocess.PIPE, stderr=err, text=True)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, log.read_text(encoding="utf-8"))


def failure_reason(stderr: str, returncode: int) -> str:
    """The one line that says why a run failed, for the terminal: kfp_tool's
    own ``error:`` line (it names the failing step and quotes its error),
    else the last exception line in the log (kfp_tool itself crashed), else
    the exit code. The whole log stays in run.log."""
    lines = [line.strip() for line in stderr.splitlines()]
    errors = [line[len(_ERROR_PREFIX):] for line in lines if line.startswith(_ERROR_PREFIX)]
    if errors:
        return errors[-1]
    exceptions = [line for line in lines if _EXCEPTION_LINE.match(line)]
    if exceptions:
        return exceptions[-1]
    return f"kfp_tool exited with code {returncode}"


@dataclass(frozen=True)
class WorkTreeState:
    """Where a work tree's HEAD is: a branch, or a detached commit."""

    branch: str | None
    commit: str | None

    @classmethod
    def of(cls, root: Path) -> WorkTreeState:
        return cls(git.current_branch(root), git.rev(root, "HEAD"))

    def switch_command(self, root: Path) -> str:
        """The git command that returns a work tree to this state."""
        where = "" if root.resolve() == Path.cwd().resolve() else f"-C {root} "
        target = self.branch or f"--detach {self.commit}"
        return f"git {where}switch {target}"


@dataclass(frozen=True)
class BranchSwitch:
    """A run left the work tree on another branch than it started on."""

    root: Path
    before: WorkTreeState
    after: str

    def note(self) -> str:
        was = self.before.branch or f"detached at {self.before.commit}"
        return (f"note: the run left the work tree {self.root} on branch {self.after} (its register step "
                f"committed the new version there; it was on {was}); to go back: "
                f"{self.before.switch_command(self.root)}")


def branch_switch(root: Path, before: WorkTreeState) -> BranchSwitch | None:
    """What changed about the work tree's branch since ``before``; None when
    nothing did (git_commit=false, a failed register, not a git work tree)."""
    if before.commit is None:
        return None
    after = git.current_branch(root)
    if after is None or after == before.branch:
        return None
    return BranchSwitch(root, before, after)


@dataclass(frozen=True)
class RunResult:
    """A finished local run: its summary, or why it failed; and the branch
    the work tree was switched to, if it was."""

    pipeline_root: Path
    log: Path
    summary: dict[str, Any] | None
    failure: str | None
    switched: BranchSwitch | None


def run_params(repo: Repository, version: str, model_store: str, extra: list[str]) -> list[str]:
    """The pipeline inputs of a local run as key=value pairs: the version,
    the store (a local folder made absolute: steps run in other folders),
    the checkout to register in and this toolkit's shipyard, then the
    user's own (kfp_tool types them by the pipeline's declared inputs)."""
    store = model_store if "://" in model_store else str(Path(model_store).resolve())
    return [
        f"version={version}",
        f"model_store={store}",
        f"repo_root={repo.root}",
        f"shipyard_bin={shipyard_executable()}",
        *extra,
    ]


def run_pipeline(repo: Repository, name: str, params: list[str], pipeline_root: Path) -> RunResult:
    """Run pipeline ``name`` with kfp's local runner; the steps' output goes
    to ``pipeline_root``/run.log."""
    pipeline_root = pipeline_root.resolve()
    pipeline_root.mkdir(parents=True, exist_ok=True)
    log = pipeline_root / "run.log"
    before = WorkTreeState.of(repo.root)
    arguments = ["run", name, "--pipeline-root", str(pipeline_root), *[a for p in params for a in ("--param", p)]]
    done = kfp_tool(repo.root, arguments, log=log)
    switched = branch_switch(repo.root, before)
    if done.returncode != 0:
        return RunResult(pipeline_root, log, None, failure_reason(done.stderr, done.returncode), switched)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return RunResult(pipeline_root, log, summary, None, switched)
