"""Pipeline figures: the iris pipeline run locally, end to end, and .venv-kfp creation.

Runs `shipyard pipeline run iris` (kfp's SubprocessRunner, no venv, no pip
installs) against a throwaway git clone of this repository, so `shipyard
register` commits there and never here. Prints the wall time of each run
(command start to exit, including the toolkit and kfp start-up) and the time
kfp's local runner reports for the five steps.

  python benchmarks/pipeline_run.py [--runs 3] [--env-creation]

--env-creation also times building .venv-kfp from scratch in a temporary
folder (pip's cache makes repeats faster than a first run on a new machine).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shipyard import envs

ROOT = Path(__file__).resolve().parents[1]
SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def clone_with_pipelines(target: Path) -> Path:
    """A clone of the committed repository with the working copy's pipelines/ on top, committed."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    shutil.copytree(ROOT / "pipelines", target / "pipelines", dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(target), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "pipelines under benchmark"], check=True)
    return target


def time_env_creation() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tools" / "envs").mkdir(parents=True)
        shutil.copyfile(ROOT / "tools" / "envs" / "kfp.txt", root / "tools" / "envs" / "kfp.txt")
        return envs.ensure("kfp", root).seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--env-creation", action="store_true")
    args = parser.parse_args()

    if args.env_creation:
        print(f"side env creation (.venv-kfp from tools/envs/kfp.txt): {time_env_creation():.1f} s")
    result = envs.ensure("kfp", envs.toolkit_root())
    if result.created:
        print(f"side env creation (.venv-kfp, first use): {result.seconds:.1f} s")

    walls, steps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            clone = clone_with_pipelines(Path(tmp) / f"clone-{run}")
            started = time.monotonic()
            done = subprocess.run(
                [SHIPYARD, "pipeline", "run", "iris", "--repo", str(clone), "--version", f"0.0.{run + 1}",
                 "--model-store", str(Path(tmp) / "store"), "--pipeline-root", str(Path(tmp) / f"root-{run}")],
                capture_output=True, text=True, timeout=600,
            )
            walls.append(time.monotonic() - started)
            if done.returncode != 0:
                raise SystemExit(f"pipeline run failed:\n{done.stderr}")
            match = re.search(r"finished in ([0-9.]+)s", done.stdout)
            steps.append(float(match.group(1)) if match else float("nan"))
    print(f"iris pipeline, local runner, {args.runs} runs: wall median {statistics.median(walls):.1f} s "
          f"(max {max(walls):.1f} s); five steps median {statistics.median(steps):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
