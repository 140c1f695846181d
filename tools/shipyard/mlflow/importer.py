"""An MLflow model version, as the facts `shipyard register` writes.

MLflow records what exists (runs, their metrics, registered model
versions); model.yaml records what git may deploy. Importing a version
reads it over the REST API and turns it into one new model.yaml version,
through the one writer of model.yaml (shipyard.lifecycle.register):

- modelUri: the version's ``source`` as a URI a cluster's storage
  initializer can fetch. ``mlflow-artifacts:/<path>`` (the server proxies
  artifacts) is resolved against the server's --artifacts-destination
  (mlflow.artifactsDestination in shipyard.yaml); ``runs:/<run>/<path>``
  through the run's artifact URI; s3:// and gs:// are kept. Anything else
  (a local path, dbfs:/, an unknown destination) is refused: a pod could
  not download it;
- sha256: of the file the model's runtime loads from that folder
  (model.joblib for SKLEARN_SERVER), or for MLFLOW_SERVER the folder digest
  of every file in it (shipyard.serving.folder_digest; MLmodel names the
  files it loads), the same rule `shipyard serve` verifies; downloaded with
  rclone as the storage initializer does, which also proves the cluster's
  URI holds the model;
- metrics: the run's latest metric values; created: the model version's
  creation time; pipelineRun, evaluation and the version id from the tags
  the iris pipeline writes (shipyard.pipelineRun, shipyard.dataset,
  shipyard.datasetDigest, shipyard.version), when present;
- mlflow: {model, version, runId, experimentId}, the lineage that
  `shipyard mlflow aliases` follows back.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.lifecycle.plan import Plan
from shipyard.lifecycle.register import plan_register
from shipyard.mlflow.reference import ModelReference
from shipyard.mlflow.rest import FAILED, MlflowRest
from shipyard.models.spec import Evaluation, MlflowLineage, load_model, require_model_name
from shipyard.repo import Repository
from shipyard.serving.runtimes import artifact_names_for
from shipyard.shapes import as_dict, as_list

TAG_VERSION = "shipyard.version"
TAG_PIPELINE_RUN = "shipyard.pipelineRun"
TAG_DATASET = "shipyard.dataset"
TAG_DATASET_DIGEST = "shipyard.datasetDigest"
FETCHABLE = ("s3://", "gs://")


@dataclass(frozen=True)
class MlflowVersion:
    """What MLflow says about one registered model version and its run."""

    lineage: MlflowLineage
    source: str  # as MLflow records it
    model_uri: str  # resolved: what a cluster fetches
    metrics: dict[str, float]
    created: str
    tags: dict[str, str] = field(default_factory=dict)  # the model version's tags over the run's


def resolve_artifact_uri(source: str, rest: MlflowRest, destination: str | None, *, run_artifacts: str | None = None,
                         depth: int = 0) -> str:
    """``source`` as an s3:// or gs:// URI, or an error that says why it cannot be one."""
    uri = source.rstrip("/")
    if uri.startswith(FETCHABLE):
        return uri
    if uri.startswith("mlflow-artifacts:"):
        rest_of = uri[len("mlflow-artifacts:"):]
        if rest_of.startswith("//"):  # mlflow-artifacts://host:port/path: the path is what counts
            rest_of = "/" + rest_of[2:].partition("/")[2]
        path = rest_of.lstrip("/")
        if not destination:
            raise ShipyardError(
                f"the model version's artifacts are {source}, served by the MLflow server; the toolkit needs to know "
                "where the server keeps them to give the cluster a URI it can fetch", check=FAILED,
                hint="set mlflow.artifactsDestination in shipyard.yaml to the server's --artifacts-destination "
                     "(e.g. s3://bucket/mlflow)")
        if not destination.startswith(FETCHABLE):
            raise ShipyardError(f"mlflow.artifactsDestination {destination!r} is not s3:// or gs://: a cluster "
                                f"cannot fetch {source} from it", check=FAILED,
                                hint="run the MLflow server with --artifacts-destination s3://... or gs://...")
        return f"{destination.rstrip('/')}/{path}"
    if uri.startswith("runs:/") and depth == 0:
        run_id, _, path = uri[len("runs:/"):].partition("/")
        base = run_artifacts if run_artifacts is not None else str(as_dict(rest.run(run_id).get("info")).get("artifact_uri", ""))
        if not base:
            raise ShipyardError(f"MLflow has no artifact URI for run {run_id} ({source})", check=FAILED)
        return resolve_artifact_uri(f"{base.rstrip('/')}/{path}", rest, destination, depth=1)
    raise ShipyardError(
        f"the model version's artifacts are at {source}, which a cluster's storage initializer cannot fetch "
        "(it reads s3:// and gs://)", check=FAILED,
        hint="log models to an MLflow server whose artifacts are in object storage (--artifacts-destination s3://...)")


def _tags(entries: object) -> dict[str, str]:
    return {str(as_dict(t).get("key")): str(as_dict(t).get("value", "")) for t in as_list(entries) if as_dict(t).get("key")}


def _created(millis: object) -> str:
    try:
        stamp = datetime.fromtimestamp(int(str(millis)) / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        stamp = datetime.now(timezone.utc)
    return stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def read_version(rest: MlflowRest, ref: ModelReference, destination: str | None) -> MlflowVersion:
    """The model version ``ref`` names, with its run, over the REST API."""
    found = rest.model_version(ref.name, ref.version) if ref.version else rest.model_version_by_alias(ref.name, str(ref.alias))
    version = str(found.get("version") or "")
    if not version:
        raise ShipyardError(f"MLflow answered no model version for {ref}", check=FAILED)
    status = str(found.get("status") or "READY")
    if status != "READY":
        raise ShipyardError(f"{ref} is {status} in MLflow, not READY", check=FAILED,
                            hint="wait until MLflow has finished creating the version, then import it")
    run_id = str(found.get("run_id") or "")
    if not run_id:
        raise ShipyardError(f"{ref} (version {version}) has no run in MLflow: its metrics and lineage are unknown",
                            check=FAILED, hint="register model versions from a run (mlflow.register_model('runs:/...'))")
    run = rest.run(run_id)
    info, data = as_dict(run.get("info")), as_dict(run.get("data"))
    metrics: dict[str, float] = {}
    for entry in as_list(data.get("metrics")):
        key, value = as_dict(entry).get("key"), as_dict(entry).get("value")
        if isinstance(key, str) and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(float(value)):
            metrics[key] = float(value)
    if not metrics:
        raise ShipyardError(f"run {run_id} of {ref} logged no finite metric: gates would have nothing to judge",
                            check=FAILED, hint="log the evaluation metrics in the run (mlflow.log_metric)")
    tags = {**_tags(data.get("tags")), **_tags(found.get("tags"))}
    source = str(found.get("source") or "")
    uri = resolve_artifact_uri(source, rest, destination, run_artifacts=str(info.get("artifact_uri") or "") or None)
    experiment = str(info.get("experiment_id")) if info.get("experiment_id") not in (None, "") else None
    return MlflowVersion(MlflowLineage(ref.name, version, run_id, experiment), source, uri, metrics,
                         _created(found.get("creation_timestamp")), tags)


def artifact_sha256(repo: Repository, model: str, uri: str, *, environ: Mapping[str, str] | None = None,
                    log: Callable[[str], None] | None = None) -> tuple[str, str]:
    """(file name, sha256) of what the model's runtime loads from ``uri``,
    downloaded the way the storage initializer downloads it: the file it
    loads, or for MLFLOW_SERVER the whole folder (shipyard.serving.folder_digest),
    since MLmodel names the other files it loads."""
    from shipyard.serving.folder_digest import registered_digest
    from shipyard.serving.rclone import rclone_for

    spec = load_model(repo, model)
    serving = spec.serving
    names = artifact_names_for(serving.get("implementation"), serving.get("protocol"))
    rclone = rclone_for(uri, repo.settings.model_store, writing=False, log=log, environ=environ)
    staging = Path(tempfile.mkdtemp(prefix="shipyard-mlflow-"))
    try:
        rclone.download_folder(uri, staging)
        for name in names:
            if (staging / name).is_file():
                return name, registered_digest(staging, staging / name, serving.get("implementation"))
        found = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        impl = serving.get("implementation") or "SKLEARN_SERVER"
        raise ShipyardError(
            f"{uri} holds {', '.join(found[:6]) or 'nothing'}, not {' or '.join(names)}, which {impl} under protocol "
            f"{serving.get('protocol') or 'seldon'} loads", file=spec.rel, check=ids.ARTIFACT_UNUSABLE,
            hint="serve MLflow models with implementation: MLFLOW_SERVER in spec.serving (an MLmodel folder), "
                 "or log the artifact the model's server loads")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def plan_import(repo: Repository, model: str, ref: ModelReference, rest: MlflowRest, *, version: str | None = None,
                environ: Mapping[str, str] | None = None, log: Callable[[str], None] | None = None) -> Plan:
    """The register plan for MLflow's ``ref`` as a new version of ``model``."""
    require_model_name(repo, model)
    settings = repo.settings.mlflow
    found = read_version(rest, ref, settings.artifacts_destination if settings else None)
    version_id = version or found.tags.get(TAG_VERSION)
    if not version_id:
        raise ShipyardError(f"{ref} carries no {TAG_VERSION} tag, so the version id in model.yaml is not known",
                            check=ids.USAGE, hint=f"pass --version, e.g. --version 1.3.0 (MLflow's version is "
                                                  f"{found.lineage.version})")
    dataset, digest = found.tags.get(TAG_DATASET), found.tags.get(TAG_DATASET_DIGEST)
    evaluation = Evaluation(dataset, digest) if dataset and digest else None
    _name, sha256 = artifact_sha256(repo, model, found.model_uri, environ=environ, log=log)
    return plan_register(repo, model, version_id, found.model_uri, found.metrics, sha256=sha256,
                         pipeline_run=found.tags.get(TAG_PIPELINE_RUN), created=found.created, evaluation=evaluation,
                         mlflow=found.lineage)
