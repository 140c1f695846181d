"""The tabular-xgb pipeline: compiled and current, run locally end to end, and its
cluster objects (XGBoostJob, Katib Experiment) shaped as the v1.9.4 / v0.19.0
APIs and webhooks want them, with the metrics line Katib's collector parses.

The training code (pipelines/tabular-xgb/train.py) runs in .venv-tabular-xgb
(tools/envs/tabular-xgb.txt), built on first use like .venv-kfp.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard import envs
from shipyard.envs import SideEnv

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINE = REPO_ROOT / "pipelines" / "tabular-xgb"
JOBS = PIPELINE / "jobs"
TRAIN_PY = PIPELINE / "train.py"
IMAGE_TRAIN_PY = "/opt/tabular-xgb/train.py"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
COMPONENT_IMAGE = "ghcr.io/example/shipyard-kfp:2.17.0-sklearn1.5.2"

# Katib v0.19.0 pkg/metricscollector/v1beta1/common/const.go, DefaultFilter: what the
# StdOut collector applies when the Experiment sets no metricsCollectorSpec.source.filter.
KATIB_DEFAULT_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
# The filter of older Katib releases, which the printed lines must satisfy too.
KATIB_OLD_FILTER = r"([\w|-]+)\s*=\s*((-?\d+)(\.\d+)?)"


@pytest.fixture(scope="session")
def xgb_env() -> SideEnv:
    return envs.ensure("tabular-xgb", envs.toolkit_root()).env


@pytest.fixture(scope="session")
def trial_run(xgb_env: SideEnv, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str, dict[str, Any]]:
    """One Katib trial's command run here with sample parameters: (command, stdout, metrics file).
    Shared by the tests that read its output, since every start of train.py imports xgboost."""
    command = trial_command(manifest("experiment.yaml"), {"max-depth": 4, "eta": 0.15, "n-estimators": 50},
                            xgb_env.python)
    metrics_file = tmp_path_factory.mktemp("trial") / "metrics.json"
    done = subprocess.run([*command, f"--metrics-file={metrics_file}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return command, done.stdout, json.loads(metrics_file.read_text())


def manifest(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((JOBS / name).read_text())
    return loaded


def master_container(job_spec: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = job_spec["xgbReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "xgboost"]
    return container


def katib_parse(stdout: str, metrics: list[str], pattern: str = KATIB_DEFAULT_FILTER) -> list[tuple[str, str]]:
    """Katib's text-format parser (file-metricscollector parseLogsInTextFormat): a line is
    looked at only if it contains a metric's name; every match of the filter whose
    first group is exactly a metric name is an observation (name, value)."""
    regexp = re.compile(pattern)
    found = []
    for line in stdout.split("\n"):
        if not any(m in line for m in metrics):
            continue
        for match in regexp.finditer(line):
            name, value = match.group(1).strip(), match.group(2).strip()
            if name in metrics:
                found.append((name, value))
    return found


def trial_command(experiment: dict[str, Any], values: dict[str, Any], python: Path) -> list[str]:
    """The primary container's command of a trial, as Katib would create it, for this machine."""
    template = experiment["spec"]["trialTemplate"]
    container = master_container(template["trialSpec"]["spec"])
    text = json.dumps(container["command"] + container["args"])
    for parameter in template["trialParameters"]:
        text = text.replace("${trialParameters.%s}" % parameter["name"], str(values[parameter["reference"]]))
    local = {"python": str(python), IMAGE_TRAIN_PY: str(TRAIN_PY)}
    return [local.get(part, part) for part in json.loads(text)]


# -- compiled pipeline ---------------------------------------------------------------------------

@pytest.mark.sidecar_env
def test_committed_pipeline_yaml_and_deploy_are_current(kfp_env) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run([str(kfp_env.python), str(REPO_ROOT / "pipelines" / "kfp_tool.py"), "check", "tabular-xgb"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_steps_order_images_and_the_manifests_they_carry() -> None:
    spec = yaml.safe_load((PIPELINE / "pipeline.yaml").read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()} == {
        "tune": set(), "train": {"tune"}, "register": {"train", "tune"}}
    for name, task in tasks.items():
        assert not task.get("cachingOptions", {}).get("enableCache"), name  # cluster objects and side effects
    for name, executor in spec["deploymentSpec"]["executors"].items():
        container = executor["container"]
        assert container["image"] == COMPONENT_IMAGE, name
        assert not any("pip install" in part for part in container["command"] + container.get("args", [])), name
    # What a cluster run creates is what git holds: the manifests are embedded at compile time.
    constant = {key: value["runtimeValue"]["constant"] for task in tasks.values()
                for key, value in task["inputs"]["parameters"].items() if "runtimeValue" in value}
    assert constant["experiment_manifest"] == (JOBS / "experiment.yaml").read_text()
    assert constant["cpu_job_manifest"] == (JOBS / "xgboostjob.yaml").read_text()
    assert constant["gpu_job_manifest"] == (JOBS / "xgboostjob-gpu.yaml").read_text()
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["runner"]["defaultValue"] == "local" and params["environment"]["defaultValue"] == "dev"


# -- the cluster objects -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["xgboostjob.yaml", "xgboostjob-gpu.yaml"])
def test_xgboostjob_is_what_the_v1_9_4_webhook_admits(name: str) -> None:
    """training-operator v1.9.4 pkg/webhooks/xgboost: a DNS-1035 name, replica types Master
    and Worker only, exactly one Master, a container named xgboost with an image in each."""
    job = manifest(name)
    assert (job["apiVersion"], job["kind"]) == ("kubeflow.org/v1", "XGBoostJob")
    assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", job["metadata"]["name"])
    replicas = job["spec"]["xgbReplicaSpecs"]
    assert set(replicas) <= {"Master", "Worker"} and replicas["Master"]["replicas"] == 1
    for spec in replicas.values():
        containers = spec["template"]["spec"]["containers"]
        assert all(c.get("image") for c in containers) and any(c["name"] == "xgboost" for c in containers)
        assert spec["restartPolicy"] in ("Always", "OnFailure", "Never", "ExitCode")
    container = master_container(job["spec"])
    assert container["command"] == ["python", IMAGE_TRAIN_PY] and container["args"][0] == "train"


def test_the_gpu_job_is_the_cpu_job_on_one_gpu() -> None:
    cpu, gpu = manifest("xgboostjob.yaml"), manifest("xgboostjob-gpu.yaml")
    gpu_pod = gpu["spec"]["xgbReplicaSpecs"]["Master"]["template"]["spec"]
    assert gpu_pod.pop("nodeSelector") == {"nvidia.com/gpu.present": "true"}
    assert gpu_pod.pop("tolerations") == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    gpu_container = master_container(gpu["spec"])
    assert gpu_container["resources"]["limits"].pop("nvidia.com/gpu") == 1
    assert "--device=cuda" in gpu_container["args"] and "--device=cpu" in master_container(cpu["spec"])["args"]
    gpu_container["args"] = [a.replace("--device=cuda", "--device=cpu") for a in gpu_container["args"]]
    assert gpu["metadata"].pop("name") == "tabular-xgb-train-gpu"
    cpu["metadata"].pop("name")
    assert gpu == cpu


def test_experiment_trial_template_is_consistent() -> None:
    """What Katib v0.19.0's Experiment validation wants of a trial template: every
    ${trialParameters.x} is defined, every defined one is used and references a search
    parameter, the primary container and pod labels name the XGBoostJob's Master."""
    experiment = manifest("experiment.yaml")
    spec = experiment["spec"]
    assert (experiment["apiVersion"], experiment["kind"]) == ("kubeflow.org/v1beta1", "Experiment")
    assert spec["objective"]["objectiveMetricName"] == "validation_logloss" and spec["objective"]["type"] == "minimize"
    assert spec["algorithm"]["algorithmName"] in ("random", "tpe")
    assert spec["metricsCollectorSpec"]["collector"]["kind"] == "StdOut" and "source" not in spec["metricsCollectorSpec"]
    template = spec["trialTemplate"]
    used = set(re.findall(r"\$\{trialParameters\.([A-Za-z0-9_-]+)\}", json.dumps(template["trialSpec"])))
    defined = {p["name"]: p["reference"] for p in template["trialParameters"]}
    assert used == set(defined)
    assert set(defined.values()) == {p["name"] for p in spec["parameters"]} == {"max-depth", "eta", "n-estimators"}
    trial = template["trialSpec"]
    assert (trial["apiVersion"], trial["kind"]) == ("kubeflow.org/v1", "XGBoostJob")
    assert template["primaryContainerName"] == master_container(trial["spec"])["name"] == "xgboost"
    assert template["primaryPodLabels"] == {"training.kubeflow.org/job-role": "master"}
    assert trial["spec"]["xgbReplicaSpecs"]["Master"]["replicas"] == 1


def test_the_manifests_validate(mirror_dir: Path) -> None:
    files = [str(JOBS / n) for n in ("xgboostjob.yaml", "xgboostjob-gpu.yaml", "experiment.yaml")]
    done = subprocess.run([SHIPYARD, "validate", *files], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s), 0 warning(s)" in done.stdout + done.stderr


# -- the training code ---------------------------------------------------------------------------

@pytest.mark.sidecar_env
def test_katib_stdout_collector_parses_the_trial_objective(trial_run: tuple[list[str], str, dict[str, Any]]) -> None:
    """The trial's own command, with sample parameters, prints lines Katib's default
    filter reads: the objective first, with the value the metrics file records."""
    command, stdout, recorded = trial_run
    assert command[2:6] == ["train", "--max-depth=4", "--eta=0.15", "--n-estimators=50"]
    objective = manifest("experiment.yaml")["spec"]["objective"]
    names = [objective["objectiveMetricName"], *objective["additionalMetricNames"]]
    observed = katib_parse(stdout, names)
    assert [name for name, _ in observed] == names  # each once, the objective first
    for name, value in observed:
        assert float(value) == recorded["metrics"][name]
    assert 0 < float(observed[0][1]) < 0.3
    assert katib_parse(stdout, names, KATIB_OLD_FILTER) == observed
    # nothing but the metric lines carries an `=`, so no other line can be read as a metric
    assert all(re.fullmatch(r"[a-z0-9_]+=[0-9.]+", line) for line in stdout.splitlines() if "=" in line)


# -- the pipeline, run locally -------------------------------------------------------------------

@pytest.fixture()
def xgb_clone(repo_clone: Path) -> Path:
    """The clone of conftest.repo_clone with this checkout's models/tabular-xgb (before it is committed)."""
    target = repo_clone / "models" / "tabular-xgb"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(REPO_ROOT / "models" / "tabular-xgb", target)
    git = ["git", "-C", str(repo_clone), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "tabular-xgb under test"], check=True)
    return repo_clone


def run_pipeline(clone: Path, store: Path, version: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPYARD, "pipeline", "run", "tabular-xgb", "--repo", str(clone), "--version", version,
         "--model-store", str(store), "--pipeline-root", str(store.parent / f"root-{version}"), *extra],
        capture_output=True, text=True, timeout=300,
    )


@pytest.mark.sidecar_env
def test_local_run_tunes_trains_and_registers(kfp_env, xgb_env: SideEnv, xgb_clone: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    done = run_pipeline(xgb_clone, store, "2.0.0", "--param", "trials=3", "--param", "git_commit=false")
    assert done.returncode == 0, done.stderr
    artifact = store / "tabular-xgb" / "2.0.0" / "model.json"
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    model = yaml.safe_load((xgb_clone / "models" / "tabular-xgb" / "model.yaml").read_text())
    (entry,) = [v for v in model["spec"]["versions"] if v["version"] == "2.0.0"]
    assert entry["modelUri"] == f"file://{store}/tabular-xgb/2.0.0" and entry["sha256"] == digest
    metrics = entry["metrics"]
    assert metrics["accuracy"] >= 0.92 and metrics["auc"] >= 0.97  # the model's staging and production gates
    assert {"tuned_max_depth", "tuned_eta", "tuned_n_estimators", "validation_logloss"} <= set(metrics)
    assert entry["evaluation"]["dataset"] == "breast-cancer-test"
    assert (xgb_clone / "models" / "tabular-xgb" / "versions" / "2.0.0" / "kustomization.yaml").is_file()
    log = (store.parent / "root-2.0.0" / "run.log").read_text()
    # the local switch: train ran the XGBoostJob's own command, with the tuned values, on the CPU (dev)
    assert "running the XGBoostJob's command locally:" in log
    assert f"{TRAIN_PY.name} train --max-depth={metrics['tuned_max_depth']} --eta={metrics['tuned_eta']}" in log
    assert "--device=cpu" in log
    # the local search: trials drawn from the Experiment's space, the best one's values trained
    space = {p["name"].replace("-", "_"): p["feasibleSpace"] for p in manifest("experiment.yaml")["spec"]["parameters"]}
    trials = [json.loads(t) for t in re.findall(r"trial \d+: (\{.*\}) -> validation_logloss", log)]
    assert len(trials) == 3 and {"max_depth": metrics["tuned_max_depth"], "eta": metrics["tuned_eta"],
                                 "n_estimators": metrics["tuned_n_estimators"]} in trials
    for trial in trials:
        assert all(float(space[k]["min"]) <= v <= float(space[k]["max"]) for k, v in trial.items())
    # the artifact is an XGBoost model that predicts (what MLServer's runtime loads: model.json)
    check = ("import sys, xgboost; from sklearn.datasets import load_breast_cancer; "
             "b = xgboost.Booster(model_file=sys.argv[1]); x = load_breast_cancer().data[:5]; "
             "p = b.predict(xgboost.DMatrix(x)); print(len(p), float(p.min()) >= 0, float(p.max()) <= 1)")
    loaded = subprocess.run([str(xgb_env.python), "-c", check, str(artifact)], capture_output=True, text=True, timeout=60)
    assert loaded.stdout.split() == ["5", "True", "True"], loaded.stderr


CLUSTER_BRANCH = r'''
import inspect, json, sys, types
sys.path.insert(0, sys.argv[1])
import kfp_tool
from kfp import dsl

created = []
log = open(sys.argv[3]).read()

class ConfigException(Exception):
    pass

def load_incluster_config():
    raise ConfigException("not in a cluster")

class CustomObjectsApi:
    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        created.append({"group": group, "version": version, "namespace": namespace, "plural": plural, "body": body})
    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        return {"status": {"conditions": [{"type": "Succeeded", "status": "True"}]}}

class CoreV1Api:
    def read_namespaced_pod_log(self, name, namespace, container):
        created.append({"log_of": name, "container": container})
        return log

kubernetes = types.ModuleType("kubernetes")
kubernetes.client = types.SimpleNamespace(CustomObjectsApi=CustomObjectsApi, CoreV1Api=CoreV1Api)
kubernetes.config = types.SimpleNamespace(ConfigException=ConfigException, load_incluster_config=load_incluster_config,
                                          load_kube_config=lambda: None)
sys.modules["kubernetes"] = kubernetes

module = kfp_tool.load_pipeline_module("tabular-xgb")
model, metrics = dsl.Model(name="model", uri=sys.argv[2] + "/model"), dsl.Metrics(name="metrics", uri=sys.argv[2] + "/m")
scores = module.train.python_func(
    cpu_job_manifest=module.CPU_JOB_MANIFEST, gpu_job_manifest=module.GPU_JOB_MANIFEST, environment="staging",
    runner="cluster", max_depth=5, eta=0.05, n_estimators=150, seed=42, repo_root="", train_python="",
    shipyard_bin="", run_name="run-1", model=model, metrics=metrics)
refused = []
for step in (module.tune, module.train):
    try:
        names = inspect.signature(step.python_func).parameters
        step.python_func(**{k: ("laptop" if k == "runner" else None) for k in names})
    except ValueError as exc:
        refused.append(str(exc))
print(json.dumps({"created": created, "scores": scores._asdict(), "location": model.metadata["location"],
                  "refused": refused}))
'''


@pytest.mark.sidecar_env
def test_cluster_runner_creates_the_gpu_xgboostjob_and_reads_its_log(kfp_env, trial_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """runner=cluster in staging: the train step creates the GPU manifest's XGBoostJob with the
    tuned values and reads the metrics from the Master pod's log (here the real output of
    train.py, through a stand-in for the kubernetes client). A runner that is neither
    local nor cluster is refused before anything runs."""
    _, stdout, _ = trial_run
    (tmp_path / "pod.log").write_text(stdout)
    script = tmp_path / "cluster_branch.py"
    script.write_text(CLUSTER_BRANCH)
    done = subprocess.run([str(kfp_env.python), str(script), str(REPO_ROOT / "pipelines"), str(tmp_path),
                           str(tmp_path / "pod.log")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    job_call, log_call = result["created"]
    assert (job_call["group"], job_call["version"], job_call["plural"], job_call["namespace"]) == (
        "kubeflow.org", "v1", "xgboostjobs", "kubeflow")
    job = job_call["body"]
    name = job["metadata"]["name"]
    assert re.fullmatch(r"tabular-xgb-train-[0-9a-f]{8}", name)
    container = master_container(job["spec"])
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["args"][:6] == ["train", "--max-depth=5", "--eta=0.05", "--n-estimators=150", "--seed=42",
                                     "--device=cuda"]
    assert f"--model-dir=/mnt/artifacts/{name}/model" in container["args"]
    assert log_call == {"log_of": f"{name}-master-0", "container": "xgboost"}
    stdout_metrics = dict(katib_parse(stdout, ["test_accuracy", "validation_logloss"]))
    assert result["scores"]["accuracy"] == float(stdout_metrics["test_accuracy"])
    assert result["scores"]["test_digest"].startswith("sha256:")
    assert result["location"] == f"pvc kubeflow/tabular-xgb-artifacts: {name}/model/model.json"
    assert result["refused"] == ["runner must be 'local' or 'cluster', got 'laptop'"] * 2
