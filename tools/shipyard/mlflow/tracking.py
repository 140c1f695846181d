"""Log a trained model to MLflow and register a model version there.

The toolkit never imports mlflow; this starts runtime/log_model.py in
.venv-mlflow (built on first use from tools/envs/mlflow.txt), which uses
MLflow's own client, so the run, the MLmodel folder and the model version
are exactly what MLflow writes. The run carries the tags `shipyard register
--from-mlflow` reads back (shipyard.mlflow.importer): the version id, the
pipeline run and the evaluation data.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from shipyard import envs
from shipyard.errors import ShipyardError
from shipyard.mlflow.importer import TAG_DATASET, TAG_DATASET_DIGEST, TAG_PIPELINE_RUN, TAG_VERSION
from shipyard.mlflow.rest import FAILED

SCRIPT = Path(__file__).resolve().parent / "runtime" / "log_model.py"
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Logged:
    """The run and the model version MLflow created."""

    run_id: str
    experiment_id: str
    model: str
    version: str
    source: str

    @property
    def reference(self) -> str:
        return f"models:/{self.model}/{self.version}"


def log_model(tracking_uri: str, registered_model: str, joblib_file: Path, *, version: str,
              metrics: Mapping[str, float], params: Mapping[str, str] | None = None, experiment: str = "",
              pipeline_run: str = "", dataset: str = "", dataset_digest: str = "",
              environ: Mapping[str, str] | None = None, env_root: Path | None = None,
              log: Callable[[str], None] | None = None) -> Logged:
    """One run with ``params`` and ``metrics``, the model logged, and a new version of ``registered_model``."""
    if not joblib_file.is_file():
        raise ShipyardError(f"{joblib_file}: no such file", check=FAILED, hint="pass the trained model.joblib")
    env = envs.ensure("mlflow", env_root or envs.toolkit_root(), log=log).env
    tags = {TAG_VERSION: version}
    if pipeline_run:
        tags[TAG_PIPELINE_RUN] = pipeline_run
    if dataset and dataset_digest:
        tags.update({TAG_DATASET: dataset, TAG_DATASET_DIGEST: dataset_digest})
    command = [str(env.python), str(SCRIPT), "--tracking-uri", tracking_uri, "--model", registered_model,
               "--joblib", str(joblib_file)]
    if experiment:
        command += ["--experiment", experiment]
    command += [a for k, v in (params or {}).items() for a in ("--param", f"{k}={v}")]
    command += [a for k, v in metrics.items() for a in ("--metric", f"{k}={v!r}")]
    command += [a for k, v in tags.items() for a in ("--tag", f"{k}={v}")]
    process_env = dict(os.environ if environ is None else environ)
    process_env["PATH"] = f"{env.path / 'bin'}{os.pathsep}{process_env.get('PATH', '')}"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=process_env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ShipyardError(f"logging to MLflow at {tracking_uri} took longer than {TIMEOUT_SECONDS} s",
                            check=FAILED, hint="check the tracking server and its artifact store") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        reason = lines[-1][len("error: "):] if lines else (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ShipyardError(f"cannot log {joblib_file.name} to MLflow at {tracking_uri}: {reason}", check=FAILED,
                            hint="check the tracking URI, MLFLOW_TRACKING_TOKEN and the server's artifact store "
                                 "credentials")
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        return Logged(str(answer["runId"]), str(answer["experimentId"]), str(answer["model"]), str(answer["version"]),
                      str(answer["source"]))
    except (ValueError, KeyError, IndexError):
        raise ShipyardError(f"the MLflow logging step printed no result: {done.stdout[-300:]!r}", check=FAILED) from None
