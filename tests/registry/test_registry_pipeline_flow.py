"""The whole flow, driven from the pipeline: `shipyard pipeline run iris`
(kfp's local runner) with ``mlflow_uri`` logs the run to a real MLflow
server whose artifacts are in a real S3 API (`rclone serve s3`), registers a
model version there and imports it into model.yaml; `shipyard promote`
pins it in dev; `shipyard mlflow aliases` sets MLflow's dev alias on it.
MLflow's registry and model.yaml must then say the same thing about the
version: its number, run, metrics and artifact URI, and the artifact's
digest must be that of the folder in the bucket.

Nothing is mocked; the run registers into a git clone of this checkout
(with this checkout's pipelines/ copied over it), never into
models/iris/model.yaml here."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow_loopback import ARTIFACTS, S3_BUCKET, MlflowStack

pytestmark = pytest.mark.sidecar_env

ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(ROOT / ".venv" / "bin" / "shipyard")
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture(scope="session")
def kfp_env():  # type: ignore[no-untyped-def]
    from shipyard import envs

    return envs.ensure("kfp", envs.toolkit_root()).env


def _clone(tmp_path: Path) -> Path:
    """This checkout's committed state, with its pipelines/ over it, committed."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["cp", "-r", str(ROOT / "pipelines") + "/.", str(clone / "pipelines")], check=True)
    subprocess.run(["git", "-C", str(clone), "add", "-A"], check=True, env={**_env(), **GIT_ENV})
    subprocess.run(["git", "-C", str(clone), "commit", "-q", "--allow-empty", "-m", "pipelines under test"],
                   check=True, env={**_env(), **GIT_ENV})
    return clone


def _env(stack: MlflowStack | None = None) -> dict[str, str]:
    import os

    env = stack.environ() if stack is not None else dict(os.environ)
    env.update(GIT_ENV)
    return env


def _shipyard(clone: Path, stack: MlflowStack, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SHIPYARD, *args, "--repo", str(clone)] if args[0] != "pipeline" else [SHIPYARD, *args],
                          env=_env(stack), capture_output=True, text=True, timeout=timeout, cwd=clone)


def _entry(clone: Path, version: str) -> dict[str, Any]:
    doc = yaml.safe_load((clone / "models" / "iris" / "model.yaml").read_text(encoding="utf-8"))
    found: dict[str, Any] = next(v for v in doc["spec"]["versions"] if v["version"] == version)
    return found


def test_pipeline_to_mlflow_to_model_yaml_to_promote_to_alias(kfp_env, mlflow_stack: MlflowStack,  # type: ignore[no-untyped-def]
                                                              tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    store = f"s3://{S3_BUCKET}"
    run = _shipyard(clone, mlflow_stack, "pipeline", "run", "iris", "--repo", str(clone), "--version", "1.3.0",
                    "--model-store", store, "--param", f"mlflow_uri={mlflow_stack.tracking_uri}",
                    "--pipeline-root", str(tmp_path / "root"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "pipeline iris finished in" in run.stdout
    branch = subprocess.run(["git", "-C", str(clone), "branch", "--show-current"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert branch == "register/iris-1.3.0"  # the register step committed the import for review

    entry = _entry(clone, "1.3.0")
    lineage = entry["mlflow"]
    assert set(lineage) == {"model", "version", "runId", "experimentId"} and lineage["model"] == "iris"

    # MLflow's side: the model version, its run, and what the run logged
    version = mlflow_stack.api("GET", "/model-versions/get",
                               {"name": "iris", "version": lineage["version"]})["model_version"]
    assert version["run_id"] == lineage["runId"] and version["status"] == "READY"
    mlflow_run = mlflow_stack.api("GET", "/runs/get", {"run_id": lineage["runId"]})["run"]
    assert mlflow_run["info"]["experiment_id"] == lineage["experimentId"]
    metrics = {m["key"]: m["value"] for m in mlflow_run["data"]["metrics"]}
    assert metrics == entry["metrics"] and set(metrics) == {"accuracy", "f1_macro"}
    assert 0.9 <= metrics["accuracy"] <= 1.0
    params = {p["key"]: p["value"] for p in mlflow_run["data"]["params"]}
    assert params == {"regularization": "3.0", "seed": "42", "test_fraction": "0.2"}
    tags = {t["key"]: t["value"] for t in mlflow_run["data"]["tags"]}
    assert tags["shipyard.version"] == "1.3.0"
    assert tags["shipyard.pipelineRun"] == entry["pipelineRun"] and entry["pipelineRun"].startswith("iris-")
    assert entry["evaluation"] == {"dataset": tags["shipyard.dataset"], "digest": tags["shipyard.datasetDigest"]}
    assert entry["evaluation"]["dataset"] == "iris-test" and entry["evaluation"]["digest"].startswith("sha256:")

    # the artifact: MLflow's source, resolved to the bucket, is model.yaml's modelUri
    path = f"{lineage['experimentId']}/{lineage['runId']}/artifacts/model"
    assert version["source"] == f"mlflow-artifacts:/{path}"
    assert entry["modelUri"] == f"{ARTIFACTS}/{path}"
    folder = mlflow_stack.s3_root / S3_BUCKET / "mlflow" / path
    assert {"MLmodel", "model.pkl", "model.joblib"} <= {p.name for p in folder.iterdir()}
    # SKLEARN_SERVER loads model.joblib; the registered digest is that file's
    assert entry["sha256"] == hashlib.sha256((folder / "model.joblib").read_bytes()).hexdigest()

    # promote to dev (a branch and commit), then MLflow's dev alias follows the pin
    promoted = _shipyard(clone, mlflow_stack, "promote", "iris", "--version", "1.3.0", "--to", "dev")
    assert promoted.returncode == 0, promoted.stderr
    aliases = _shipyard(clone, mlflow_stack, "mlflow", "aliases", "--mlflow-uri", mlflow_stack.tracking_uri)
    assert aliases.returncode == 0, aliases.stderr
    assert f"set iris@dev -> version {lineage['version']}" in aliases.stdout
    assert mlflow_stack.aliases("iris")["dev"] == lineage["version"]
    by_alias = mlflow_stack.api("GET", "/registered-models/alias", {"name": "iris", "alias": "dev"})["model_version"]
    assert by_alias["run_id"] == entry["mlflow"]["runId"]

    # the drift step: iris declares spec.drift, so its detector was built from
    # the training rows and published beside the version in the store
    detector = mlflow_stack.s3_root / S3_BUCKET / "iris" / "drift" / "1.3.0"
    assert detector.is_dir() and any(detector.iterdir()), run.stdout[-2000:]
    assert f"drift detector of iris 1.3.0 (KSDrift, p-value 0.05, 120 reference rows) published {store}/iris/drift/1.3.0" \
        in (tmp_path / "root" / "run.log").read_text(encoding="utf-8")


def version_tags(version: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in version.get("tags", [])}
