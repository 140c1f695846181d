"""Whole-repository validate: what the toolkit adds to kustomize + helm.

Prints figures (not a test):
- cold validate on one worker and on two: the kustomize and helm calls it
  ran, how many were distinct (every build and template once per run: a
  repeat is a call whose description, e.g. ``kustomize build overlays/dev``,
  was seen before in the run), and the floor: the raw wall time of those
  calls, one after the other. The toolkit's overhead is the run's time
  over the floor;
- an unchanged re-run (render cache warm), as a share of the cold run;
- --changed-since after a one-model change (one environment's pin), cold and
  with the cache warm, as a share of a full run, with the calls it ran.

Run: SHIPYARD_MIRROR=../shared/mirror .venv/bin/python benchmarks/validate_repo.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.render import deps
from shipyard.render.run import TOOL_CLOCK
from shipyard.repo import Repository
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".git", ".venv", ".venv-*", ".shipyard-cache", "__pycache__", ".pytest_cache")


@dataclass
class Run:
    seconds: float
    floor: float  # wall time inside kustomize and helm, summed
    calls: int
    distinct: int
    objects: int
    findings: int

    @property
    def overhead(self) -> float:
        return (self.seconds - self.floor) / self.floor * 100 if self.floor else float("nan")


def timed(repo: Repository, *, cold: bool, **kwargs: Any) -> Run:
    if cold:
        shutil.rmtree(repo.root / ".shipyard-cache", ignore_errors=True)
    deps._PARSED.clear()  # as in a new process: nothing parsed yet
    TOOL_CLOCK.reset()
    started = time.perf_counter()
    report = validate(repo, **kwargs)
    seconds = time.perf_counter() - started
    calls = [what for what, _ in TOOL_CLOCK.log]
    return Run(seconds, TOOL_CLOCK.seconds, len(calls), len(set(calls)), report.object_count, len(report.findings))


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args], cwd=root, check=True,
                   capture_output=True)


def line(name: str, run: Run) -> str:
    return (f"{name:<34} {run.seconds:6.2f} s  floor {run.floor:6.2f} s  overhead {run.overhead:6.1f} %  "
            f"calls {run.calls} ({run.distinct} distinct)")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(ROOT, root, ignore=IGNORE)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "bench")
        repo = Repository.load(root)

        cold1 = timed(repo, cold=True, jobs=1)
        print(f"objects rendered and checked:      {cold1.objects} ({cold1.findings} findings)")
        print(line("cold validate, 1 worker:", cold1) + "  (target: overhead <= 10 %)")
        cold2 = timed(repo, cold=True, jobs=2)
        print(line("cold validate, 2 workers:", cold2))
        warm = timed(repo, cold=False, jobs=2)
        print(f"{'unchanged re-run (cache warm):':<34} {warm.seconds:6.2f} s = {warm.seconds / cold2.seconds * 100:5.1f} % "
              f"of cold, calls {warm.calls}")

        models = sorted((root / "overlays").glob("*/models/kustomization.yaml"))
        if not models:
            print("no overlays/*/models/kustomization.yaml: skipping --changed-since")
            return 0
        pin = models[-1]
        pin.write_text(pin.read_text() + "\n# touched by the benchmark\ncommonAnnotations:\n  bench: one-model-change\n")
        changed_warm = timed(repo, cold=False, jobs=2, changed_since="HEAD")
        full_warm = timed(repo, cold=False, jobs=2)
        changed_cold = timed(repo, cold=True, jobs=2, changed_since="HEAD")
        full_cold = timed(repo, cold=True, jobs=2)
        rel = pin.relative_to(root)
        print(f"one-model change ({rel}):")
        print(line("  full validate, cache cold:", full_cold))
        print(line("  --changed-since, cache cold:", changed_cold)
              + f"  = {changed_cold.seconds / full_cold.seconds * 100:5.1f} % of a cold full run (target <= 20 %)")
        print(f"  --changed-since, cache warm:       {changed_warm.seconds:6.2f} s = "
              f"{changed_warm.seconds / full_cold.seconds * 100:5.1f} % of a cold full run"
              f" ({changed_warm.seconds / full_warm.seconds * 100:5.1f} % of a warm full run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
