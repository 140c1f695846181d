"""The cluster hand-off of tabular-xgb: the XGBoostJob's container publishes
model.json to the model store, and the pipeline registers what it printed.

On a cluster the Master container of pipelines/tabular-xgb/jobs/xgboostjob*.yaml
runs ``train.py train ... --publish-to=<store>/<model>/<version>`` with the
store's credentials Secret as its environment (envFrom), and uploads with
rclone. Here that very command (the manifest's, with the image's paths
mapped to this checkout) runs with .venv-tabular-xgb's Python, the real
rclone of .venv-rclone on PATH and the Secret's RCLONE_CONFIG_S3_* variables
(docs/registry.md's example) pointed at a real S3 API on loopback
(`rclone serve s3`). The pipeline's train step (runner=cluster) then reads
that output as the pod's log and its register step runs the real `shipyard
register` in a scratch copy of this repository. What cannot run here is the
cluster itself: the kubernetes client is a stand-in that records the
XGBoostJob it is given and returns the log above; the image, the Secret,
the PVC and the Training Operator are not exercised.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from s3_loopback import S3_ACCESS_KEY, S3_BUCKET, S3_SECRET_KEY, S3Server

from shipyard import envs
from shipyard.e2e.scratch import scratch_copy
from shipyard.envs import SideEnv

pytestmark = pytest.mark.sidecar_env

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = REPO_ROOT / "pipelines" / "tabular-xgb"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
VERSION = "3.0.0"


@pytest.fixture(scope="module")
def xgb_env() -> SideEnv:
    return envs.ensure("tabular-xgb", envs.toolkit_root()).env


@pytest.fixture(scope="module")
def kfp_env() -> SideEnv:
    return envs.ensure("kfp", envs.toolkit_root()).env


def secret_environment(server: S3Server, rclone: Path, *, secret: str = S3_SECRET_KEY) -> dict[str, str]:
    """What the container's environment is on the cluster: the model store
    Secret's keys (as docs/registry.md writes them for MinIO), nothing of
    this machine's AWS or RCLONE settings, and rclone on PATH (the image
    installs it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_"))}
    env.update({"RCLONE_CONFIG_S3_TYPE": "s3", "RCLONE_CONFIG_S3_PROVIDER": "Minio",
                "RCLONE_CONFIG_S3_ENV_AUTH": "false", "RCLONE_CONFIG_S3_ENDPOINT": server.endpoint,
                "RCLONE_CONFIG_S3_ACCESS_KEY_ID": S3_ACCESS_KEY, "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": secret,
                "PATH": f"{rclone.parent}{os.pathsep}{env.get('PATH', '')}"})
    return env


def job_command(python: Path, workdir: Path, publish_to: str, **values: Any) -> list[str]:
    """The Master container's command of jobs/xgboostjob.yaml as the train
    step renders it for runner=cluster, with the image's paths mapped here."""
    job = yaml.safe_load((PIPELINE / "jobs" / "xgboostjob.yaml").read_text())
    (container,) = job["spec"]["xgbReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"secretRef": {"name": "model-store-credentials"}}]
    args = []
    for arg in container["args"]:
        flag = arg.split("=", 1)[0]
        key = flag.lstrip("-").replace("-", "_")
        args.append(f"{flag}={values[key]}" if key in values else arg.replace("/mnt/artifacts", str(workdir)))
    local = {"python": str(python), "/opt/tabular-xgb/train.py": str(PIPELINE / "train.py")}
    return [local.get(p, p) for p in container["command"]] + args + [f"--publish-to={publish_to}"]


def stored(server: S3Server, uri: str) -> Path:
    return server.root / uri[len("s3://"):]


@pytest.fixture(scope="module")
def published(s3_server: S3Server, rclone_env: SideEnv, xgb_env: SideEnv,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the job's command with --publish-to: its output, the folder it published to."""
    store = f"s3://{S3_BUCKET}/handoff-{uuid.uuid4().hex[:8]}"
    folder = f"{store}/tabular-xgb/{VERSION}"
    work = tmp_path_factory.mktemp("job")
    command = job_command(xgb_env.python, work, folder, eta=0.2, n_estimators=40)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=secret_environment(s3_server, rclone_env.bin("rclone")))
    assert done.returncode == 0, done.stderr
    return {"store": store, "folder": folder, "work": work, "command": command, "stdout": done.stdout,
            "model": work / "model" / "model.json"}


def test_the_jobs_container_publishes_model_json_to_the_store(published: dict[str, Any], s3_server: S3Server) -> None:
    local = published["model"]
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    line = f"published: {published['folder']}/model.json sha256 {digest}"
    assert line in published["stdout"].splitlines()
    assert "=" not in line  # never read as a Katib metric
    there = stored(s3_server, f"{published['folder']}/model.json")
    assert hashlib.sha256(there.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in there.parent.iterdir()) == ["model.json"]


def test_the_same_bytes_again_are_a_no_op_and_other_bytes_are_refused(
        published: dict[str, Any], s3_server: S3Server, rclone_env: SideEnv, xgb_env: SideEnv, tmp_path: Path) -> None:
    env = secret_environment(s3_server, rclone_env.bin("rclone"))
    there = stored(s3_server, f"{published['folder']}/model.json")
    before = there.read_bytes()
    again = subprocess.run(published["command"], capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    assert f"already in the store: {published['folder']}/model.json sha256 " in again.stdout
    other = job_command(xgb_env.python, tmp_path, published["folder"], eta=0.3, n_estimators=40)
    refused = subprocess.run(other, capture_output=True, text=True, timeout=300, env=env)
    assert refused.returncode == 1
    assert f"error: {published['folder']}/model.json already holds different bytes" in refused.stderr
    assert "versions are immutable" in refused.stderr and "Traceback" not in refused.stderr
    assert there.read_bytes() == before


def test_store_errors_are_clear(s3_server: S3Server, rclone_env: SideEnv, xgb_env: SideEnv, tmp_path: Path) -> None:
    folder = f"s3://{S3_BUCKET}/handoff-bad/tabular-xgb/{VERSION}"
    wrong = secret_environment(s3_server, rclone_env.bin("rclone"), secret="not-the-secret")
    done = subprocess.run(job_command(xgb_env.python, tmp_path, folder), capture_output=True, text=True,
                          timeout=300, env=wrong)
    assert done.returncode == 1 and done.stderr.startswith(f"error: cannot list {folder}: ")
    assert "not-the-secret" not in done.stderr and "Traceback" not in done.stderr
    # a folder of this machine is refused before training starts
    local = subprocess.run(job_command(xgb_env.python, tmp_path, f"file://{tmp_path}/store"), capture_output=True,
                           text=True, timeout=300, env=wrong)
    assert local.returncode == 2 and "a model store is s3://bucket/... or gs://bucket/..." in local.stderr
    assert "trained tabular-xgb" not in local.stdout


STEPS = r'''
import json, sys, types
sys.path.insert(0, sys.argv[1])
import kfp_tool
from kfp import dsl

args = json.loads(sys.argv[2])
created = []

class ConfigException(Exception):
    pass

def load_incluster_config():
    raise ConfigException("not in a cluster")

class CustomObjectsApi:
    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        created.append(body)
    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        return {"status": {"conditions": [{"type": "Succeeded", "status": "True"}]}}

class CoreV1Api:
    def read_namespaced_pod_log(self, name, namespace, container):
        return open(args["log"]).read()

kubernetes = types.ModuleType("kubernetes")
kubernetes.client = types.SimpleNamespace(CustomObjectsApi=CustomObjectsApi, CoreV1Api=CoreV1Api)
kubernetes.config = types.SimpleNamespace(ConfigException=ConfigException, load_incluster_config=load_incluster_config,
                                          load_kube_config=lambda: None)
sys.modules["kubernetes"] = kubernetes

module = kfp_tool.load_pipeline_module("tabular-xgb")
out = {}
model = dsl.Model(name="model", uri=args["tmp"] + "/model")
metrics = dsl.Metrics(name="metrics", uri=args["tmp"] + "/m")
common = dict(cpu_job_manifest=module.CPU_JOB_MANIFEST, gpu_job_manifest=module.GPU_JOB_MANIFEST,
              environment="staging", runner="cluster", max_depth=3, eta=0.2, n_estimators=40, seed=42, repo_root="",
              train_python="", shipyard_bin="", run_name="run-1", model=model, metrics=metrics,
              model_name="tabular-xgb", version=args["version"])
try:
    module.train.python_func(**{**common, "model_store": "/srv/models"})
except ValueError as exc:
    out["local_store"] = str(exc)
scores = module.train.python_func(**{**common, "model_store": args["store"]})
out["job_args"] = created[-1]["spec"]["xgbReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["args"]
out["metadata"] = dict(model.metadata)
register = dict(model=model, accuracy=scores.accuracy, f1=scores.f1, auc=scores.auc, logloss=scores.logloss,
                validation_logloss=scores.validation_logloss, max_depth=3, eta=0.2, n_estimators=40,
                dataset_digest=scores.test_digest, runner="cluster", model_name="tabular-xgb",
                version=args["version"], model_store=args["store"], repo_root=args["repo"],
                shipyard_bin=args["shipyard"], git_commit=False, pipeline_run="run-1")
unpublished = dsl.Model(name="model", uri=args["tmp"] + "/other")
unpublished.metadata["location"] = "pvc kubeflow/tabular-xgb-artifacts: x/model/model.json"
try:
    module.register.python_func(**{**register, "model": unpublished})
except RuntimeError as exc:
    out["unpublished"] = str(exc)
out["uri"] = module.register.python_func(**register)
print(json.dumps(out))
'''


def test_the_pipeline_registers_what_the_job_published(published: dict[str, Any], kfp_env: SideEnv,
                                                       tmp_path: Path) -> None:
    """runner=cluster: the train step gives the job --publish-to and reads the
    URI and sha256 from its log; register records exactly those, with the
    real `shipyard register`; without them it stops naming the volume."""
    repo = scratch_copy(REPO_ROOT, tmp_path / "repo")
    log = tmp_path / "pod.log"
    log.write_text(published["stdout"])
    script = tmp_path / "steps.py"
    script.write_text(STEPS)
    args = {"log": str(log), "tmp": str(tmp_path), "version": VERSION, "store": published["store"],
            "repo": str(repo), "shipyard": SHIPYARD}
    done = subprocess.run([str(kfp_env.python), str(script), str(REPO_ROOT / "pipelines"), json.dumps(args)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "a job on the cluster publishes to s3:// or gs:// only" in out["local_store"]
    assert out["job_args"][-1] == f"--publish-to={published['folder']}"
    digest = hashlib.sha256(published["model"].read_bytes()).hexdigest()
    assert (out["metadata"]["uri"], out["metadata"]["sha256"]) == (published["folder"], digest)
    assert "pvc kubeflow/tabular-xgb-artifacts: x/model/model.json and was not published" in out["unpublished"]
    assert out["uri"] == published["folder"]
    model = yaml.safe_load((repo / "models" / "tabular-xgb" / "model.yaml").read_text())
    (entry,) = [v for v in model["spec"]["versions"] if v["version"] == VERSION]
    assert entry["modelUri"] == published["folder"] and entry["sha256"] == digest
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", entry["evaluation"]["digest"])
    assert entry["metrics"]["tuned_eta"] == 0.2
