"""MLFLOW_SERVER under protocol v2, served locally as the cluster serves it:
MLServer 1.3.5 with mlserver-mlflow 1.3.5 (seldonio/mlserver:1.3.5-mlflow's
runtime, mlserver_mlflow.MLflowRuntime) from .venv-mlflow, loading the
MLmodel folder MLflow logged to the loopback S3 store, fetched with rclone
and checked against the registered sha256 (the folder digest of every file). Predictions over
REST and gRPC (MLServer's own stubs) equal the model's own."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from mlflow_loopback import MlflowStack

from shipyard.envs import SideEnv
from shipyard.errors import ShipyardError
from shipyard.serving.folder_digest import folder_sha256
from shipyard.serving.mlserver import MLServerServer
from shipyard.serving.runtimes import runtime_for
from shipyard.serving.server import RUNTIME_DIR, pick_ports
from shipyard.serving.session import build_server, prepare, v2_request

pytestmark = pytest.mark.sidecar_env

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def _as_mlflow_server(repo: Any) -> None:
    text = repo.read("models/iris/model.yaml")
    assert "implementation: SKLEARN_SERVER\n    protocol: seldon" in text
    repo.write("models/iris/model.yaml", text.replace("implementation: SKLEARN_SERVER\n    protocol: seldon",
                                                      "implementation: MLFLOW_SERVER\n    protocol: v2"))
    repo.commit_all("iris served by MLFLOW_SERVER under protocol v2")


@pytest.fixture()
def served(logged: dict[str, Any], stack_env: MlflowStack, registry_repo: Any, tmp_path: Path) -> Iterator[MLServerServer]:
    _as_mlflow_server(registry_repo)
    run = registry_repo.shipyard("register", "iris", "--from-mlflow", f"models:/iris/{logged['version']}",
                                 "--version", "2.0.0")
    assert run.code == 0, run.err
    prepared = prepare(registry_repo.root, "iris", "2.0.0")
    assert prepared.runtime.mlserver_class == "mlserver_mlflow.MLflowRuntime"
    assert prepared.artifact.artifact.name == "MLmodel" and prepared.artifact.verified
    server = build_server(prepared, pick_ports(), log_path=tmp_path / "server.log")
    assert isinstance(server, MLServerServer) and ".venv-mlflow" in str(server.env.path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


SHELL_DIGEST = "cd \"$1\" && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"


def test_registered_sha256_covers_the_whole_folder(logged: dict[str, Any], stack_env: MlflowStack, registry_repo: Any,
                                                  tmp_path: Path) -> None:
    """MLFLOW_SERVER's sha256 is the folder digest (every file MLmodel can
    name), the one docs/registry.md's shell line recomputes; serve refuses a
    copy whose model.pkl changed under an unchanged MLmodel."""
    _as_mlflow_server(registry_repo)
    assert registry_repo.shipyard("register", "iris", "--from-mlflow", f"models:/iris/{logged['version']}",
                                  "--version", "2.0.0").code == 0
    entry = next(v for v in yaml.safe_load(registry_repo.read("models/iris/model.yaml"))["spec"]["versions"]
                 if v["version"] == "2.0.0")
    folder = stack_env.s3_root / "shipyard-models" / "mlflow" / logged["experimentId"] / logged["runId"] / "artifacts" / "model"
    shell = subprocess.run(["bash", "-c", SHELL_DIGEST, "_", str(folder)], capture_output=True, text=True, check=True)
    assert entry["sha256"] == folder_sha256(folder) == shell.stdout.split()[0]
    assert entry["sha256"] != hashlib.sha256((folder / "MLmodel").read_bytes()).hexdigest()
    assert prepare(registry_repo.root, "iris", "2.0.0").artifact.verified  # fetched from the bucket and checked

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert prepare(registry_repo.root, "iris", "2.0.0", model_dir=copy).artifact.verified
    (copy / "model.pkl").write_bytes((copy / "model.pkl").read_bytes() + b"\0")
    with pytest.raises(ShipyardError) as caught:
        prepare(registry_repo.root, "iris", "2.0.0", model_dir=copy)
    assert caught.value.check == "SY912" and f"the folder {copy} (every file) has sha256" in caught.value.message
    assert "refusing to serve it" in caught.value.message


def test_a_changed_object_in_the_bucket_is_refused_on_fetch(logged: dict[str, Any], stack_env: MlflowStack,
                                                            registry_repo: Any) -> None:
    """model.pkl replaced in the store behind MLflow's back (MLmodel
    unchanged): `shipyard serve`'s fetch refuses it and keeps nothing."""
    _as_mlflow_server(registry_repo)
    assert registry_repo.shipyard("register", "iris", "--from-mlflow", f"models:/iris/{logged['version']}",
                                  "--version", "2.0.0").code == 0
    folder = stack_env.s3_root / "shipyard-models" / "mlflow" / logged["experimentId"] / logged["runId"] / "artifacts" / "model"
    original = (folder / "model.pkl").read_bytes()
    try:
        (folder / "model.pkl").write_bytes(original + b"\0")
        with pytest.raises(ShipyardError) as caught:
            prepare(registry_repo.root, "iris", "2.0.0")
    finally:
        (folder / "model.pkl").write_bytes(original)
    assert caught.value.check == "SY912" and "(every file) has sha256" in caught.value.message
    assert not (registry_repo.root / ".shipyard-cache" / "artifacts" / "iris" / "2.0.0").exists()


def test_mlflow_model_over_rest_and_grpc(served: MLServerServer, mlflow_env: SideEnv) -> None:
    body = v2_request(ROWS)
    rest = _post(served.infer_url, body)
    assert [o["data"] for o in rest["outputs"]] == [["setosa", "virginica"]], rest
    done = subprocess.run([str(mlflow_env.python), str(RUNTIME_DIR / "v2_probe.py"), "--call", served.grpc_endpoint,
                           served.model_name, json.dumps(body)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    call = json.loads(done.stdout.strip().splitlines()[-1])["calls"][0]
    assert call["server_ready"] and call["model_ready"] and call["error"] is None, call
    assert [list(o["data"]) for o in call["response"]["outputs"]] == [["setosa", "virginica"]]


def test_mlflow_server_under_the_seldon_protocol_is_refused_clearly() -> None:
    with pytest.raises(ShipyardError) as caught:
        runtime_for("MLFLOW_SERVER", "seldon", where="iris 2.0.0")
    assert caught.value.check == "SY900" and "seldonio/mlflowserver:1.17.1" in caught.value.message
    assert "conda" in caught.value.message
