"""The iris training pipeline: load -> preprocess -> train -> evaluate -> register -> drift detector.

A Kubeflow Pipelines v2 pipeline (kfp SDK). Each step is a lightweight Python
component; its function body is embedded in the compiled YAML and runs in
COMPONENT_IMAGE on a cluster, or in .venv-kfp under kfp's local runner.
Components never pip install at run time (install_kfp_package=False, no
packages_to_install): the image, like .venv-kfp, is built from
tools/envs/kfp.txt, so what runs on the laptop is what runs on the cluster.

The trained artifact is a scikit-learn Pipeline (StandardScaler +
LogisticRegression) fitted on the species *names*, so the served model's
classes are "setosa", "versicolor", "virginica" and it takes the four raw
measurements (cm) without any preprocessing on the caller's side.

Register runs `shipyard publish`, which uploads model.joblib to
<model_store>/<model>/<version>/ (the folder layout Seldon's SKLEARN_SERVER
loads: s3:// or gs:// with rclone, or a local folder) and computes its
sha256, then `shipyard register`, so the version, its URI, metrics and
digest land in models/<model>/model.yaml of the checkout at repo_root.
With ``mlflow_uri`` set, register logs the run to that MLflow tracking
server instead (`shipyard mlflow log`: parameters, metrics, the model as an
MLflow model with model.joblib beside it, a new registered model version;
MLflow's client runs in .venv-mlflow, never in this step's environment)
and imports the version from there (`shipyard register --from-mlflow`), so
the artifact lives in MLflow's artifact store and model.yaml records its
lineage (docs/registry.md).

Once register has recorded the version, the drift step builds its drift
detector from the training rows (`shipyard drift build`: alibi-detect in
.venv-drift, with spec.drift's detector, p-value and features) and
publishes it beside the version in the model store,
<model_store>/<model>/drift/<version>/, where the model's drift CronJob
fetches it (docs/monitoring.md). It runs only when
models/<model>/model.yaml declares spec.drift; for a model that declares
none it prints why and does nothing, so such a model registers as before.
It comes after register so that no detector is ever published for a
version whose registration was refused (say, a version id already taken);
a detector is deterministic in its rows, so a re-run of the same training
finds it already published, and a failed drift step says which command
finishes the job.

Edit this file, then recompile: `shipyard pipeline compile iris` (a test
fails while pipeline.yaml or deploy/ are stale).
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

# Built from pipelines/image/Dockerfile (tools/envs/kfp.txt). Pin by digest
# in a fork that publishes it.
COMPONENT_IMAGE = "ghcr.io/example/shipyard-kfp:2.17.0-sklearn1.5.2"

PIPELINE_NAME = "iris"
PIPELINE_DESCRIPTION = "Train, evaluate and register an iris species classifier (scikit-learn)."

_component = dsl.component(base_image=COMPONENT_IMAGE, install_kfp_package=False)


@_component
def load_data(raw: Output[Dataset]) -> int:
    """Write scikit-learn's bundled iris data set (no download) as CSV; return the row count."""
    import csv

    from sklearn.datasets import load_iris

    iris = load_iris()
    columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    with open(raw.path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for features, target in zip(iris.data, iris.target):
            writer.writerow([*(f"{v:.1f}" for v in features), iris.target_names[target]])
    raw.metadata["rows"] = len(iris.data)
    raw.metadata["source"] = "sklearn.datasets.load_iris"
    return len(iris.data)


@_component
def preprocess(raw: Input[Dataset], test_fraction: float, seed: int, train: Output[Dataset], test: Output[Dataset]):
    """Validate the raw rows and split them, stratified by species, into train and test."""
    import csv
    import math

    from sklearn.model_selection import train_test_split

    with open(raw.path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if len(header) != 5 or header[-1] != "species":
        raise ValueError(f"unexpected columns {header}: want four measurements and 'species'")
    clean = []
    for number, row in enumerate(body, start=2):
        if len(row) != 5:
            raise ValueError(f"row {number}: expected 5 fields, got {len(row)}")
        values = [float(v) for v in row[:4]]
        if any(math.isnan(v) or v <= 0 for v in values):
            raise ValueError(f"row {number}: measurements must be positive numbers, got {row[:4]}")
        clean.append(row)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    labels = [row[-1] for row in clean]
    train_rows, test_rows = train_test_split(clean, test_size=test_fraction, random_state=seed, stratify=labels)
    for artifact, part in ((train, train_rows), (test, test_rows)):
        with open(artifact.path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(part)
        artifact.metadata["rows"] = len(part)


@_component
def train(train: Input[Dataset], regularization: float, seed: int, model: Output[Model]):
    """Fit StandardScaler + LogisticRegression and write it with joblib (the SKLEARN_SERVER format)."""
    import csv

    import joblib
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    with open(train.path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    features = np.array([[float(v) for v in row[:4]] for row in rows])
    labels = np.array([row[4] for row in rows])
    estimator = Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=regularization, max_iter=1000, random_state=seed)),
        ]
    )
    estimator.fit(features, labels)
    joblib.dump(estimator, model.path)
    model.metadata["framework"] = "scikit-learn"
    model.metadata["framework_version"] = sklearn.__version__
    model.metadata["classes"] = [str(c) for c in estimator.classes_]


@_component
def evaluate(test: Input[Dataset], model: Input[Model], metrics: Output[Metrics]) -> NamedTuple(
        "Scores", accuracy=float, f1_macro=float, test_digest=str):
    """Score the model on the held-out rows: accuracy and macro-averaged F1,
    and the sha256 of those rows (what the scores were measured on: shipyard
    compares two versions' metrics only when it is the same data)."""
    import csv
    import hashlib
    from collections import namedtuple

    import joblib
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    with open(test.path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    features = np.array([[float(v) for v in row[:4]] for row in rows])
    labels = np.array([row[4] for row in rows])
    predicted = joblib.load(model.path).predict(features)
    accuracy = round(float(accuracy_score(labels, predicted)), 4)
    f1_macro = round(float(f1_score(labels, predicted, average="macro")), 4)
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("f1_macro", f1_macro)
    metrics.log_metric("test_rows", len(rows))
    with open(test.path, "rb") as fh:
        test_digest = "sha256:" + hashlib.sha256(fh.read()).hexdigest()
    return namedtuple("Scores", ["accuracy", "f1_macro", "test_digest"])(accuracy, f1_macro, test_digest)


@_component
def drift_detector(
    reference: Input[Dataset],
    model_name: str,
    version: str,
    model_store: str,
    repo_root: str,
    shipyard_bin: str,
    registered: str,
) -> str:
    """Build and publish the version's drift detector from the training rows, if the model declares spec.drift.

    The detector belongs to the data the model learned from, so its
    reference sample is the training split itself (a CSV with a header row;
    spec.drift.features names its columns). `shipyard drift build` runs in
    repo_root, so that checkout's model.yaml (spec.drift) and shipyard.yaml
    (modelStore) and this step's credentials apply; it publishes to
    <model_store>/<model>/drift/<version>/ (immutable: the same files again
    is a no-op). Whether the model declares spec.drift is read here first,
    because a model need not declare one and its runs must not fail for
    want of it: without spec.drift this step prints why and returns "".
    ``registered`` is register's output (the version's URI): taking it
    makes this step run only after the version is in model.yaml.
    Returns the detector's URI, or "" when none was built.
    """
    import json
    import os
    import shlex
    import subprocess

    import yaml

    model_yaml = os.path.join(repo_root or ".", "models", model_name, "model.yaml")
    try:
        with open(model_yaml, encoding="utf-8") as fh:
            declared = yaml.safe_load(fh)
    except FileNotFoundError:
        raise RuntimeError(f"{model_yaml} not found: is repo_root the repository's checkout?") from None
    except yaml.YAMLError as exc:
        raise RuntimeError(f"{model_yaml} is not valid YAML: {str(exc).splitlines()[0]}") from None
    spec = declared.get("spec") if isinstance(declared, dict) else None
    if not isinstance(spec, dict) or not spec.get("drift"):
        print(f"no drift detector for {model_name} {version}: models/{model_name}/model.yaml declares no "
              "spec.drift (add it to build one from the training data, docs/monitoring.md)")
        return ""

    executable = shipyard_bin or os.environ.get("SHIPYARD_BIN") or "shipyard"
    command = [executable, "drift", "build", model_name, "--version", version, "--reference", reference.path,
               "--format", "json"]
    if model_store:
        command += ["--store", model_store]
    print("running:", shlex.join(command))
    try:
        done = subprocess.run(command, cwd=repo_root or None, capture_output=True, text=True, timeout=1800)
    except FileNotFoundError:
        raise RuntimeError(f"shipyard executable not found: {executable!r}; pass shipyard_bin or set SHIPYARD_BIN") from None
    if done.stderr.strip():
        print(done.stderr.strip())
    if done.returncode != 0:
        by_hand = shlex.join(["shipyard", *command[1:4], "--version", version, "--reference", "TRAIN.csv",
                              *(["--store", model_store] if model_store else [])])
        raise RuntimeError(f"`shipyard drift build` failed (exit {done.returncode}) after {model_name} {version} "
                           f"was registered ({registered}): {done.stderr.strip() or done.stdout.strip()}; "
                           f"fix the cause and run `{by_hand}` with the run's training split")
    built = json.loads(done.stdout)
    state = "published" if built["uploaded"] else "already in the store:"
    print(f"drift detector of {model_name} {version} ({built['kind']}, p-value {built['pValue']}, "
          f"{built['referenceRows']} reference rows) {state} {built['uri']}")
    return str(built["uri"])


@_component
def register(
    model: Input[Model],
    accuracy: float,
    f1_macro: float,
    dataset: str,
    dataset_digest: str,
    model_name: str,
    version: str,
    model_store: str,
    repo_root: str,
    shipyard_bin: str,
    git_commit: bool,
    pipeline_run: str,
    mlflow_uri: str,
    regularization: float,
    seed: int,
    test_fraction: float,
) -> str:
    """Publish model.joblib with `shipyard publish`, then record the version with `shipyard register`.

    `shipyard publish` uploads the artifact to <model_store>/<model>/<version>/
    (s3:// and gs:// with rclone, a local folder by copying) and says which
    modelUri and sha256 to register; the store folder of a version is
    immutable (the same bytes again is a no-op, different bytes are refused).
    `shipyard register` edits models/<model>/model.yaml in the checkout at
    repo_root, recording the metrics with the evaluation data they were
    measured on (dataset, dataset_digest), and, with git_commit (--commit),
    commits the change on a new branch (the pull request a person reviews);
    without it, it only edits the files. Both run in repo_root, so its
    shipyard.yaml (modelStore) and this step's environment (AWS_*,
    RCLONE_CONFIG_* credentials) apply.
    With mlflow_uri, `shipyard mlflow log` records the run (parameters
    regularization, seed, test_fraction; the metrics; the model) and a new
    version of the registered model model_name in that MLflow server, and
    `shipyard register --from-mlflow` imports it (model_store is then
    unused: MLflow's artifact store holds the model). MLFLOW_TRACKING_TOKEN
    and the artifact store's credentials come from this step's environment.
    Returns the version's URI (with mlflow_uri: its models:/ reference).
    """
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
            raise RuntimeError(f"shipyard executable not found: {executable!r}; pass shipyard_bin or set SHIPYARD_BIN") from None
        if done.stderr.strip():
            print(done.stderr.strip())
        if done.returncode != 0:
            raise RuntimeError(f"`shipyard {arguments[0]}` failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    if mlflow_uri:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump({"accuracy": accuracy, "f1_macro": f1_macro}, fh)
            scores_file = fh.name
        try:
            logged = json.loads(shipyard(
                "mlflow", "log", model_name, "--version", version, "--from", model.path, "--metrics", scores_file,
                "--param", f"regularization={regularization}", "--param", f"seed={seed}",
                "--param", f"test_fraction={test_fraction}", "--pipeline-run", pipeline_run,
                "--dataset", dataset, "--dataset-digest", dataset_digest, "--mlflow-uri", mlflow_uri,
                "--format", "json"))
        finally:
            os.unlink(scores_file)
        print(f"logged MLflow run {logged['runId']}: {logged['reference']}")
        arguments = ["register", model_name, "--from-mlflow", logged["reference"], "--version", version,
                     "--mlflow-uri", mlflow_uri]
        if git_commit:
            arguments.append("--commit")
        print(shipyard(*arguments).strip())
        print(f"registered {model_name} {version} from {logged['reference']}")
        return str(logged["reference"])

    published = json.loads(shipyard("publish", model_name, "--version", version, "--from", model.path,
                                    "--store", model_store, "--format", "json"))
    uri, digest = published["uri"], published["sha256"]
    print(("uploaded " if published["uploaded"] else "already in the store: ") + published["object"])

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"accuracy": accuracy, "f1_macro": f1_macro}, fh)
        metrics_file = fh.name
    try:
        arguments = ["register", model_name, "--version", version, "--uri", uri, "--metrics", metrics_file,
                     "--sha256", digest, "--pipeline-run", pipeline_run,
                     "--dataset", dataset, "--dataset-digest", dataset_digest]
        if git_commit:
            arguments.append("--commit")
        print(shipyard(*arguments).strip())
    finally:
        os.unlink(metrics_file)
    print(f"registered {model_name} {version}: {uri} sha256={digest}")
    return uri


@dsl.pipeline(name=PIPELINE_NAME, description=PIPELINE_DESCRIPTION)
def iris_pipeline(
    version: str,
    model_store: str,
    repo_root: str = ".",
    shipyard_bin: str = "",
    git_commit: bool = True,
    model_name: str = "iris",
    test_fraction: float = 0.2,
    regularization: float = 3.0,
    seed: int = 42,
    mlflow_uri: str = "",
) -> str:
    """Train an iris classifier and register it as ``version`` of ``model_name``."""
    loaded = load_data().set_display_name("load data")
    split = preprocess(raw=loaded.outputs["raw"], test_fraction=test_fraction, seed=seed).set_display_name("preprocess")
    trained = train(train=split.outputs["train"], regularization=regularization, seed=seed).set_display_name("train")
    scored = evaluate(test=split.outputs["test"], model=trained.outputs["model"]).set_display_name("evaluate")
    published = register(
        model=trained.outputs["model"],
        accuracy=scored.outputs["accuracy"],
        f1_macro=scored.outputs["f1_macro"],
        dataset="iris-test",  # the held-out split; its digest changes with seed and test_fraction
        dataset_digest=scored.outputs["test_digest"],
        model_name=model_name,
        version=version,
        model_store=model_store,
        repo_root=repo_root,
        shipyard_bin=shipyard_bin,
        git_commit=git_commit,
        pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        mlflow_uri=mlflow_uri,
        regularization=regularization,
        seed=seed,
        test_fraction=test_fraction,
    ).set_display_name("register")
    detector = drift_detector(
        reference=split.outputs["train"],
        model_name=model_name,
        version=version,
        model_store=model_store,
        repo_root=repo_root,
        shipyard_bin=shipyard_bin,
        registered=published.output,
    ).set_display_name("drift detector")
    # The data set is 150 rows: small limits. The drift step and register have
    # side effects (the model store, model.yaml), so their results are never
    # taken from KFP's cache.
    for task in (loaded, split, trained, scored, published):
        task.set_cpu_limit("1").set_memory_limit("512M")
    # alibi-detect's import alone is most of the 280 MB `shipyard drift build`
    # peaked at on iris (the step's own interpreter and shipyard on top).
    detector.set_cpu_limit("1").set_memory_limit("1G")
    detector.set_caching_options(False)
    published.set_caching_options(False)
    return published.output


PIPELINE = iris_pipeline
