"""Make a canary in a scratch copy with the repository's own commands.

The kind suite's second half changes the repository the way a person would:
`shipyard promote <model> --to <env> --version <v> --canary <percent>`. A
canary needs a registered version other than the one the environment runs;
when the model has none, one is registered first with `shipyard register`
(committed, as promote requires a clean tree), pointing at another published
artifact of the same model so that a cluster can load both predictors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard import ids
from shipyard.e2e.scratch import git_env
from shipyard.errors import ShipyardError
from shipyard.serving.registry import registered_versions

# Another published iris artifact (seldon-core's 1.16 examples), loadable by
# the 1.17.1 SKLEARN_SERVER: the second predictor when iris has one version.
SPARE_ARTIFACTS = {"iris": ("1.0.1", "gs://seldon-models/v1.16.0-dev/sklearn/iris")}


@dataclass(frozen=True)
class Canary:
    model: str
    environment: str
    stable: str
    version: str
    percent: int
    registered: bool  # the version was registered for the canary


def shipyard(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the shipyard command in ``root`` (the scratch copy)."""
    return subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=root, capture_output=True, text=True,
                          env=git_env(), timeout=timeout)


def _must(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise ShipyardError(f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-1500:]}",
                            check=ids.E2E_FAILED)


NO_ISTIO_REASON = ("end-to-end test on a cluster without Istio: the traffic split is not enforced there, "
                   "each predictor is reached through its own service")


def start_canary(root: Path, model: str, environment: str, stable: str, percent: int, work: Path, *,
                 istio: bool = True) -> Canary:
    """Promote a version other than ``stable`` as a ``percent``% canary in
    ``environment`` of the repository at ``root`` (a scratch copy). Without
    Istio, promote refuses a canary unless forced with a reason; the e2e
    cluster has none, and says why it forces."""
    versions = registered_versions(root, model)
    others = [v for v in versions if v.version != stable]
    registered = False
    if others:
        version = others[-1].version
    else:
        if model not in SPARE_ARTIFACTS:
            raise ShipyardError(f"{model} has only version {stable} and no spare artifact for a canary", check="SY900",
                                hint="register a second version of the model")
        version, uri = SPARE_ARTIFACTS[model]
        current = next(v for v in versions if v.version == stable)
        metrics = work / f"{model}-{version}-metrics.json"
        metrics.write_text(json.dumps(current.metrics), encoding="utf-8")
        _must(shipyard(root, "register", model, "--version", version, "--uri", uri, "--metrics", str(metrics),
                       "--commit", "--no-branch"), f"shipyard register {model} --version {version}")
        registered = True
    force = [] if istio else ["--force", "--reason", NO_ISTIO_REASON]
    _must(shipyard(root, "promote", model, "--to", environment, "--version", version, "--canary", str(percent), *force),
          f"shipyard promote {model} --to {environment} --version {version} --canary {percent}")
    return Canary(model, environment, stable, version, percent, registered)


def pinned_version(sdep: dict[str, Any]) -> str:
    """The version a rendered SeldonDeployment runs (its stable predictor)."""
    predictors = (sdep.get("spec") or {}).get("predictors") or [{}]
    version = (predictors[0].get("labels") or {}).get("version")
    if not version:
        version = ((sdep.get("metadata") or {}).get("labels") or {}).get("shipyard.dev/model-version")
    if not version:
        name = (sdep.get("metadata") or {}).get("name")
        raise ShipyardError(f"SeldonDeployment {name} does not say which version it runs",
                            hint="overlays pin a version through models/<model>/versions/<v>", check="SY900")
    return str(version)
