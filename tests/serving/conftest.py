"""Fixtures for the serving contract: .venv-seldon, a trained iris artifact, a live server.

The side environment is created once per machine (about a minute; reused
while tools/envs/seldon.txt is unchanged); the server is started once per
session and stopped at the end, so the contract tests themselves take
seconds. Tests that need any of this carry the `sidecar_env` marker.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from shipyard import envs
from shipyard.envs import SideEnv
from shipyard.serving.artifact import sha256_file
from shipyard.serving.server import RUNTIME_DIR, SeldonServer, pick_ports


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sidecar_env: needs a side virtual environment (.venv-kfp or .venv-seldon)")


@pytest.fixture(scope="session")
def seldon_env() -> SideEnv:
    return envs.ensure("seldon", envs.toolkit_root()).env


@pytest.fixture(scope="session")
def iris_model_dir(seldon_env: SideEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store") / "iris" / "test"
    folder.mkdir(parents=True)
    subprocess.run([str(seldon_env.python), str(RUNTIME_DIR / "reference_iris.py"), str(folder / "model.joblib")], check=True, timeout=120)
    return folder


@pytest.fixture(scope="session")
def iris_server(seldon_env: SideEnv, iris_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeldonServer]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    server = SeldonServer(seldon_env, iris_model_dir, pick_ports(), log, sha256=sha256_file(iris_model_dir / "model.joblib"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def seldon_client(env: SideEnv, transport: str, endpoint: str, rows: Any, payload: str = "ndarray", repeat: int = 1) -> dict[str, Any]:
    """One prediction through seldon_core.seldon_client.SeldonClient (runtime/probe.py in .venv-seldon)."""
    done = subprocess.run(
        [str(env.python), str(RUNTIME_DIR / "probe.py"), "--transport", transport, "--endpoint", endpoint,
         "--data", json.dumps(rows), "--payload", payload, "--repeat", str(repeat)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def client(seldon_env: SideEnv):  # type: ignore[no-untyped-def]
    """``client(transport, endpoint, rows, payload="ndarray")`` -> SeldonClient's outcome as a dict."""
    return lambda transport, endpoint, rows, payload="ndarray", repeat=1: seldon_client(seldon_env, transport, endpoint, rows, payload, repeat)
