"""The compiled iris pipeline: current, shaped as intended, and deployable through git."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
IRIS = REPO_ROOT / "pipelines" / "iris"
COMPONENT_IMAGE = "ghcr.io/example/shipyard-kfp:2.17.0-sklearn1.5.2"


def compiled() -> dict[str, Any]:
    return yaml.safe_load((IRIS / "pipeline.yaml").read_text())


@pytest.mark.sidecar_env
def test_committed_pipeline_yaml_and_deploy_are_current(kfp_env) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run([str(kfp_env.python), str(REPO_ROOT / "pipelines" / "kfp_tool.py"), "check", "iris"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.sidecar_env
def test_a_changed_pipeline_makes_the_committed_output_stale(kfp_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "pipelines"
    shutil.copytree(REPO_ROOT / "pipelines", copy, ignore=shutil.ignore_patterns("__pycache__"))
    source = copy / "iris" / "pipeline.py"
    text = source.read_text()
    assert "seed: int = 42," in text
    source.write_text(text.replace("seed: int = 42,", "seed: int = 7,"))
    done = subprocess.run([str(kfp_env.python), str(copy / "kfp_tool.py"), "check", "iris"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "pipelines/iris/pipeline.yaml is stale: run `shipyard pipeline compile iris`" in done.stderr
    assert "pipelines/iris/deploy/pipelineversion.yaml is stale" in done.stderr
    # compiling brings it back in line, as normal files (never mkstemp's 0600)
    subprocess.run([str(kfp_env.python), str(copy / "kfp_tool.py"), "compile", "iris"], check=True, capture_output=True, timeout=120)
    assert subprocess.run([str(kfp_env.python), str(copy / "kfp_tool.py"), "check", "iris"], capture_output=True, timeout=120).returncode == 0
    written = [copy / "iris" / "pipeline.yaml", *(copy / "iris" / "deploy").iterdir()]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: 0o644 for p in written}


def test_steps_run_in_order_and_never_pip_install() -> None:
    spec = compiled()
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"load-data", "preprocess", "train", "evaluate", "register", "drift-detector"}
    after = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert after["preprocess"] == {"load-data"}
    assert after["train"] == {"preprocess"}
    assert after["evaluate"] == {"preprocess", "train"}
    assert after["register"] == {"evaluate", "train"}
    assert after["drift-detector"] == {"preprocess", "register"}  # the training rows, once the version is registered
    assert not tasks["register"].get("cachingOptions", {}).get("enableCache")  # side effects: never cached
    assert not tasks["drift-detector"].get("cachingOptions", {}).get("enableCache")
    assert tasks["train"]["cachingOptions"]["enableCache"] is True
    for name, executor in spec["deploymentSpec"]["executors"].items():
        container = executor["container"]
        assert container["image"] == COMPONENT_IMAGE, name
        assert not any("pip install" in part for part in container["command"] + container.get("args", [])), name


def test_pipeline_inputs_and_their_defaults() -> None:
    params = compiled()["root"]["inputDefinitions"]["parameters"]
    assert "defaultValue" not in params["version"] and "defaultValue" not in params["model_store"]
    assert params["model_name"]["defaultValue"] == "iris"
    assert params["git_commit"]["defaultValue"] is True
    assert params["test_fraction"]["defaultValue"] == 0.2


def _crd_schema(mirror: Path, plural: str) -> dict[str, Any]:
    crd = yaml.safe_load((mirror / "crds" / "kubeflow-pipelines" / f"pipelines.kubeflow.org_{plural}.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v2beta1"]
    return version["schema"]["openAPIV3Schema"]


def test_deploy_kustomization_builds_pipeline_resources_valid_for_the_crds(mirror_dir: Path) -> None:
    kubectl = REPO_ROOT / ".venv" / "bin" / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed in .venv (run make setup)")
    built = subprocess.run([str(kubectl), "kustomize", str(IRIS / "deploy")], capture_output=True, text=True, check=True, timeout=60).stdout
    docs = {d["kind"]: d for d in yaml.safe_load_all(built)}
    assert set(docs) == {"Pipeline", "PipelineVersion"}
    for kind, plural in (("Pipeline", "pipelines"), ("PipelineVersion", "pipelineversions")):
        assert docs[kind]["metadata"]["namespace"] == "kubeflow"
        jsonschema.validate(docs[kind], _crd_schema(mirror_dir, plural))
    version = docs["PipelineVersion"]
    assert version["spec"]["pipelineName"] == docs["Pipeline"]["metadata"]["name"] == "iris"
    assert version["spec"]["pipelineSpec"] == compiled()
    digest = version["metadata"]["annotations"]["shipyard.dev/pipeline-spec-sha256"]
    assert digest == hashlib.sha256((IRIS / "pipeline.yaml").read_bytes()).hexdigest()
    assert version["metadata"]["name"] == f"iris-{digest[:12]}"
