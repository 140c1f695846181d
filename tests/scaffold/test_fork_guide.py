"""docs/fork.md, followed literally: every `sh` block of the guide runs, in
order, in a scratch clone of this repository, with the real `shipyard`, and
the repository it leaves validates clean. A guide that drifts from the
commands fails here, not in a new user's hands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.e2e.scratch import scratch_copy

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "fork.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")) if lang == kind]


def test_the_guide_covers_every_step() -> None:
    script = "\n".join(_blocks("sh"))
    for step in ("shipyard init --repo-url", "shipyard new cluster", "shipyard new model", "shipyard register",
                 "shipyard promote", "shipyard validate"):
        assert step in script, f"docs/fork.md no longer runs `{step}`"


@pytest.fixture(scope="module")
def followed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = scratch_copy(REPO_ROOT, tmp_path_factory.mktemp("fork") / "ml-platform")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "Fork Guide", "GIT_AUTHOR_EMAIL": "guide@example.com",
           "GIT_COMMITTER_NAME": "Fork Guide", "GIT_COMMITTER_EMAIL": "guide@example.com"}
    script = "set -euo pipefail\n" + "\n".join(_blocks("sh"))
    proc = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    return root, proc


def test_every_command_of_the_guide_runs(followed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _root, proc = followed
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr


def test_the_fork_points_at_itself_and_ships_the_new_model(
        followed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    root, proc = followed
    assert proc.returncode == 0
    synced = [p for p in (root / "clusters").rglob("*.yaml") if "github.com/example/shipyard" in p.read_text()]
    assert synced == []
    assert "https://github.com/acme/ml-platform.git" in (root / "shipyard.yaml").read_text()
    assert (root / "clusters" / "gpu-staging" / "cluster.yaml").is_file()
    for env in ("dev", "staging"):
        pin = (root / "overlays" / env / "models" / "churn" / "kustomization.yaml").read_text()
        assert "versions/1.0.0" in pin
    assert not (root / "metrics.json").exists()
    assert "churn" in proc.stdout and "1.0.0" in proc.stdout  # shipyard status churn
