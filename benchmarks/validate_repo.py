"""Whole-repository validate: how much the toolkit adds to kustomize + helm.

Prints figures (not a test):
- cold validate on one worker, and the wall time spent inside kustomize and
  helm alone in that run: the toolkit's overhead is the difference;
- cold validate with two workers;
- an unchanged re-run (render cache warm), as a share of the cold run;
- --changed-since after a one-model change (one environment's pin), cold and
  with the cache warm, as a share of a full run.

Run: SHIPYARD_MIRROR=../shared/mirror .venv/bin/python benchmarks/validate_repo.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shipyard.render.run import TOOL_CLOCK
from shipyard.repo import Repository
from shipyard.validate import validate

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".git", ".venv", ".venv-*", ".shipyard-cache", "__pycache__", ".pytest_cache")


def timed(repo: Repository, **kwargs) -> tuple[float, float, int]:
    TOOL_CLOCK.reset()
    started = time.perf_counter()
    report = validate(repo, **kwargs)
    return time.perf_counter() - started, TOOL_CLOCK.seconds, report.object_count


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args], cwd=root, check=True,
                   capture_output=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(ROOT, root, ignore=IGNORE)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "bench")
        repo = Repository.load(root)
        cache = root / ".shipyard-cache"

        cold1, tools1, objects = timed(repo, jobs=1)
        overhead = (cold1 - tools1) / tools1 * 100 if tools1 else float("nan")
        print(f"objects rendered and checked:        {objects}")
        print(f"cold validate, 1 worker:             {cold1:6.2f} s")
        print(f"  of which kustomize + helm:         {tools1:6.2f} s")
        print(f"  toolkit overhead:                  {overhead:6.1f} % (target <= 25 %)")
        shutil.rmtree(cache, ignore_errors=True)
        cold2, _, _ = timed(repo, jobs=2)
        print(f"cold validate, 2 workers:            {cold2:6.2f} s")
        warm, _, _ = timed(repo, jobs=2)
        print(f"unchanged re-run (cache warm):       {warm:6.2f} s = {warm / cold2 * 100:5.1f} % of cold (target <= 10 %)")

        models = sorted((root / "overlays").glob("*/models/kustomization.yaml"))
        if not models:
            print("no overlays/*/models/kustomization.yaml: skipping --changed-since")
            return 0
        pin = models[-1]
        pin.write_text(pin.read_text() + "\n# touched by the benchmark\ncommonAnnotations:\n  bench: one-model-change\n")
        changed_warm, _, _ = timed(repo, jobs=2, changed_since="HEAD")
        full_warm, _, _ = timed(repo, jobs=2)
        shutil.rmtree(cache, ignore_errors=True)
        changed_cold, _, _ = timed(repo, jobs=2, changed_since="HEAD")
        shutil.rmtree(cache, ignore_errors=True)
        full_cold, _, _ = timed(repo, jobs=2)
        rel = pin.relative_to(root)
        print(f"one-model change ({rel}):")
        print(f"  --changed-since, cache warm:       {changed_warm:6.2f} s = {changed_warm / full_cold * 100:5.1f} % of a cold full run"
              f" ({changed_warm / full_warm * 100:5.1f} % of a warm full run)")
        print(f"  --changed-since, cache cold:       {changed_cold:6.2f} s = {changed_cold / full_cold * 100:5.1f} % of a cold full run"
              " (target <= 20 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
