"""The tabular-xgb training pipeline: tune -> train -> register.

A Kubeflow Pipelines v2 pipeline (kfp SDK), like pipelines/iris, for an
XGBoost classifier of scikit-learn's bundled breast-cancer data set. The
training code is one module, pipelines/tabular-xgb/train.py; every step
that trains runs it, never a copy of it:

- ``runner="local"`` (the default; `shipyard pipeline run`): a step starts
  the command of the manifest it would create on a cluster (the XGBoostJob's
  Master container, ``python /opt/tabular-xgb/train.py train ...``) as a
  process, with .venv-tabular-xgb's Python for ``python`` and this
  checkout's train.py for the image's path. Tuning runs ``train.py tune``:
  a random search over the Katib Experiment's own search space, in-process.
- ``runner="cluster"``: the tune step creates the Katib Experiment
  (jobs/experiment.yaml) and reads its best trial; the train step creates the
  XGBoostJob (jobs/xgboostjob.yaml in dev, jobs/xgboostjob-gpu.yaml in
  staging and production: one GPU, --device=cuda) with
  ``--publish-to=<model_store>/<model>/<version>``, so the job's container
  uploads model.json to the store with rclone and the store's credentials
  Secret when training succeeds, and reads the metrics and the published
  URI and sha256 from the Master pod's log, the lines Katib's collector reads too.

The manifests are read when the pipeline is compiled and embedded in
pipeline.yaml as the steps' inputs, so a change to them makes the compiled
pipeline stale (`shipyard pipeline check`), and the cluster gets exactly
what git holds. The steps themselves run in COMPONENT_IMAGE (tools/envs/kfp.txt,
which has the kubernetes client) and never pip install.

Register records the tuned parameters and the test metrics with
`shipyard register` (metrics are numbers: the parameters go in as
``tuned_max_depth``, ``tuned_eta``, ``tuned_n_estimators``). Locally it
first runs `shipyard publish`, which uploads the file XGBOOST_SERVER's
runtime loads (model.json) to the store, a folder, s3:// or gs://; on a
cluster the job has published it already, and register records what the
job printed.

Edit this file or jobs/, then recompile: `shipyard pipeline compile tabular-xgb`.
"""

from pathlib import Path
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Input, Metrics, Model, Output

# Built from pipelines/image/Dockerfile (tools/envs/kfp.txt), as iris's steps.
COMPONENT_IMAGE = "ghcr.io/example/shipyard-kfp:2.17.0-sklearn1.5.2"

PIPELINE_NAME = "tabular-xgb"
# The side environment of the training pins (tools/envs/<name>.txt, built as
# .venv-<name> by `python -m shipyard.envs <name>`) that the local run trains
# in; a pipeline copied from this one keeps it unless it has its own pins.
TRAINING_ENV = "tabular-xgb"
PIPELINE_DESCRIPTION = "Tune (Katib), train (XGBoostJob) and register an XGBoost breast-cancer classifier."

JOBS = Path(__file__).resolve().parent / "jobs"
EXPERIMENT_MANIFEST = (JOBS / "experiment.yaml").read_text(encoding="utf-8")
CPU_JOB_MANIFEST = (JOBS / "xgboostjob.yaml").read_text(encoding="utf-8")
GPU_JOB_MANIFEST = (JOBS / "xgboostjob-gpu.yaml").read_text(encoding="utf-8")

_component = dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)


@_component
def tune(
    experiment_manifest: str,
    runner: str,
    trials: int,
    seed: int,
    repo_root: str,
    train_python: str,
    shipyard_bin: str,
    run_name: str,
    search: Output[Metrics],
    train_env: str = "tabular-xgb",
) -> NamedTuple("Best", max_depth=int, eta=float, n_estimators=int, validation_logloss=float):
    """Find the hyperparameters: Katib on a cluster, the same search space searched in-process locally.

    runner "local": `train.py tune` (random search over the Experiment's
    spec.parameters, each trial the same fit() as a training run).
    runner "cluster": create the Experiment (named after the run, at most
    ``trials`` trials), wait for it, and take status.currentOptimalTrial."""
    import hashlib
    import json
    import os
    import subprocess
    import tempfile
    import time
    from collections import namedtuple
    from pathlib import Path

    import yaml

    if runner not in ("local", "cluster"):
        raise ValueError(f"runner must be 'local' or 'cluster', got {runner!r}")
    Best = namedtuple("Best", ["max_depth", "eta", "n_estimators", "validation_logloss"])

    if runner == "local":
        def side_python() -> str:
            """train_python, $SHIPYARD_TRAIN_PYTHON, or .venv-<train_env> of the toolkit that shipyard_bin belongs to."""
            if train_python or os.environ.get("SHIPYARD_TRAIN_PYTHON"):
                return train_python or os.environ["SHIPYARD_TRAIN_PYTHON"]
            import shutil
            executable = shipyard_bin or os.environ.get("SHIPYARD_BIN") or shutil.which("shipyard") or ""
            toolkit_python = Path(executable).parent / "python"
            if not toolkit_python.exists():
                raise RuntimeError(f"cannot find the {train_env} environment: pass train_python or shipyard_bin")
            done = subprocess.run([str(toolkit_python), "-m", "shipyard.envs", train_env], capture_output=True,
                                  text=True, timeout=1800)
            if done.returncode != 0:
                raise RuntimeError(f"cannot build .venv-{train_env}: {done.stderr.strip()}")
            return str(Path(done.stdout.strip().splitlines()[-1].split(":")[0]) / "bin" / "python")

        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / "experiment.yaml"
            manifest.write_text(experiment_manifest)
            result_file = Path(tmp) / "best.json"
            command = [side_python(), str(Path(repo_root) / "pipelines" / "tabular-xgb" / "train.py"), "tune",
                       "--experiment", str(manifest), "--trials", str(trials), "--seed", str(seed),
                       "--output", str(result_file)]
            print("running:", " ".join(command))
            done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
            print(done.stdout.strip())
            if done.returncode != 0:
                raise RuntimeError(f"train.py tune failed (exit {done.returncode}): {done.stderr.strip()}")
            result = json.loads(result_file.read_text())
        best = result["best"]
        params, value = best["params"], best["metrics"]["validation_logloss"]
        search.log_metric("trials", result["trials"])
    else:
        from kubernetes import client, config

        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        body = yaml.safe_load(experiment_manifest)
        body["metadata"]["name"] = "tabular-xgb-tune-" + hashlib.sha256(run_name.encode()).hexdigest()[:8]
        body["spec"]["maxTrialCount"] = trials
        namespace = body["metadata"]["namespace"]
        api = client.CustomObjectsApi()
        api.create_namespaced_custom_object("kubeflow.org", "v1beta1", namespace, "experiments", body)
        print(f"created Experiment {namespace}/{body['metadata']['name']}")
        while True:
            status = api.get_namespaced_custom_object("kubeflow.org", "v1beta1", namespace, "experiments",
                                                      body["metadata"]["name"]).get("status", {})
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            if conditions.get("Failed") == "True":
                raise RuntimeError(f"Experiment {body['metadata']['name']} failed: {status.get('conditions')}")
            if conditions.get("Succeeded") == "True":
                break
            time.sleep(15)
        optimal = status["currentOptimalTrial"]
        params = {a["name"].replace("-", "_"): a["value"] for a in optimal["parameterAssignments"]}
        value = [m for m in optimal["observation"]["metrics"] if m["name"] == "validation_logloss"][0]["latest"]
        search.log_metric("trials", status.get("trialsSucceeded", 0))
    best_params = Best(int(params["max_depth"]), float(params["eta"]), int(params["n_estimators"]), float(value))
    for name, number in best_params._asdict().items():
        search.log_metric(name, number)
    print(f"best ({runner} search): {json.dumps(best_params._asdict())}")
    return best_params


@_component
def train(
    cpu_job_manifest: str,
    gpu_job_manifest: str,
    environment: str,
    runner: str,
    max_depth: int,
    eta: float,
    n_estimators: int,
    seed: int,
    repo_root: str,
    train_python: str,
    shipyard_bin: str,
    run_name: str,
    model: Output[Model],
    metrics: Output[Metrics],
    model_store: str = "",
    model_name: str = "tabular-xgb",
    version: str = "",
    train_env: str = "tabular-xgb",
) -> NamedTuple("Scores", accuracy=float, f1=float, auc=float, logloss=float, validation_logloss=float,
                test_digest=str):
    """Train with the tuned parameters by the XGBoostJob's own command: the job on a cluster, a process locally.

    The manifest is the CPU job in dev, the GPU job (one nvidia.com/gpu,
    --device=cuda) in staging and production. Its Master container's
    command and args are what runs; only the hyperparameters, the seed and
    the output folder are replaced. The metrics are read from what the
    command prints (``name=value`` lines, as Katib reads them).

    On a cluster, with an s3:// or gs:// ``model_store`` and a ``version``,
    the job also gets ``--publish-to=<model_store>/<model_name>/<version>``:
    its container uploads model.json there (train.py, rclone, the
    credentials Secret of jobs/*.yaml's envFrom) and prints the URI and
    sha256, which go into the model's metadata for the register step. A
    local-folder store is refused before the job is created: a pod cannot
    write into this machine's folder. Without a store the model stays on
    the job's volume, and register says where."""
    import hashlib
    import os
    import re
    import subprocess
    import tempfile
    import time
    from collections import namedtuple
    from pathlib import Path

    import yaml

    if runner not in ("local", "cluster"):
        raise ValueError(f"runner must be 'local' or 'cluster', got {runner!r}")
    if environment not in ("dev", "staging", "production"):
        raise ValueError(f"environment must be dev, staging or production, got {environment!r}")
    job = yaml.safe_load(cpu_job_manifest if environment == "dev" else gpu_job_manifest)
    job["metadata"]["name"] = "tabular-xgb-train-" + hashlib.sha256(run_name.encode()).hexdigest()[:8]
    pod = job["spec"]["xgbReplicaSpecs"]["Master"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "xgboost"]
    chosen = {"--max-depth": max_depth, "--eta": eta, "--n-estimators": n_estimators, "--seed": seed}
    publish_to = ""
    if runner == "cluster":
        chosen["--model-dir"] = f"/mnt/artifacts/{job['metadata']['name']}/model"
        chosen["--metrics-file"] = f"/mnt/artifacts/{job['metadata']['name']}/metrics.json"
        if model_store:
            scheme = model_store.split("://", 1)[0] if "://" in model_store else ""
            if scheme not in ("s3", "gs"):
                raise ValueError(f"model_store {model_store!r}: a job on the cluster publishes to s3:// or gs:// "
                                 "only, not to a folder of this machine")
            if not version:
                raise ValueError("version is empty: the job publishes to <model_store>/<model_name>/<version>")
            publish_to = f"{model_store.rstrip('/')}/{model_name}/{version}"
    else:
        os.makedirs(model.path, exist_ok=True)
        chosen["--model-dir"] = model.path
        chosen["--metrics-file"] = os.path.join(tempfile.mkdtemp(), "metrics.json")
    args = []
    for arg in container["args"]:
        flag = arg.split("=", 1)[0]
        args.append(f"{flag}={chosen[flag]}" if flag in chosen else arg)
    if publish_to:
        args.append(f"--publish-to={publish_to}")
    container["args"] = args

    if runner == "local":
        if train_python or os.environ.get("SHIPYARD_TRAIN_PYTHON"):
            python = train_python or os.environ["SHIPYARD_TRAIN_PYTHON"]
        else:
            import shutil
            executable = shipyard_bin or os.environ.get("SHIPYARD_BIN") or shutil.which("shipyard") or ""
            toolkit_python = Path(executable).parent / "python"
            if not toolkit_python.exists():
                raise RuntimeError(f"cannot find the {train_env} environment: pass train_python or shipyard_bin")
            built = subprocess.run([str(toolkit_python), "-m", "shipyard.envs", train_env], capture_output=True,
                                   text=True, timeout=1800)
            if built.returncode != 0:
                raise RuntimeError(f"cannot build .venv-{train_env}: {built.stderr.strip()}")
            python = str(Path(built.stdout.strip().splitlines()[-1].split(":")[0]) / "bin" / "python")
        local_paths = {"python": python,
                       "/opt/tabular-xgb/train.py": str(Path(repo_root) / "pipelines" / "tabular-xgb" / "train.py")}
        command = [local_paths.get(part, part) for part in container["command"]] + container["args"]
        print("running the XGBoostJob's command locally:", " ".join(command))
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"train.py failed (exit {done.returncode}): {done.stderr.strip()}")
        output = done.stdout
        model.metadata["location"] = model.path
    else:
        from kubernetes import client, config

        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        api = client.CustomObjectsApi()
        api.create_namespaced_custom_object("kubeflow.org", "v1", namespace, "xgboostjobs", job)
        print(f"created XGBoostJob {namespace}/{name} ({environment}: {'GPU' if environment != 'dev' else 'CPU'})")
        while True:
            status = api.get_namespaced_custom_object("kubeflow.org", "v1", namespace, "xgboostjobs", name).get("status", {})
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            if conditions.get("Failed") == "True":
                raise RuntimeError(f"XGBoostJob {name} failed: {status.get('conditions')}")
            if conditions.get("Succeeded") == "True":
                break
            time.sleep(10)
        output = client.CoreV1Api().read_namespaced_pod_log(f"{name}-master-0", namespace, container="xgboost")
        claim = [v for v in pod["volumes"] if v["name"] == "artifacts"][0]["persistentVolumeClaim"]["claimName"]
        model.metadata["location"] = f"pvc {namespace}/{claim}: {name}/model/model.json"
        published = re.search(r"^(?:published|already in the store): (\S+)/model\.json sha256 ([0-9a-f]{64})$",
                              output, re.M)
        if publish_to and (published is None or published.group(1) != publish_to):
            raise RuntimeError(f"XGBoostJob {name} succeeded but its log does not say it published {publish_to}")
        if published is not None:
            model.metadata["uri"], model.metadata["sha256"] = published.group(1), published.group(2)
    print(output.strip())
    # Katib's StdOut collector default filter (katib v0.19.0, metricscollector common.DefaultFilter).
    katib_filter = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")
    found = {m.group(1): float(m.group(2)) for line in output.splitlines() for m in katib_filter.finditer(line)}
    digest = re.search(r"test data: \S+ (sha256:[0-9a-f]{64})", output)
    if digest is None or "test_accuracy" not in found:
        raise RuntimeError("train.py printed no test metrics or test digest")
    scores = {"accuracy": found["test_accuracy"], "f1": found["test_f1"], "auc": found["test_auc"],
              "logloss": found["test_logloss"], "validation_logloss": found["validation_logloss"]}
    for key, value in scores.items():
        metrics.log_metric(key, value)
    model.metadata["framework"] = "xgboost"
    model.metadata["file"] = "model.json"
    Scores = namedtuple("Scores", ["accuracy", "f1", "auc", "logloss", "validation_logloss", "test_digest"])
    return Scores(**scores, test_digest=digest.group(1))


@_component
def register(
    model: Input[Model],
    accuracy: float,
    f1: float,
    auc: float,
    logloss: float,
    validation_logloss: float,
    max_depth: int,
    eta: float,
    n_estimators: int,
    dataset_digest: str,
    runner: str,
    model_name: str,
    version: str,
    model_store: str,
    repo_root: str,
    shipyard_bin: str,
    git_commit: bool,
    pipeline_run: str,
) -> str:
    """Put model.json in the store and record the version, its test metrics and its tuned parameters.

    runner "local": `shipyard publish` uploads the step's model (model.json,
    the file XGBOOST_SERVER's MLServer runtime loads) to model_store (a
    folder, s3:// or gs://; credentials from this step's environment) and
    says which URI and sha256 to register. The version's folder is
    immutable: the same bytes again is a no-op, other bytes are refused.
    runner "cluster": the XGBoostJob published it (train step); its URI and
    sha256 are in the model's metadata. Without them (no remote model_store)
    the model is on the job's volume, and this step stops and says where.
    Then `shipyard register` records the version, in the checkout at repo_root."""
    import json
    import os
    import shlex
    import subprocess
    import tempfile

    executable = shipyard_bin or os.environ.get("SHIPYARD_BIN") or "shipyard"

    def shipyard(*arguments: str) -> str:
        command = [executable, *arguments]
        print("running:", shlex.join(command))
        try:
            done = subprocess.run(command, cwd=repo_root or None, capture_output=True, text=True, timeout=1800)
        except FileNotFoundError:
            raise RuntimeError(f"shipyard executable not found: {executable!r}; pass shipyard_bin or set "
                               "SHIPYARD_BIN") from None
        if done.stderr.strip():
            print(done.stderr.strip())
        if done.returncode != 0:
            raise RuntimeError(f"`shipyard {arguments[0]}` failed (exit {done.returncode}): "
                               f"{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    if runner == "local":
        published = json.loads(shipyard("publish", model_name, "--version", version, "--from", model.path,
                                        "--store", model_store, "--format", "json"))
        uri, digest = published["uri"], published["sha256"]
        print(("published " if published["uploaded"] else "already in the store: ") + published["object"])
    else:
        uri, digest = model.metadata.get("uri", ""), model.metadata.get("sha256", "")
        if not uri or not digest:
            raise RuntimeError(f"register: the cluster-trained model is at {model.metadata.get('location')} and "
                               "was not published: run with an s3:// or gs:// model_store so the job publishes "
                               "it, or publish it from the volume by hand, then `shipyard register`")
        print(f"published by the XGBoostJob: {uri}/model.json sha256 {digest}")

    record = {"accuracy": accuracy, "f1": f1, "auc": auc, "logloss": logloss,
              "validation_logloss": validation_logloss,
              "tuned_max_depth": max_depth, "tuned_eta": eta, "tuned_n_estimators": n_estimators}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(record, fh)
        metrics_file = fh.name
    try:
        arguments = ["register", model_name, "--version", version, "--uri", uri, "--metrics", metrics_file,
                     "--sha256", digest, "--pipeline-run", pipeline_run,
                     "--dataset", "breast-cancer-test", "--dataset-digest", dataset_digest]
        if git_commit:
            arguments.append("--commit")
        print(shipyard(*arguments).strip())
    finally:
        os.unlink(metrics_file)
    print(f"registered {model_name} {version}: {uri} sha256={digest} {json.dumps(record)}")
    return uri


@dsl.pipeline(name=PIPELINE_NAME, description=PIPELINE_DESCRIPTION)
def tabular_xgb_pipeline(
    version: str,
    model_store: str,
    repo_root: str = ".",
    shipyard_bin: str = "",
    train_python: str = "",
    git_commit: bool = True,
    model_name: str = "tabular-xgb",
    runner: str = "local",
    environment: str = "dev",
    trials: int = 6,
    seed: int = 42,
) -> str:
    """Tune, train and register ``version`` of ``model_name``; ``runner`` says where the training code runs."""
    searched = tune(
        experiment_manifest=EXPERIMENT_MANIFEST, runner=runner, trials=trials, seed=seed, repo_root=repo_root,
        train_python=train_python, shipyard_bin=shipyard_bin, run_name=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        train_env=TRAINING_ENV,
    ).set_display_name("tune")
    trained = train(
        cpu_job_manifest=CPU_JOB_MANIFEST, gpu_job_manifest=GPU_JOB_MANIFEST, environment=environment, runner=runner,
        max_depth=searched.outputs["max_depth"], eta=searched.outputs["eta"],
        n_estimators=searched.outputs["n_estimators"], seed=seed, repo_root=repo_root, train_python=train_python,
        shipyard_bin=shipyard_bin, run_name=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        model_store=model_store, model_name=model_name, version=version, train_env=TRAINING_ENV,
    ).set_display_name("train")
    published = register(
        model=trained.outputs["model"],
        accuracy=trained.outputs["accuracy"], f1=trained.outputs["f1"], auc=trained.outputs["auc"],
        logloss=trained.outputs["logloss"], validation_logloss=trained.outputs["validation_logloss"],
        max_depth=searched.outputs["max_depth"], eta=searched.outputs["eta"],
        n_estimators=searched.outputs["n_estimators"], dataset_digest=trained.outputs["test_digest"],
        runner=runner, model_name=model_name, version=version, model_store=model_store, repo_root=repo_root,
        shipyard_bin=shipyard_bin, git_commit=git_commit, pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
    ).set_display_name("register")
    # The steps only start and watch the training (on a cluster the job does
    # the work): small limits. Tune and train create cluster objects and
    # register has side effects, so none is taken from KFP's cache.
    for task in (searched, trained, published):
        task.set_cpu_limit("1").set_memory_limit("1G").set_caching_options(False)
    return published.output


PIPELINE = tabular_xgb_pipeline
