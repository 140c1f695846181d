"""The S3 server the model store tests talk to: constants and a handle.

A module of its own so that conftest.py (which starts the server) and the
tests (which look at what it holds) share one definition.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

S3_BUCKET = "shipyard-models"
S3_ACCESS_KEY = "shipyard-test"
S3_SECRET_KEY = "loopback-only-secret"


@dataclass(frozen=True)
class S3Server:
    """`rclone serve s3` on 127.0.0.1: its endpoint, the folder it serves
    (bucket ``S3_BUCKET`` is a folder in it), and the key pair it accepts."""

    endpoint: str
    root: Path
    rclone: Path

    def environ(self, *, secret: str = S3_SECRET_KEY) -> dict[str, str]:
        """This process's environment pointed at the server the way a person
        points the toolkit at a store: the standard AWS variables only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_", "SHIPYARD_MODEL_STORE"))}
        env.update({"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1"})
        return env

    def client(self, *args: str) -> subprocess.CompletedProcess[str]:
        """rclone itself as a second S3 client (to plant or read objects
        through the API, never behind the server's back)."""
        env = self.environ()
        env.update({"RCLONE_CONFIG_S3_TYPE": "s3", "RCLONE_CONFIG_S3_PROVIDER": "Other",
                    "RCLONE_CONFIG_S3_ENV_AUTH": "true", "RCLONE_CONFIG_S3_ENDPOINT": self.endpoint})
        return subprocess.run([str(self.rclone), "--config", "", *args], env=env, capture_output=True, text=True,
                              timeout=60, check=True)
