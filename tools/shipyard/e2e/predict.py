"""Predictions in the Seldon protocol (seldon-core 1.x, REST), and checks on them.

A served model answers POST /api/v1.0/predictions with a SeldonMessage:
``{"data": {"names": [...], "ndarray": [[...]]}, "meta": {...}}`` (or a
``tensor`` with shape and values). A failure comes back as
``{"status": {"status": "FAILURE", "info": ...}}``. This module builds the
request, reads either answer into a `Prediction`, and says precisely what is
wrong with an answer that is not one, so a failing e2e run names the problem
instead of a KeyError.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from shipyard import ids
from shipyard.errors import ShipyardError

PREDICTIONS_PATH = "/api/v1.0/predictions"


class PredictionError(ShipyardError):
    """The model did not answer, or answered something that is not a prediction."""


@dataclass(frozen=True)
class Prediction:
    rows: list[list[float]]
    names: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def request_body(rows: list[list[float]]) -> dict[str, Any]:
    """A SeldonMessage carrying ``rows`` as an ndarray."""
    if not rows or not all(isinstance(r, list) and r for r in rows):
        raise PredictionError("a prediction request needs at least one non-empty row of features", check="SY900")
    return {"data": {"ndarray": rows}}


def parse_response(payload: Any) -> Prediction:
    """Read a SeldonMessage answer; raise PredictionError naming what is wrong."""
    if not isinstance(payload, dict):
        raise PredictionError(f"the answer is not a JSON object: {str(payload)[:200]}", check=ids.E2E_FAILED)
    status = payload.get("status")
    if isinstance(status, dict) and str(status.get("status", "")).upper() == "FAILURE":
        raise PredictionError(f"the model answered FAILURE: {status.get('info') or status.get('reason') or status}",
                              check=ids.E2E_FAILED)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PredictionError(f"the answer has no 'data' object: {json.dumps(payload)[:200]}", check=ids.E2E_FAILED)
    names = [str(n) for n in data.get("names") or []]
    if "ndarray" in data:
        rows = data["ndarray"]
    elif isinstance(data.get("tensor"), dict):
        rows = _tensor_rows(data["tensor"])
    else:
        raise PredictionError(f"the answer's data has neither 'ndarray' nor 'tensor': keys {sorted(data)}", check=ids.E2E_FAILED)
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise PredictionError(f"the answer's rows are not a list of lists: {str(rows)[:200]}", check=ids.E2E_FAILED)
    try:
        values = [[float(v) for v in row] for row in rows]
    except (TypeError, ValueError):
        raise PredictionError(f"the answer holds non-numeric values: {str(rows)[:200]}", check=ids.E2E_FAILED) from None
    meta_value = payload.get("meta")
    meta: dict[str, Any] = meta_value if isinstance(meta_value, dict) else {}
    return Prediction(rows=values, names=names, meta=meta)


def _tensor_rows(tensor: dict[str, Any]) -> list[list[Any]]:
    shape = tensor.get("shape")
    values = tensor.get("values")
    if not (isinstance(shape, list) and len(shape) == 2 and isinstance(values, list)):
        raise PredictionError(f"the answer's tensor is not 2-dimensional: shape {shape}", check=ids.E2E_FAILED)
    width = int(shape[1])
    if int(shape[0]) * width != len(values):
        raise PredictionError(f"the answer's tensor has {len(values)} values for shape {shape}", check=ids.E2E_FAILED)
    return [values[i * width:(i + 1) * width] for i in range(int(shape[0]))]


def predict(base_url: str, rows: list[list[float]], *, timeout: float = 15.0) -> Prediction:
    """One request to ``base_url`` (e.g. http://127.0.0.1:PORT)."""
    body = json.dumps(request_body(rows)).encode()
    request = urllib.request.Request(base_url.rstrip("/") + PREDICTIONS_PATH, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise PredictionError(f"{base_url}{PREDICTIONS_PATH} answered HTTP {exc.code}: {detail}", check=ids.E2E_FAILED) from None
    except (urllib.error.URLError, OSError) as exc:
        raise PredictionError(f"{base_url}{PREDICTIONS_PATH} did not answer: {exc}", check=ids.E2E_FAILED) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        raise PredictionError(f"the answer is not JSON: {text[:200]}", check=ids.E2E_FAILED) from None
    return parse_response(payload)


def predict_when_ready(base_url: str, rows: list[list[float]], *, patience: float = 120.0,
                       interval: float = 3.0) -> Prediction:
    """Retry while the server is still starting (connection refused, 5xx),
    for at most ``patience`` seconds; a well-formed wrong answer is final."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return predict(base_url, rows)
        except PredictionError as exc:
            transient = "did not answer" in exc.message or "answered HTTP 5" in exc.message
            if not transient or time.monotonic() + interval > deadline:
                raise
            time.sleep(interval)


def probability_problems(prediction: Prediction, *, rows: int, classes: int, tolerance: float = 1e-3) -> list[str]:
    """What is wrong with ``prediction`` as class probabilities (empty: nothing)."""
    problems = []
    if len(prediction.rows) != rows:
        problems.append(f"expected {rows} rows, got {len(prediction.rows)}")
    for index, row in enumerate(prediction.rows):
        if len(row) != classes:
            problems.append(f"row {index}: expected {classes} probabilities, got {len(row)}")
            continue
        if any(not math.isfinite(p) or p < -tolerance or p > 1 + tolerance for p in row):
            problems.append(f"row {index}: values outside [0, 1]: {row}")
        if abs(sum(row) - 1.0) > tolerance:
            problems.append(f"row {index}: probabilities sum to {sum(row):.6f}, not 1")
    return problems


def predicted_classes(prediction: Prediction) -> list[int]:
    """The most probable class of each row."""
    return [max(range(len(row)), key=row.__getitem__) for row in prediction.rows]
