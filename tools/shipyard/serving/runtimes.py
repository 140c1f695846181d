"""Which server a version is served with: the cluster's choice, made locally.

seldon-core 1.17.1 picks a model container by the graph node's
implementation and the SeldonDeployment's protocol (the operator's
predictor_servers, helm chart values.yaml): under ``protocol: seldon`` a
prepackaged server is seldon-core's Python microservice with a model class
(seldonio/sklearnserver:1.17.1, ...); under ``protocol: v2`` (or kfserving)
SKLEARN_SERVER, XGBOOST_SERVER and MLFLOW_SERVER are MLServer 1.3.5
(seldonio/mlserver:1.3.5-<runtime>) with the runtime class the operator
writes into MLSERVER_MODEL_IMPLEMENTATION (operator/controllers/mlserver.go).
`shipyard serve` makes the same choice from model.yaml's serving section, so
a version is checked locally by the server that will run it.

Each runtime also says which file of the version's folder it loads: the
first of its well-known names that exists, in the runtime's own order
(MLServer's WELLKNOWN_MODEL_FILENAMES; SKLEARN_SERVER's model.joblib;
MLFLOW_SERVER's MLmodel). That file is what the registered sha256 must
describe; for MLFLOW_SERVER, which loads the files MLmodel names, it is
the whole folder's digest (shipyard.serving.folder_digest). MLFLOW_SERVER under protocol v2 runs MLServer's mlflow runtime
from .venv-mlflow (MLflow 2.4.2 with mlserver-mlflow 1.3.5), the other
MLServer runtimes from .venv-mlserver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.shapes import as_dict, as_list

SELDON = "seldon"
MLSERVER = "mlserver"
V2_PROTOCOLS = ("v2", "kfserving")  # the operator treats both alike for MLServer images
DEFAULT_IMPLEMENTATION = "SKLEARN_SERVER"
DEFAULT_PROTOCOL = "seldon"


@dataclass(frozen=True)
class Runtime:
    """How one (implementation, protocol) pair is served, on the cluster and here."""

    implementation: str
    protocol: str  # "seldon" or "v2" (kfserving is folded into v2)
    local: str  # SELDON: seldon-core-microservice from .venv-seldon; MLSERVER: mlserver from .venv-mlserver
    artifact_names: tuple[str, ...]  # well-known file names, in the order the runtime looks for them
    cluster_image: str
    mlserver_class: str = ""  # MLSERVER_MODEL_IMPLEMENTATION, for MLSERVER runtimes
    side_env: str = "mlserver"  # the side environment MLServer runs from (MLFLOW_SERVER: .venv-mlflow)

    @property
    def label(self) -> str:
        return f"{self.implementation} under protocol {self.protocol}"


_SKLEARN_V2_FILES = ("model.joblib", "model.pickle", "model.pkl")  # mlserver_sklearn.sklearn
_XGBOOST_V2_FILES = ("model.bst", "model.json", "model.ubj")  # mlserver_xgboost.xgboost
# An MLflow model is a folder described by its MLmodel file (mlflow.pyfunc.load_model
# reads it first); the registered sha256 is that file's, which names the model's
# model_uuid and run, so another logged model never has the same one.
_MLFLOW_FILES = ("MLmodel",)

RUNTIMES: dict[tuple[str, str], Runtime] = {
    ("SKLEARN_SERVER", "seldon"): Runtime("SKLEARN_SERVER", "seldon", SELDON, ("model.joblib",), "seldonio/sklearnserver:1.17.1"),
    ("SKLEARN_SERVER", "v2"): Runtime("SKLEARN_SERVER", "v2", MLSERVER, _SKLEARN_V2_FILES, "seldonio/mlserver:1.3.5-sklearn",
                                      "mlserver_sklearn.SKLearnModel"),
    ("XGBOOST_SERVER", "v2"): Runtime("XGBOOST_SERVER", "v2", MLSERVER, _XGBOOST_V2_FILES, "seldonio/mlserver:1.3.5-xgboost",
                                      "mlserver_xgboost.XGBoostModel"),
    ("MLFLOW_SERVER", "v2"): Runtime("MLFLOW_SERVER", "v2", MLSERVER, _MLFLOW_FILES, "seldonio/mlserver:1.3.5-mlflow",
                                     "mlserver_mlflow.MLflowRuntime", side_env="mlflow"),
}

NOT_LOCAL: dict[tuple[str, str], str] = {
    ("XGBOOST_SERVER", "seldon"): "seldonio/xgboostserver:1.17.1 (loads model.bst); serve the version under protocol v2, "
                                  "or on a cluster",
    ("MLFLOW_SERVER", "seldon"): "seldonio/mlflowserver:1.17.1, which builds a conda environment from the model's "
                                 "conda.yaml at start-up (it needs conda and a package index); serve the version "
                                 "under protocol v2 (MLServer's mlflow runtime, the same MLmodel folder), or on a cluster",
}
"""Pairs the cluster serves that `shipyard serve` does not, with the image the cluster uses and why."""


# What the cluster's server loads for pairs not served here (the registered sha256 is that file's).
_NOT_LOCAL_FILES: dict[tuple[str, str], tuple[str, ...]] = {
    ("XGBOOST_SERVER", "seldon"): ("model.bst",),
    ("MLFLOW_SERVER", "seldon"): _MLFLOW_FILES,
}


def artifact_names_for(implementation: str | None, protocol: str | None) -> tuple[str, ...]:
    """The well-known files the cluster's server for this pair loads, local runtime or not."""
    key = (implementation or DEFAULT_IMPLEMENTATION, normalise_protocol(protocol or DEFAULT_PROTOCOL))
    runtime = RUNTIMES.get(key)
    return runtime.artifact_names if runtime is not None else _NOT_LOCAL_FILES.get(key, ("model.joblib",))


def serving_label(implementation: str | None, protocol: str | None) -> str:
    """``XGBOOST_SERVER under protocol v2``: a pair as messages name it, local runtime or not."""
    impl = implementation or DEFAULT_IMPLEMENTATION
    return f"{impl} under protocol {normalise_protocol(protocol or DEFAULT_PROTOCOL)}"


def normalise_protocol(protocol: str) -> str:
    return "v2" if protocol in V2_PROTOCOLS else protocol


def runtime_for(implementation: str | None, protocol: str | None, *, image: str | None = None, where: str = "",
                file: str | None = None, line: int | None = None) -> Runtime:
    """The local runtime for a model's serving section; a clear error for what cannot be served here.

    A model.yaml without a serving section is served as SKLEARN_SERVER under
    the Seldon protocol, which is what `shipyard serve` did before it read
    the section (and what every such model was)."""
    if image:
        raise ShipyardError(
            f"{where or 'the model'} is served by a custom image ({image}): shipyard serve runs Seldon's prepackaged "
            "servers only", file=file, line=line, check=ids.USAGE,
            hint="run the image itself (docker run ...), or serve the version on a cluster")
    impl = implementation or DEFAULT_IMPLEMENTATION
    proto = normalise_protocol(protocol or DEFAULT_PROTOCOL)
    runtime = RUNTIMES.get((impl, proto))
    if runtime is not None:
        return runtime
    local = ", ".join(f"{i} ({p})" for i, p in RUNTIMES)
    reason = NOT_LOCAL.get((impl, proto))
    if reason is not None:
        message = f"{where or 'the model'}: {impl} under protocol {proto} is not served locally; the cluster runs {reason}"
    else:
        message = f"{where or 'the model'}: {impl} under protocol {proto} has no local runtime"
    raise ShipyardError(message, file=file, line=line, check=ids.USAGE, hint=f"shipyard serve runs {local}")


def artifact_in(folder: Path, runtime: Runtime) -> Path | None:
    """The file ``runtime`` would load from ``folder``: the first of its well-known names that is a file."""
    for name in runtime.artifact_names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def names_text(runtime: Runtime) -> str:
    """``model.joblib`` or ``model.bst, model.json or model.ubj``, for messages."""
    names = list(runtime.artifact_names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def graph_name(root: Path, model: str) -> str | None:
    """The name of the first graph node of the model's SeldonDeployment (models/<model>/deploy/).

    The operator names the MLServer model after it (MLSERVER_MODEL_NAME is
    the container's name, the graph node's), so V2 requests go to
    /v2/models/<that name>/infer; None when the deploy base has none."""
    from shipyard.load import load_documents, read_text  # late: the loader is heavy to import

    deploy = root / "models" / model / "deploy"
    if not deploy.is_dir():
        return None
    for path in sorted([*deploy.glob("*.yaml"), *deploy.glob("*.yml")]):
        rel = f"models/{model}/deploy/{path.name}"
        try:
            documents = [data for data, _line in load_documents(read_text(path, rel), rel)]
        except (ShipyardError, OSError):
            continue  # advice only: `validate` reports a broken file
        for doc in documents:
            body = as_dict(doc)
            if body.get("kind") != "SeldonDeployment":
                continue
            for predictor in as_list(as_dict(body.get("spec")).get("predictors")):
                name = as_dict(as_dict(predictor).get("graph")).get("name")
                if isinstance(name, str) and name:
                    return name
    return None


def check_method(runtime: Runtime, method: str | None) -> None:
    """``--method`` is SKLEARN_SERVER's ``method`` parameter (Seldon protocol).

    MLServer has no such setting: a V2 request names the outputs it wants
    (``"outputs": [{"name": "predict_proba"}]``, default ``predict``), so
    the option is refused rather than silently ignored."""
    if method is not None and runtime.local != SELDON:
        raise ShipyardError(
            f"--method applies to the Seldon protocol; {runtime.label} runs MLServer, where each request names its outputs",
            check=ids.USAGE,
            hint='drop --method and send "outputs": [{"name": "predict_proba"}] in the V2 request (default: predict)')
