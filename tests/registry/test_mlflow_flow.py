"""The whole flow on loopback, against a real MLflow server and a real S3 API:
log and register a version in MLflow (`shipyard mlflow log`, MLflow's own
client in .venv-mlflow), import it (`shipyard register --from-mlflow`),
promote it to dev, and let git set MLflow's aliases (`shipyard mlflow
aliases`). Refusals: unknown versions, a stage instead of an alias,
artifacts a cluster cannot fetch, an unreachable server."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow_loopback import ARTIFACTS, DIGEST, MlflowStack

pytestmark = pytest.mark.sidecar_env

def _version(model_yaml: str, version: str) -> dict[str, Any]:
    doc = yaml.safe_load(model_yaml)
    found: dict[str, Any] = next(v for v in doc["spec"]["versions"] if v["version"] == version)
    return found


def test_logged_run_and_model_version_are_mlflows_own(logged: dict[str, Any], mlflow_stack: MlflowStack,
                                                     iris_joblib: Path) -> None:
    version = mlflow_stack.api("GET", "/model-versions/get", {"name": "iris", "version": logged["version"]})
    assert version["model_version"]["source"].startswith("mlflow-artifacts:/")
    run = mlflow_stack.api("GET", "/runs/get", {"run_id": logged["runId"]})["run"]
    assert {m["key"]: m["value"] for m in run["data"]["metrics"]} == {"accuracy": 0.98, "f1_macro": 0.97}
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"regularization": "3.0", "seed": "42"}
    # the artifacts went through the server into the S3 bucket: an MLflow model plus the joblib
    folder = mlflow_stack.s3_root / "shipyard-models" / "mlflow" / logged["experimentId"] / logged["runId"] / "artifacts" / "model"
    assert {"MLmodel", "model.pkl", "conda.yaml", "requirements.txt", "model.joblib"} <= {p.name for p in folder.iterdir()}
    assert (folder / "model.joblib").read_bytes() == iris_joblib.read_bytes()
    assert "mlflow_version: 2.4.2" in (folder / "MLmodel").read_text()


def test_from_mlflow_promote_and_aliases_follow_git(logged: dict[str, Any], stack_env: MlflowStack,
                                                    registry_repo: Any, iris_joblib: Path) -> None:
    ref = f"models:/iris/{logged['version']}"
    run = registry_repo.shipyard("register", "iris", "--from-mlflow", ref, "--commit")
    assert run.code == 0, run.err
    entry = _version(registry_repo.read("models/iris/model.yaml"), "1.3.0")
    uri = f"{ARTIFACTS}/{logged['experimentId']}/{logged['runId']}/artifacts/model"
    assert entry["modelUri"] == uri  # mlflow-artifacts:/ resolved to the bucket a cluster fetches from
    assert entry["sha256"] == hashlib.sha256(iris_joblib.read_bytes()).hexdigest()  # SKLEARN_SERVER's model.joblib
    assert entry["metrics"] == {"accuracy": 0.98, "f1_macro": 0.97}
    assert entry["evaluation"] == {"dataset": "iris-test", "digest": DIGEST} and entry["pipelineRun"] == "run-0042"
    assert entry["mlflow"] == {"model": "iris", "version": logged["version"], "runId": logged["runId"],
                               "experimentId": logged["experimentId"]}
    assert uri in registry_repo.read("models/iris/versions/1.3.0/kustomization.yaml")

    # the same version again, by alias this time: already registered, nothing written
    stack_env.api("POST", "/registered-models/alias", {"name": "iris", "alias": "candidate", "version": logged["version"]})
    again = registry_repo.shipyard("register", "iris", "--from-mlflow", "models:/iris@candidate")
    assert again.code == 0 and "nothing written" in again.out

    # a stale alias of an environment, and a person's own alias
    stack_env.api("POST", "/registered-models/alias", {"name": "iris", "alias": "staging", "version": logged["version"]})
    promoted = registry_repo.shipyard("promote", "iris", "--version", "1.3.0", "--to", "dev")
    assert promoted.code == 0, promoted.err
    dry = registry_repo.shipyard("mlflow", "aliases", "--dry-run")
    assert dry.code == 0, dry.err
    assert f"would set iris@dev -> version {logged['version']}: iris 1.3.0 runs in dev" in dry.out
    assert f"would remove iris@staging (was version {logged['version']})" in dry.out
    assert "iris 1.0.0 (stable in staging) was not imported from MLflow: no staging alias" in dry.out
    assert set(stack_env.aliases("iris")) == {"candidate", "staging"}  # a dry run changes nothing
    done = registry_repo.shipyard("mlflow", "aliases")
    assert done.code == 0, done.err
    assert stack_env.aliases("iris") == {"dev": logged["version"], "candidate": logged["version"]}
    assert "nothing to change" in registry_repo.shipyard("mlflow", "aliases").out


@pytest.mark.parametrize("args, check, text", [
    (["--from-mlflow", "models:/iris/999"], "SY915", "not found"),
    (["--from-mlflow", "models:/iris@nobody"], "SY915", "nobody"),
    (["--from-mlflow", "models:/iris/Production"], "SY900", "stages are deprecated"),
    (["--from-mlflow", "models:/iris/1", "--uri", "s3://x/y"], "SY900", "takes no --uri"),
    (["--from-mlflow", "models:/iris/1", "--mlflow-uri", "http://127.0.0.1:9"], "SY915", "cannot reach"),
])
def test_bad_references_are_refused_with_nothing_written(logged: dict[str, Any], stack_env: MlflowStack,
                                                         registry_repo: Any, args: list[str], check: str,
                                                         text: str) -> None:
    before = registry_repo.read("models/iris/model.yaml")
    run = registry_repo.shipyard("register", "iris", *args)
    assert run.code == 2 and f"[{check}]" in run.err and (text in run.err.lower() or text in run.err), run.err
    assert "Traceback" not in run.err
    assert registry_repo.read("models/iris/model.yaml") == before and not registry_repo.dirty()


def test_artifacts_a_cluster_cannot_fetch_are_refused(logged: dict[str, Any], stack_env: MlflowStack,
                                                      registry_repo: Any) -> None:
    settings = registry_repo.read("shipyard.yaml").replace(f"  artifactsDestination: {ARTIFACTS}\n", "  aliases: {}\n")
    registry_repo.write("shipyard.yaml", settings)
    registry_repo.commit_all("no artifacts destination")
    run = registry_repo.shipyard("register", "iris", "--from-mlflow", f"models:/iris/{logged['version']}")
    assert run.code == 2 and "[SY915]" in run.err and "mlflow.artifactsDestination" in run.err, run.err
    assert "1.3.0" not in registry_repo.read("models/iris/model.yaml")
