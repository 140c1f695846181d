"""The model class seldon-core-microservice serves: our SKLEARN_SERVER.

Runs inside .venv-seldon (seldon-core 1.17.1), never imported by the toolkit.
It matches what Seldon's prepackaged SKLEARN_SERVER does with a modelUri:
load ``model.joblib`` from the folder with joblib, answer ``predict`` with
``predict_proba`` (or ``predict`` / ``decision_function`` when the
``method`` parameter says so), and name the output columns after the
estimator's classes. Where SKLEARN_SERVER logs an error and returns nothing,
this class answers with Seldon's own error response instead:

- a request whose rows are not ``n_features_in_`` numbers gets a
  SeldonMicroserviceException (HTTP 400, reason MICROSERVICE_BAD_DATA);
- a missing, unreadable or corrupt artifact, or one whose sha256 differs
  from the ``sha256`` parameter, stops the server before it listens, with a
  ModelLoadError that says which file and what to do.

Parameters (seldon-core-microservice --parameters): model_uri (a folder, or
file://folder), method, sha256 (hex digest of model.joblib; empty skips).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Any, Dict, Iterable, List, Optional

import joblib  # type: ignore[import-not-found]
import numpy as np  # type: ignore[import-not-found]
from seldon_core.flask_utils import SeldonMicroserviceException  # type: ignore[import-not-found]

logger = logging.getLogger(__name__)

JOBLIB_FILE = "model.joblib"
METHODS = ("predict_proba", "predict", "decision_function")


class ModelLoadError(Exception):
    """The artifact cannot be served; the message says which file and why."""


class BadRequest(SeldonMicroserviceException):
    """Seldon's error for bad input: REST answers 400 with {"status": {...}}.

    seldon-core's exception does not hand its message to Exception, so over
    gRPC (where the servicer reports str(exception)) the reason would be
    empty; this subclass only adds that text."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=400, reason="MICROSERVICE_BAD_DATA")

    def __str__(self) -> str:
        return str(self.message)


def artifact_folder(model_uri: str) -> str:
    """The local folder a modelUri names (a path or file://path)."""
    if model_uri.startswith("file://"):
        return model_uri[len("file://"):]
    if "://" in model_uri:
        raise ModelLoadError(f"{model_uri}: only local folders can be served here; download the artifact first")
    return model_uri


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SKLearnServer:
    def __init__(self, model_uri: str = "", method: str = "predict_proba", sha256: str = "") -> None:
        if method not in METHODS:
            raise ModelLoadError(f"method {method!r} is not one of {', '.join(METHODS)}")
        self.model_uri = model_uri
        self.method = method
        self.expected_sha256 = sha256.lower()
        self.ready = False
        self._unreported = threading.local()  # rows this thread predicted since its last metrics() call
        self._estimator: Any = None
        self.load()  # eagerly, as SKLEARN_SERVER does: a bad artifact fails before the server listens

    def load(self) -> None:
        if self.ready:
            return
        if not self.model_uri:
            raise ModelLoadError("no model_uri parameter: pass the folder that holds model.joblib")
        folder = artifact_folder(self.model_uri)
        path = os.path.join(folder, JOBLIB_FILE)
        if not os.path.isdir(folder):
            raise ModelLoadError(f"{folder}: model folder does not exist")
        if not os.path.isfile(path):
            raise ModelLoadError(f"{path}: missing; the folder must hold the artifact as {JOBLIB_FILE} (the SKLEARN_SERVER layout)")
        if self.expected_sha256:
            actual = sha256_of(path)
            if actual != self.expected_sha256:
                raise ModelLoadError(
                    f"{path}: sha256 is {actual} but {self.expected_sha256} is registered; refusing to serve a different artifact"
                )
        try:
            estimator = joblib.load(path)
        except Exception as exc:  # joblib/pickle raise many types for a damaged file
            raise ModelLoadError(f"{path}: cannot load with joblib ({type(exc).__name__}: {exc}); the file is corrupt or not a joblib dump") from None
        if not callable(getattr(estimator, self.method, None)):
            raise ModelLoadError(f"{path}: the loaded {type(estimator).__name__} has no {self.method}() method")
        self._estimator = estimator
        self.ready = True
        logger.info("loaded %s (%s, method %s)", path, type(estimator).__name__, self.method)

    @property
    def n_features(self) -> Optional[int]:
        value = getattr(self._estimator, "n_features_in_", None)
        return int(value) if value is not None else None

    def predict(self, X: Any, features_names: Optional[Iterable[str]] = None, meta: Optional[Dict[str, Any]] = None) -> np.ndarray:
        rows = self._validated(X)
        result = getattr(self._estimator, self.method)(rows)
        self._unreported.rows = getattr(self._unreported, "rows", 0) + len(rows)
        return np.asarray(result)

    def class_names(self) -> List[str]:
        classes = getattr(self._estimator, "classes_", None)
        if self.method == "predict" or classes is None:
            return ["t:0"]
        return [str(c) for c in classes]

    def metrics(self) -> List[Dict[str, Any]]:
        """``shipyard_rows_served``, a Prometheus counter (exposed as
        ``shipyard_rows_served_total``) of the rows predicted.

        seldon-core calls this after every request, in the thread that served
        it, and adds a COUNTER's value to what the counter holds: the value is
        the increment (this request's rows), never the running total, which
        would be added again on every call. A request that predicted nothing
        (a health check, a refused input) reports nothing."""
        rows = getattr(self._unreported, "rows", 0)
        self._unreported.rows = 0
        if not rows:
            return []
        return [{"type": "COUNTER", "key": "shipyard_rows_served", "value": rows}]

    def health_status(self) -> Dict[str, Any]:
        if not self.ready:
            raise SeldonMicroserviceException("model not loaded", status_code=503, reason="MICROSERVICE_NOT_READY")
        return {"ready": True, "n_features": self.n_features}

    def _validated(self, X: Any) -> np.ndarray:
        try:
            rows = np.asarray(X, dtype=float)
        except (TypeError, ValueError):
            raise BadRequest("features must be numbers: send a 2-D array of numeric rows") from None
        expected = self.n_features
        if rows.ndim != 2 or (expected is not None and rows.shape[1] != expected):
            want = f"[n, {expected}]" if expected is not None else "[n, features]"
            raise BadRequest(f"expected an array of shape {want}, got shape {list(rows.shape)}")
        if not np.isfinite(rows).all():
            raise BadRequest("features must be finite numbers (no NaN or infinity)")
        return rows
