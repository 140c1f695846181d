"""A registered version's detector, from training data to the model store:
what `shipyard drift build` and the iris pipeline's drift step do."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from shipyard import ids
from shipyard.drift.detector import BuiltDetector, build_detector
from shipyard.drift.publish import PublishedDetector, publish_detector
from shipyard.errors import ShipyardError
from shipyard.models.spec import DriftSpec, load_model
from shipyard.repo import Repository
from shipyard.serving.publish import check_version_id
from shipyard.serving.store import ModelStore


def drift_spec(repo: Repository, model: str) -> DriftSpec:
    """spec.drift of ``model``; an error that says what to write when it has none."""
    loaded = load_model(repo, model)
    spec = loaded.drift
    if spec is None:
        raise ShipyardError(f"model {model!r} declares no spec.drift", file=loaded.rel, check=ids.USAGE,
                            hint="add spec.drift (features, and optionally detector, pValue, schedule, minInstances) "
                                 "to model.yaml; docs/monitoring.md shows an example")
    return spec


def build_to_folder(repo: Repository, model: str, reference: Path, out: Path, *,
                    log: Callable[[str], None] | None = None) -> BuiltDetector:
    """Build ``model``'s detector from ``reference`` into the new folder ``out``."""
    return build_detector(reference, out, drift_spec(repo, model), log=log)


def build_and_publish(repo: Repository, store: ModelStore, model: str, version: str, reference: Path, *,
                      log: Callable[[str], None] | None = None) -> tuple[BuiltDetector, PublishedDetector]:
    """Build the detector of ``model`` ``version`` and publish it beside the version."""
    check_version_id(version)
    spec = drift_spec(repo, model)
    with tempfile.TemporaryDirectory(prefix="shipyard-drift-") as tmp:
        built = build_detector(reference, Path(tmp) / "detector", spec, log=log)
        published = publish_detector(repo, store, model, version, built.path, log=log)
    return built, published
