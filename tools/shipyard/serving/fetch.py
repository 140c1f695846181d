"""Fetch a registered s3:// or gs:// artifact the way the cluster does, and
prove it is the registered one before anything serves it.

The download is seldon-core's storage initializer's own step, ``rclone copy
<modelUri> <folder>`` (shipyard.serving.rclone), into a staging folder of
the repository's cache (.shipyard-cache/artifacts/<model>/<version>). Only
a copy whose artifact file (model.joblib, or what the version's runtime
loads: shipyard.serving.runtimes) has the sha256 model.yaml records replaces the
cached one; a different one is deleted and refused (SY912), so a store
object changed after registration is never served. A cached copy that still
has the registered sha256 is served without downloading again: versions are
immutable, and the digest, not the store, is what vouches for the bytes.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.repo import ModelStoreSettings
from shipyard.serving.artifact import SKLEARN_SELDON, VerifiedArtifact
from shipyard.serving.folder_digest import digest_subject, registered_digest
from shipyard.serving.rclone import rclone_for
from shipyard.serving.registry import RegisteredVersion
from shipyard.serving.runtimes import Runtime, artifact_in, names_text

CACHE_DIR = Path(".shipyard-cache") / "artifacts"


@dataclass(frozen=True)
class Fetched:
    """A remote artifact, local and verified, and whether it was downloaded now."""

    artifact: VerifiedArtifact
    uri: str
    downloaded: bool


def cache_folder(root: Path, entry: RegisteredVersion) -> Path:
    return root / CACHE_DIR / entry.model / entry.version


def fetch(root: Path, entry: RegisteredVersion, store: ModelStoreSettings | None, *, allow_unverified: bool = False,
          log: Callable[[str], None] | None = None, environ: Mapping[str, str] | None = None,
          runtime: Runtime = SKLEARN_SELDON) -> Fetched:
    """Download ``entry``'s modelUri (unless a verified copy is cached) and verify it."""
    where = f"{entry.model} {entry.version}"
    if entry.sha256 is None and not allow_unverified:
        raise ShipyardError(
            f"{where} has no sha256 in model.yaml, so the artifact at {entry.model_uri} cannot be verified",
            file=entry.file, line=entry.line, check=ids.ARTIFACT_UNUSABLE,
            hint="register it with --sha256 if you know the digest, or pass --allow-unverified")
    folder = cache_folder(root, entry)
    cached = artifact_in(folder, runtime) if folder.is_dir() else None
    if entry.sha256 is not None and cached is not None \
            and registered_digest(folder, cached, runtime.implementation) == entry.sha256:
        return Fetched(VerifiedArtifact(folder, entry.sha256, verified=True, file=cached), entry.model_uri, downloaded=False)
    rclone = rclone_for(entry.model_uri, store, writing=False, log=log, environ=environ)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.version}.fetch-", dir=folder.parent))
    try:
        rclone.download_folder(entry.model_uri, staging)
        artifact = artifact_in(staging, runtime)
        if artifact is None:
            found = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
            raise ShipyardError(
                f"{entry.model_uri} holds no {names_text(runtime)}"
                + (f" (it holds {', '.join(found[:5])})" if found else " (nothing is there)"),
                file=entry.file, line=entry.line, check=ids.ARTIFACT_UNUSABLE,
                hint="publish the version first (shipyard publish), or fix modelUri: it names the version's folder")
        actual = registered_digest(staging, artifact, runtime.implementation)
        if entry.sha256 is not None and actual != entry.sha256:
            raise ShipyardError(
                f"{digest_subject(entry.model_uri, artifact.name, runtime.implementation)} has sha256 {actual}, "
                f"but {entry.sha256} is registered for {where}; "
                "refusing to serve it",
                file=entry.file, line=entry.line, check=ids.ARTIFACT_UNUSABLE,
                hint="the object in the store changed after registration: restore the registered artifact there, "
                     "or register a new version")
        name = artifact.name
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Fetched(VerifiedArtifact(folder, actual, verified=entry.sha256 is not None, file=folder / name), entry.model_uri,
                   downloaded=True)
