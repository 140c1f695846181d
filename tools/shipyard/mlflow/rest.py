"""A small client of MLflow's REST API (/api/2.0/mlflow/...), on urllib.

Why not the mlflow package: it pulls in hundreds of MB (pandas, pyarrow,
SQLAlchemy, Flask) for what is a handful of JSON calls, and its pins clash
with the toolkit's. The calls used here are MLflow 2.x's documented REST
endpoints (mlflow/server/handlers.py in mlflow/mlflow): GET requests carry
their fields in the query string, the others as a JSON body.

Authentication is what MLflow's own client reads from the environment:
MLFLOW_TRACKING_TOKEN (a bearer token), or MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD (basic auth). Neither is ever printed.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

from shipyard import ids
from shipyard.errors import ShipyardError

FAILED: ids.CheckId = ids.MLFLOW_FAILED
TIMEOUT_SECONDS = 30.0
API = "/api/2.0/mlflow"


class NotFound(ShipyardError):
    """The server answered RESOURCE_DOES_NOT_EXIST (HTTP 404)."""


@dataclass(frozen=True)
class MlflowRest:
    """The REST API of one tracking server."""

    uri: str  # http(s)://host[:port][/prefix]
    environ: Mapping[str, str] | None = None

    def _headers(self) -> dict[str, str]:
        env = os.environ if self.environ is None else self.environ
        headers = {"Accept": "application/json", "User-Agent": "shipyard"}
        token = env.get("MLFLOW_TRACKING_TOKEN")
        user, password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif user and password:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers

    def call(self, method: str, endpoint: str, fields: Mapping[str, str]) -> dict[str, Any]:
        """One call; the decoded JSON answer, or an error that names the
        server, the endpoint and MLflow's own message."""
        url = self.uri.rstrip("/") + API + endpoint
        headers = self._headers()
        data = None
        if method == "GET":
            url += "?" + urllib.parse.urlencode(dict(fields))
        else:
            data = json.dumps(dict(fields)).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        what = f"{method} {API}{endpoint} on {self.uri}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http/https only)
                body = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", errors="replace")
            try:
                detail = json.loads(text)
            except ValueError:
                detail = {}
            code = detail.get("error_code", "") if isinstance(detail, dict) else ""
            message = (detail.get("message") if isinstance(detail, dict) else None) or text.strip()[:300]
            if exc.code == 404 and (code == "RESOURCE_DOES_NOT_EXIST" or not code):
                raise NotFound(f"MLflow at {self.uri}: {message}", check=FAILED,
                               hint="check the registered model's name and version (or alias) in MLflow") from None
            hint = ("set MLFLOW_TRACKING_TOKEN (or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
                    if exc.code in (401, 403) else "check the tracking URI and the MLflow server's log")
            raise ShipyardError(f"{what} failed with HTTP {exc.code}{f' {code}' if code else ''}: {message}",
                                check=FAILED, hint=hint) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ShipyardError(f"cannot reach the MLflow tracking server at {self.uri}: {reason}", check=FAILED,
                                hint="check --mlflow-uri, MLFLOW_TRACKING_URI or mlflow.trackingUri in shipyard.yaml, "
                                     "and that the server is up") from None
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            raise ShipyardError(f"{what} did not answer JSON: is {self.uri} an MLflow tracking server?",
                                check=FAILED, hint="point the tracking URI at the server's root URL") from None
        if not isinstance(answer, dict):
            raise ShipyardError(f"{what} answered {type(answer).__name__}, not a JSON object", check=FAILED)
        return answer

    # --- the endpoints used ------------------------------------------------

    def model_version(self, name: str, version: str) -> dict[str, Any]:
        return dict(self.call("GET", "/model-versions/get", {"name": name, "version": version}).get("model_version") or {})

    def model_version_by_alias(self, name: str, alias: str) -> dict[str, Any]:
        answer = self.call("GET", "/registered-models/alias", {"name": name, "alias": alias})
        return dict(answer.get("model_version") or {})

    def registered_model(self, name: str) -> dict[str, Any]:
        return dict(self.call("GET", "/registered-models/get", {"name": name}).get("registered_model") or {})

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.call("GET", "/runs/get", {"run_id": run_id}).get("run") or {})

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.call("POST", "/registered-models/alias", {"name": name, "alias": alias, "version": version})

    def delete_alias(self, name: str, alias: str) -> None:
        self.call("DELETE", "/registered-models/alias", {"name": name, "alias": alias})
