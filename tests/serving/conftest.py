"""Fixtures for the serving contract: .venv-seldon, a trained iris artifact, a live server,
and a real S3 API on loopback for the model store.

The side environments are created once per machine (about a minute; reused
while tools/envs/<name>.txt is unchanged); the servers are started once per
session and stopped at the end, so the tests themselves take seconds.
Tests that need any of this carry the `sidecar_env` marker.

The S3 server is rclone's own (`rclone serve s3`, from .venv-rclone) over a
temporary folder, with an access key pair given on its command line: the
same S3 protocol, signatures and errors a client meets on AWS or MinIO,
not a mock. Each test works under a prefix of its own in the one bucket.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from s3_loopback import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, S3Server

from shipyard import envs
from shipyard.envs import SideEnv
from shipyard.serving.artifact import sha256_file
from shipyard.serving.server import RUNTIME_DIR, SeldonServer, free_port, pick_ports


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


@pytest.fixture(scope="session")
def rclone_env() -> SideEnv:
    return envs.ensure("rclone", envs.toolkit_root()).env


@pytest.fixture(scope="session")
def s3_server(rclone_env: SideEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    root = tmp_path_factory.mktemp("s3")
    (root / S3_BUCKET).mkdir()
    log = root.parent / "rclone-serve-s3.log"
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(rclone_env.bin("rclone")), "serve", "s3", "--config", "", "--auth-key", f"{S3_ACCESS_KEY},{S3_SECRET_KEY}",
             "--addr", f"127.0.0.1:{port}", str(root)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"rclone serve s3 exited: {log.read_text()}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"rclone serve s3 did not listen on {port}: {log.read_text()}"
                time.sleep(0.1)
        yield S3Server(f"http://127.0.0.1:{port}", root, rclone_env.bin("rclone"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture()
def s3_store(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store of this test's own in the bucket, with this process's
    environment pointed at the server (for the in-process commands)."""
    for key in list(os.environ):
        if key.startswith(("RCLONE_", "AWS_", "SHIPYARD_MODEL_STORE")):
            monkeypatch.delenv(key)
    for key, value in s3_server.environ().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    return f"s3://{S3_BUCKET}/{uuid.uuid4().hex[:12]}"
