"""Fixtures for pipeline tests: .venv-kfp, and a disposable clone of this repository.

The kfp environment is created once per machine (about a minute; reused
while tools/envs/kfp.txt is unchanged). Pipeline runs register into a git
clone under tmp_path, never into this checkout's models/iris/model.yaml.
Tests that need a side environment carry the `sidecar_env` marker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard import envs
from shipyard.envs import SideEnv

REPO_ROOT = Path(__file__).resolve().parents[2]
KFP_TOOL = REPO_ROOT / "pipelines" / "kfp_tool.py"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sidecar_env: needs a side virtual environment (.venv-kfp or .venv-seldon)")


@pytest.fixture(scope="session")
def kfp_env() -> SideEnv:
    return envs.ensure("kfp", envs.toolkit_root()).env


@pytest.fixture(scope="session")
def seldon_env() -> SideEnv:
    return envs.ensure("seldon", envs.toolkit_root()).env


@pytest.fixture()
def repo_clone(tmp_path: Path) -> Path:
    """A clone of this checkout's committed state, with this checkout's pipelines/ copied over it
    (so a test sees the pipeline under test even before it is committed), committed."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    subprocess.run(["cp", "-r", str(REPO_ROOT / "pipelines") + "/.", str(clone / "pipelines")], check=True)
    git = ["git", "-C", str(clone), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "pipelines under test"], check=True)
    return clone
