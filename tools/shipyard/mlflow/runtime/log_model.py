"""Log a trained scikit-learn model to MLflow as a run, and register it.

Runs inside .venv-mlflow (MLflow 2.4.2), started by shipyard.mlflow.tracking;
never imported by the toolkit. One run gets the parameters, the metrics,
the model and the tags `shipyard register --from-mlflow` reads; the model
is registered as a new version of the registered model.

The logged model folder is an MLflow model (MLmodel, model.pkl, conda.yaml,
requirements.txt: mlflow.sklearn.save_model), which MLFLOW_SERVER loads,
with the trained model.joblib beside it, byte for byte, which
SKLEARN_SERVER loads: one immutable folder serves under either server.

Prints one JSON line: {"runId", "experimentId", "model", "version", "source"}.
A failure prints `error: ...` on one line and exits 3.

Usage: python log_model.py --tracking-uri URL --model NAME --joblib FILE
       [--experiment NAME] [--param k=v ...] [--metric k=v ...] [--tag k=v ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

EXIT_FAILED = 3


def pairs(values: list[str], what: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {what} {value!r} is not key=value")
        found[key] = rest
    return found


def tensor_signature(estimator: object) -> object:
    """The model's signature: one float64 tensor of the estimator's width in,
    its predictions out (inferred from one row of zeros).

    MLServer's mlflow runtime decodes a V2 request by the model's signature
    (mlserver_mlflow.metadata.to_model_content_type) and describes the
    model's tensors from both halves of it: without one, the request reaches
    pyfunc undecoded and every prediction fails, on the cluster as here. The
    Seldon protocol's MLFlowServer passes the ndarray straight to predict,
    which the same signature accepts."""
    import numpy as np  # type: ignore[import-not-found]
    from mlflow.models import infer_signature  # type: ignore[import-not-found]

    width = getattr(estimator, "n_features_in_", None)
    predict = getattr(estimator, "predict", None)
    if not isinstance(width, int) or predict is None:
        return None
    sample = np.zeros((1, width), dtype="float64")
    return infer_signature(sample, predict(sample))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="log_model.py")
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--model", required=True, help="the registered model's name")
    parser.add_argument("--joblib", required=True, help="the trained model.joblib")
    parser.add_argument("--experiment", default="")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--metric", action="append", default=[])
    parser.add_argument("--tag", action="append", default=[])
    args = parser.parse_args(argv)
    params, tags = pairs(args.param, "--param"), pairs(args.tag, "--tag")
    try:
        metrics = {k: float(v) for k, v in pairs(args.metric, "--metric").items()}
    except ValueError as exc:
        print(f"error: a metric is not a number: {exc}", file=sys.stderr)
        return EXIT_FAILED

    import joblib  # type: ignore[import-not-found]
    import mlflow  # type: ignore[import-not-found]
    import mlflow.sklearn  # type: ignore[import-not-found]
    from mlflow import MlflowClient

    try:
        estimator = joblib.load(args.joblib)
        mlflow.set_tracking_uri(args.tracking_uri)
        if args.experiment:
            mlflow.set_experiment(args.experiment)
        with mlflow.start_run() as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            mlflow.set_tags(tags)
            staging = tempfile.mkdtemp(prefix="shipyard-mlflow-model-")
            try:
                folder = os.path.join(staging, "model")
                mlflow.sklearn.save_model(estimator, folder, serialization_format="pickle",
                                          signature=tensor_signature(estimator))
                shutil.copyfile(args.joblib, os.path.join(folder, "model.joblib"))
                mlflow.log_artifacts(folder, artifact_path="model")
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        client = MlflowClient()
        try:
            client.get_registered_model(args.model)
        except mlflow.exceptions.MlflowException:
            client.create_registered_model(args.model)
        source = f"{run.info.artifact_uri.rstrip('/')}/model"
        version = client.create_model_version(args.model, source, run.info.run_id, tags=tags)
    except Exception as exc:  # noqa: BLE001 - one line for the caller, never a traceback
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0][:800], file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"runId": run.info.run_id, "experimentId": run.info.experiment_id, "model": args.model,
                      "version": str(version.version), "source": source}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
