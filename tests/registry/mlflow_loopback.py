"""The servers the MLflow tests talk to: a real S3 API (`rclone serve s3`)
and a real MLflow tracking server (`mlflow server`, sqlite backend) whose
artifacts live in that S3 bucket, both on 127.0.0.1.

A module of its own so conftest.py (which starts them) and the tests (which
look at what they hold) share one definition.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

S3_BUCKET = "shipyard-models"
S3_ACCESS_KEY = "shipyard-test"
S3_SECRET_KEY = "loopback-only-secret"
ARTIFACTS = f"s3://{S3_BUCKET}/mlflow"
DIGEST = "sha256:8f8783e2120fa58ea474836fb9cd439062333dae14c848ad35aa9729abf6c8fe"  # the fixture's iris-test


@dataclass(frozen=True)
class MlflowStack:
    """The two servers: where they listen and the folder the bucket is in."""

    tracking_uri: str
    s3_endpoint: str
    s3_root: Path
    log: Path

    def environ(self) -> dict[str, str]:
        """This process's environment pointed at the S3 server with the standard AWS variables only."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RCLONE_", "AWS_", "SHIPYARD_MODEL_STORE", "MLFLOW_"))}
        env.update({"AWS_ENDPOINT_URL": self.s3_endpoint, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY, "AWS_REGION": "us-east-1"})
        return env

    def api(self, method: str, endpoint: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """MLflow's REST API, asked directly (to look at what the toolkit did)."""
        url = f"{self.tracking_uri}/api/2.0/mlflow{endpoint}"
        data = None
        if method == "GET" and body:
            url += "?" + "&".join(f"{k}={v}" for k, v in body.items())
        elif body is not None:
            data = json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
        return answer

    def aliases(self, name: str) -> dict[str, str]:
        model = self.api("GET", "/registered-models/get", {"name": name})["registered_model"]
        return {a["alias"]: a["version"] for a in model.get("aliases", [])}
