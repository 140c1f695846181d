"""Training code of the tabular-xgb model: the one module every training run executes.

The same file runs in three places, with the same pins (tools/envs/tabular-xgb.txt):

- the local run of the pipeline: its train and tune steps (in .venv-kfp)
  start ``python train.py ...`` with .venv-tabular-xgb's Python;
- the cluster: the XGBoostJob the pipeline's train step creates
  (pipelines/tabular-xgb/jobs/xgboostjob*.yaml) runs it in the training
  image (pipelines/tabular-xgb/Dockerfile) as ``python /opt/tabular-xgb/train.py train ...``;
- every Katib trial (pipelines/tabular-xgb/jobs/experiment.yaml) runs the
  same command with the trial's parameters.

Data: scikit-learn's bundled breast-cancer data set (569 rows, 30 numeric
features, no download), split with a fixed seed into train (60 %),
validation (20 %, what tuning optimises) and test (20 %, what the
registered metrics are measured on; tuning never sees it).

``train`` prints its results as ``name=value`` lines on stdout, the format
Katib's StdOut metrics collector parses with its default filter
(``([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)``): the
objective ``validation_logloss`` and ``validation_accuracy``, then the test
metrics. Nothing else it prints contains ``=``, so no other line can be
read as a metric; the last line names the test rows by their sha256
(``test data: breast-cancer-test sha256:...``). The model is written as ``model.json`` (a file name
MLServer's XGBoost runtime finds in the model folder).

On a cluster, ``train --publish-to URI`` then puts model.json in the
model store itself (``<store>/<model>/<version>``, s3:// or gs://), with
rclone, the tool the cluster's storage initializer downloads it with, and
the same ``RCLONE_CONFIG_*`` variables: the XGBoostJob's container takes
them from the store's credentials Secret (modelStore.secretName), as the
predictors' storage initializers do. A version's folder is immutable, as
`shipyard publish` keeps it: the same bytes again is a no-op, different
bytes or other objects are refused and nothing is written. It prints
``published: URI/model.json sha256 HEX`` (no ``=``, so Katib never reads it),
which the pipeline's train step reads from the pod's log and its register
step registers. The local pipeline run does not pass it: its register step
runs `shipyard publish` on the step's own model artifact.

``tune`` is the local stand-in for Katib: a random search over the
search space of the Experiment manifest (its spec.parameters, read from
the file, so both searches explore the same space), calling the same
``fit`` in-process for each trial. On a cluster Katib does the search.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "model.json"
OBJECTIVE = "validation_logloss"
TEST_DATASET = "breast-cancer-test"


@dataclass(frozen=True)
class Params:
    """The hyperparameters a run is given (the Katib search space's names, with _ for -)."""

    max_depth: int = 3
    eta: float = 0.1
    n_estimators: int = 100
    seed: int = 42
    device: str = "cpu"  # "cuda" on a GPU node: xgboost >= 2.0 trains on the GPU with the same code


@dataclass(frozen=True)
class Split:
    """The three parts of the data set, and the digest of the test part."""

    x_train: Any
    y_train: Any
    x_valid: Any
    y_valid: Any
    x_test: Any
    y_test: Any
    test_digest: str


def load_split(seed: int) -> Split:
    """Breast-cancer data from scikit-learn (bundled, no download), split 60/20/20, stratified.

    The test digest is the sha256 of the test rows as CSV text: the same seed
    gives the same digest, so shipyard compares two versions' metrics only
    when they were measured on the same rows."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_rest, x_test, y_rest, y_test = train_test_split(data.data, data.target, test_size=0.2, random_state=seed,
                                                      stratify=data.target)
    x_train, x_valid, y_train, y_valid = train_test_split(x_rest, y_rest, test_size=0.25, random_state=seed,
                                                          stratify=y_rest)
    rows = "\n".join(",".join(f"{v:.6g}" for v in (*x, y)) for x, y in zip(x_test, y_test))
    digest = "sha256:" + hashlib.sha256(rows.encode("utf-8")).hexdigest()
    return Split(x_train, y_train, x_valid, y_valid, x_test, y_test, digest)


def fit(params: Params, split: Split) -> tuple[Any, dict[str, float]]:
    """Train one model and score it: validation metrics (what tuning optimises) and test metrics."""
    import xgboost
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    model = xgboost.XGBClassifier(
        max_depth=params.max_depth,
        learning_rate=params.eta,
        n_estimators=params.n_estimators,
        random_state=params.seed,
        device=params.device,
        tree_method="hist",
        objective="binary:logistic",
        eval_metric="logloss",
        n_jobs=1,
    )
    model.fit(split.x_train, split.y_train)
    metrics: dict[str, float] = {}
    for prefix, x, y in (("validation", split.x_valid, split.y_valid), ("test", split.x_test, split.y_test)):
        proba = model.predict_proba(x)[:, 1]
        predicted = (proba >= 0.5).astype(int)
        metrics[f"{prefix}_logloss"] = round(float(log_loss(y, proba)), 6)
        metrics[f"{prefix}_accuracy"] = round(float(accuracy_score(y, predicted)), 6)
        if prefix == "test":
            metrics["test_f1"] = round(float(f1_score(y, predicted)), 6)
            metrics["test_auc"] = round(float(roc_auc_score(y, proba)), 6)
    return model, metrics


def train(params: Params, model_dir: Path | None, metrics_file: Path | None) -> dict[str, float]:
    """One training run: fit, print the metrics for Katib, write model.json and the metrics."""
    started = time.monotonic()
    split = load_split(params.seed)
    model, metrics = fit(params, split)
    print(f"trained tabular-xgb: max_depth {params.max_depth}, eta {params.eta}, n_estimators "
          f"{params.n_estimators}, device {params.device}, {len(split.y_train)} training rows, "
          f"{time.monotonic() - started:.2f} s")
    for name, value in metrics.items():  # objective first: Katib reads these lines
        print(f"{name}={value}")
    print(f"test data: {TEST_DATASET} {split.test_digest}")
    if model_dir is not None:
        model_dir.mkdir(parents=True, exist_ok=True)
        # The scikit-learn wrapper's save_model, not the Booster's: it records
        # the estimator type (learner.attributes.scikit_learn), from which
        # MLServer's XGBoost runtime loads an XGBClassifier. A Booster's
        # model.json loads there as an XGBRegressor, whose predict answers
        # probabilities and which refuses predict_proba.
        model.save_model(str(model_dir / MODEL_FILE))
    if metrics_file is not None:
        metrics_file.parent.mkdir(parents=True, exist_ok=True)
        metrics_file.write_text(json.dumps({"params": asdict(params), "metrics": metrics,
                                            "test_digest": split.test_digest, "dataset": TEST_DATASET}) + "\n")
    return metrics


class PublishError(Exception):
    """The store refused the artifact, or cannot be reached: the job fails, saying why."""


def rclone_path(uri: str) -> str:
    """``s3://bucket/path`` -> ``s3:bucket/path``: the remote is the scheme, as
    for seldon-core's storage initializer (and shipyard.serving.rclone)."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in ("s3", "gs") or not rest.strip("/"):
        raise PublishError(f"--publish-to {uri!r}: a model store is s3://bucket/... or gs://bucket/...")
    return f"{scheme}:{rest.strip('/')}"


def _rclone(rclone: str, *args: str) -> subprocess.CompletedProcess[str]:
    """rclone without a config file (remotes from RCLONE_CONFIG_* only), failing fast on a wrong endpoint.

    The defaults shipyard.serving.rclone writes with, where the Secret sets
    nothing: a missing bucket is an error, never created (a writer may not
    create buckets), and a gs:// bucket has uniform access."""
    env = {"RCLONE_RETRIES": "1", "RCLONE_LOW_LEVEL_RETRIES": "3", "RCLONE_CONFIG_S3_NO_CHECK_BUCKET": "true",
           "RCLONE_CONFIG_GS_BUCKET_POLICY_ONLY": "true", **os.environ}
    try:
        return subprocess.run([rclone, "--config", "", *args], capture_output=True, text=True, timeout=600, env=env)
    except FileNotFoundError:
        raise PublishError(f"rclone not found ({rclone}): the training image installs it "
                           "(tools/envs/rclone.txt)") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(artifact: Path, uri: str, rclone: str = "rclone") -> tuple[str, bool]:
    """Put ``artifact`` at ``<uri>/model.json``, immutably; (its sha256, uploaded).

    The rules of shipyard.serving.publish (`shipyard publish`), for the one
    file of this model: the folder empty -> upload and check that it arrived;
    the folder holding exactly these bytes -> nothing to do; anything else ->
    refused, nothing written. The toolkit is not in the training image (it
    needs the repository), so these few lines restate them."""
    folder, digest, size = rclone_path(uri), _sha256(artifact), artifact.stat().st_size
    target = f"{uri.rstrip('/')}/{MODEL_FILE}"

    def listing() -> list[dict[str, Any]]:
        done = _rclone(rclone, "lsjson", "--files-only", "-R", folder)
        if done.returncode == 3:  # directory not found: nothing there yet
            return []
        if done.returncode != 0:
            raise PublishError(f"cannot list {uri}: {done.stderr.strip()[-500:]}")
        found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
        return found

    existing = listing()
    if existing:
        others = sorted(o["Path"] for o in existing if o["Path"] != MODEL_FILE)
        if others:
            raise PublishError(f"{uri} already holds other objects ({', '.join(others[:5])}): a version's folder "
                               "is immutable; train as a new version")
        if existing[0]["Size"] != size:
            raise PublishError(f"{target} already holds different bytes ({existing[0]['Size']} bytes there, {size} "
                               "here): versions are immutable; train as a new version")
        with tempfile.TemporaryDirectory() as tmp:
            done = _rclone(rclone, "copyto", f"{folder}/{MODEL_FILE}", str(Path(tmp) / MODEL_FILE))
            if done.returncode != 0:
                raise PublishError(f"cannot read {target}: {done.stderr.strip()[-500:]}")
            there = _sha256(Path(tmp) / MODEL_FILE)
        if there != digest:
            raise PublishError(f"{target} already holds different bytes (sha256 {there} there, {digest} here): "
                               "versions are immutable; train as a new version")
        return digest, False
    done = _rclone(rclone, "copyto", str(artifact), f"{folder}/{MODEL_FILE}")
    if done.returncode != 0:
        raise PublishError(f"cannot upload to {target}: {done.stderr.strip()[-500:]}")
    arrived = [(o["Path"], o["Size"]) for o in listing()]
    if arrived != [(MODEL_FILE, size)]:
        raise PublishError(f"uploaded {target}, but the store now lists {arrived}: another run published this "
                           "version at the same time; check the folder")
    return digest, True


def search_space(experiment: Path) -> list[dict[str, Any]]:
    """spec.parameters of the Katib Experiment manifest: the space both searches explore."""
    import yaml

    body = yaml.safe_load(experiment.read_text(encoding="utf-8"))
    return list(body["spec"]["parameters"])


def sample(space: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    """One point of the space, drawn as Katib's random algorithm draws it (uniform; ints in steps)."""
    point: dict[str, Any] = {}
    for parameter in space:
        feasible = parameter["feasibleSpace"]
        key = parameter["name"].replace("-", "_")
        if parameter["parameterType"] == "int":
            low, high, step = int(feasible["min"]), int(feasible["max"]), int(feasible.get("step", 1))
            point[key] = rng.randrange(low, high + 1, step)
        elif parameter["parameterType"] == "double":
            point[key] = round(rng.uniform(float(feasible["min"]), float(feasible["max"])), 4)
        elif parameter["parameterType"] == "categorical":
            point[key] = rng.choice(feasible["list"])
        else:
            raise ValueError(f"parameter {parameter['name']}: type {parameter['parameterType']} is not searched locally")
    return point


def tune(experiment: Path, trials: int, seed: int, device: str) -> dict[str, Any]:
    """Random search over the Experiment's space, in-process; the trial with the lowest validation logloss wins."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    space = search_space(experiment)
    rng = random.Random(seed)
    split = load_split(seed)
    results: list[dict[str, Any]] = []
    for number in range(trials):
        point = sample(space, rng)
        _, metrics = fit(Params(seed=seed, device=device, **point), split)
        results.append({"trial": number, "params": point, "metrics": metrics})
        print(f"trial {number}: {json.dumps(point, sort_keys=True)} -> {OBJECTIVE} {metrics[OBJECTIVE]}")
    best = min(results, key=lambda r: (r["metrics"][OBJECTIVE], r["trial"]))
    return {"best": best, "trials": len(results), "objective": OBJECTIVE, "search": "local random search"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("train", help="train once, print metrics for Katib, write model.json")
    run.add_argument("--max-depth", type=int, default=Params.max_depth)
    run.add_argument("--eta", type=float, default=Params.eta)
    run.add_argument("--n-estimators", type=int, default=Params.n_estimators)
    run.add_argument("--seed", type=int, default=Params.seed)
    run.add_argument("--device", choices=("cpu", "cuda"), default=Params.device)
    run.add_argument("--model-dir", type=Path)
    run.add_argument("--metrics-file", type=Path)
    run.add_argument("--publish-to", metavar="URI",
                     help="after training, put model.json in this version folder of the model store (s3:// or gs://)")
    run.add_argument("--rclone", default="rclone", help="the rclone binary (default: rclone on PATH)")
    search = sub.add_parser("tune", help="local random search over the Katib Experiment's space")
    search.add_argument("--experiment", type=Path, required=True)
    search.add_argument("--trials", type=int, default=6)
    search.add_argument("--seed", type=int, default=Params.seed)
    search.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    search.add_argument("--output", type=Path, help="write the result as JSON here (else stdout)")
    args = parser.parse_args(argv)
    if args.command == "train":
        params = Params(args.max_depth, args.eta, args.n_estimators, args.seed, args.device)
        if args.publish_to:
            try:
                rclone_path(args.publish_to)  # a bad URI fails before minutes of training, not after
            except PublishError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            if args.model_dir is None:
                print("error: --publish-to needs --model-dir", file=sys.stderr)
                return 2
        train(params, args.model_dir, args.metrics_file)
        if args.publish_to:
            try:
                digest, uploaded = publish(args.model_dir / MODEL_FILE, args.publish_to, args.rclone)
            except PublishError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"{'published' if uploaded else 'already in the store'}: "
                  f"{args.publish_to.rstrip('/')}/{MODEL_FILE} sha256 {digest}")
        return 0
    result = tune(args.experiment, args.trials, args.seed, args.device)
    text = json.dumps(result, sort_keys=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
