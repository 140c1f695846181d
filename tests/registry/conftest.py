"""Fixtures for the MLflow registry tests: .venv-mlflow and .venv-rclone,
a real S3 API and a real MLflow tracking server on loopback (started once
per session, stopped at the end), and temporary copies of the lifecycle
fixture repository (tests/lifecycle/conftest.py's LifecycleRepo).

Nothing is mocked: the tracking server is `mlflow server` 2.4.2 with a
sqlite backend and --artifacts-destination s3://shipyard-models/mlflow on
`rclone serve s3`, so runs, artifacts, model versions and aliases are what
MLflow itself writes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest
from mlflow_loopback import ARTIFACTS, DIGEST, S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, MlflowStack

from shipyard import envs
from shipyard.envs import SideEnv
from shipyard.serving.server import RUNTIME_DIR, free_port

ROOT = Path(__file__).resolve().parents[2]


def _lifecycle_helpers() -> ModuleType:
    """tests/lifecycle/conftest.py as a module of its own name (pytest has no packages here)."""
    spec = importlib.util.spec_from_file_location("lifecycle_helpers", ROOT / "tests" / "lifecycle" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lifecycle_helpers"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


LIFECYCLE = _lifecycle_helpers()


@pytest.fixture(scope="session")
def mlflow_env() -> SideEnv:
    return envs.ensure("mlflow", ROOT).env


@pytest.fixture(scope="session")
def rclone_env() -> SideEnv:
    return envs.ensure("rclone", ROOT).env


def _wait(proc: subprocess.Popen[bytes], ready: Any, log: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{what} exited: {log.read_text(errors='replace')[-3000:]}"
        if ready():
            return
        assert time.monotonic() < deadline, f"{what} did not start: {log.read_text(errors='replace')[-3000:]}"
        time.sleep(0.2)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The server's whole process group (gunicorn forks workers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def mlflow_stack(mlflow_env: SideEnv, rclone_env: SideEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowStack]:
    base = tmp_path_factory.mktemp("mlflow-stack")
    s3_root = base / "s3"
    (s3_root / S3_BUCKET).mkdir(parents=True)
    s3_log, mlflow_log = base / "rclone-serve-s3.log", base / "mlflow-server.log"
    s3_port, mlflow_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with s3_log.open("wb") as out:
            procs.append(subprocess.Popen(
                [str(rclone_env.bin("rclone")), "serve", "s3", "--config", "", "--auth-key",
                 f"{S3_ACCESS_KEY},{S3_SECRET_KEY}", "--addr", f"127.0.0.1:{s3_port}", str(s3_root)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        _wait(procs[0], lambda: _listening(s3_port), s3_log, "rclone serve s3", 30)
        endpoint = f"http://127.0.0.1:{s3_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
        env.update({"MLFLOW_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1",
                    "PATH": f"{mlflow_env.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"})
        with mlflow_log.open("wb") as out:
            procs.append(subprocess.Popen(
                [str(mlflow_env.bin("mlflow")), "server", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
                 "--artifacts-destination", ARTIFACTS, "--host", "127.0.0.1", "--port", str(mlflow_port),
                 "--workers", "1"],
                cwd=base, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
        tracking = f"http://127.0.0.1:{mlflow_port}"
        _wait(procs[1], lambda: _healthy(f"{tracking}/health"), mlflow_log, "mlflow server", 120)
        yield MlflowStack(tracking, endpoint, s3_root, mlflow_log)
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture()
def stack_env(mlflow_stack: MlflowStack, monkeypatch: pytest.MonkeyPatch) -> MlflowStack:
    """This process's environment pointed at the stack (for in-process commands)."""
    for key in list(os.environ):
        if key.startswith(("RCLONE_", "AWS_", "SHIPYARD_MODEL_STORE", "MLFLOW_")):
            monkeypatch.delenv(key)
    for key, value in mlflow_stack.environ().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_stack.tracking_uri)
    return mlflow_stack


@pytest.fixture(scope="session")
def iris_joblib(mlflow_env: SideEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("iris") / "model.joblib"
    subprocess.run([str(mlflow_env.python), str(RUNTIME_DIR / "reference_iris.py"), str(path)], check=True,
                   capture_output=True, timeout=120)
    return path


@pytest.fixture(scope="session")
def logged(mlflow_stack: MlflowStack, iris_joblib: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run logged and registered as iris version N in MLflow, through the CLI a pipeline step runs."""
    folder = tmp_path_factory.mktemp("log")
    metrics = folder / "metrics.json"
    metrics.write_text(json.dumps({"accuracy": 0.98, "f1_macro": 0.97}), encoding="utf-8")
    env = mlflow_stack.environ()
    env["MLFLOW_TRACKING_URI"] = mlflow_stack.tracking_uri
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [str(repo / ".venv" / "bin" / "shipyard"), "mlflow", "log", "iris", "--version", "1.3.0", "--from",
         str(iris_joblib), "--metrics", str(metrics), "--param", "regularization=3.0", "--param", "seed=42",
         "--pipeline-run", "run-0042", "--dataset", "iris-test", "--dataset-digest", DIGEST,
         "--experiment", "iris", "--format", "json", "--repo", str(repo)],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


MLFLOW_SETTINGS = f"""modelStore:
  uri: s3://{S3_BUCKET}
mlflow:
  artifactsDestination: {ARTIFACTS}
"""


@pytest.fixture()
def registry_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """A git copy of the lifecycle fixture whose shipyard.yaml names the loopback store and MLflow's artifacts."""
    root = tmp_path / "repo"
    shutil.copytree(LIFECYCLE.FIXTURE, root)
    with (root / "shipyard.yaml").open("a", encoding="utf-8") as fh:
        fh.write(MLFLOW_SETTINGS)
    for key, value in {
        "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(key, value)
    repo = LIFECYCLE.LifecycleRepo(root, capsys)
    repo.git("init", "-q", "-b", "main")
    repo.commit_all("fixture")
    return repo
