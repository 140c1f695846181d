"""Build a version's drift detector: build.py in .venv-drift, as a subprocess.

alibi-detect and its scientific stack are hundreds of megabytes and clash
with nothing the toolkit needs only because they never meet: the toolkit
starts tools/shipyard/drift/build.py with .venv-drift's interpreter (built on
first use, shipyard.envs) and reads the one JSON line it prints. The
settings come from model.yaml's spec.drift, so the pipeline, the CLI and the
CronJob agree on features and p-value.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shipyard import envs, ids
from shipyard.errors import ShipyardError
from shipyard.models.spec import DriftSpec

ENV_NAME = "drift"
SCRIPTS = Path(__file__).resolve().parent
BUILD_SCRIPT = SCRIPTS / "build.py"
JOB_SCRIPT = SCRIPTS / "job.py"
METADATA_FILE = "shipyard-drift.json"
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class BuiltDetector:
    """What build.py wrote: the folder and the settings it was built with."""

    path: Path
    kind: str
    p_value: float
    features: tuple[str, ...]
    reference_rows: int
    reference_sha256: str


def drift_python(log: Callable[[str], None] | None = None) -> Path:
    """The interpreter of .venv-drift, building the environment if needed."""
    return envs.ensure(ENV_NAME, envs.toolkit_root(), log=log).env.python


def build_detector(reference: Path, out: Path, spec: DriftSpec, *,
                   log: Callable[[str], None] | None = None) -> BuiltDetector:
    """Fit ``spec``'s detector on the CSV ``reference`` and save it at ``out``
    (which must not exist; it appears complete or not at all)."""
    command = [str(drift_python(log)), str(BUILD_SCRIPT), "--reference", str(reference),
               "--kind", spec.detector, "--p-value", repr(spec.p_value), "--out", str(out)]
    for feature in spec.features:
        command += ["--feature", feature]
    environ = {**os.environ, "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=environ,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ShipyardError(f"building the drift detector took more than {TIMEOUT_SECONDS} s", check=ids.USAGE,
                            hint="a reference sample of a few thousand rows is plenty: sample the training data") from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise ShipyardError(f"cannot build the drift detector: {reason.removeprefix('error: ')}", check=ids.USAGE,
                            hint="fix the reference sample or spec.drift in model.yaml")
    try:
        built = json.loads(done.stdout.strip().splitlines()[-1])
        return BuiltDetector(Path(built["path"]), str(built["kind"]), float(built["pValue"]),
                             tuple(built["features"]), int(built["referenceRows"]), str(built["referenceSha256"]))
    except (ValueError, KeyError, IndexError):
        raise ShipyardError(f"{BUILD_SCRIPT.name} printed no result: {done.stdout.strip()[:200]!r}", check="SY901",
                            hint="remove .venv-drift so it is built again on next use") from None
