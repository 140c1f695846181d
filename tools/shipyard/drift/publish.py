"""Put a version's drift detector next to its artifact in the model store.

The detector of ``<store>/<model>/<version>`` lives at
``<store>/<model>/drift/<version>/``: beside the version's folder, not in
it, because that folder is exactly what Seldon's storage initializer
downloads into the model server and it holds one artifact only
(shipyard.serving.publish). Like a version, a published detector is
immutable: the same files again is a no-op, different files are refused.
s3:// and gs:// go through rclone (.venv-rclone), a local store by copying.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.repo import Repository
from shipyard.serving.rclone import rclone_for
from shipyard.serving.store import ModelStore


@dataclass(frozen=True)
class PublishedDetector:
    uri: str
    files: tuple[str, ...]
    uploaded: bool


def detector_uri(store: ModelStore, model: str, version: str) -> str:
    """Where the detector of ``version`` lives (file:// for a local store)."""
    if store.remote:
        return f"{store.uri}/{model}/drift/{version}"
    return (store.local_root() / model / "drift" / version).as_uri()


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _refuse(where: str) -> ShipyardError:
    return ShipyardError(f"{where} already holds a different drift detector: a version's detector is immutable",
                         hint="register the retrained model as a new version; its detector goes with it",
                         check=ids.ARTIFACT_UNUSABLE)


def publish_detector(repo: Repository, store: ModelStore, model: str, version: str, folder: Path, *,
                     log: Callable[[str], None] | None = None,
                     environ: Mapping[str, str] | None = None) -> PublishedDetector:
    """Publish the detector folder ``folder`` as the detector of ``model`` ``version``."""
    digests = _digests(folder)
    if not digests:
        raise ShipyardError(f"{folder} holds no detector files", check=ids.USAGE,
                            hint="build it first (shipyard drift build)")
    uri = detector_uri(store, model, version)
    if store.remote:
        return _publish_remote(repo, folder, uri, digests, log=log, environ=environ)
    target = store.local_root() / model / "drift" / version
    if target.exists():
        if _digests(target) != digests:
            raise _refuse(str(target))
        return PublishedDetector(uri, tuple(digests), uploaded=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}.partial-"))
    try:
        shutil.copytree(folder, staging / "tree")
        for path in (staging / "tree").rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(staging / "tree", 0o755)
        try:
            os.rename(staging / "tree", target)
        except OSError:
            if not target.exists() or _digests(target) != digests:
                raise _refuse(str(target)) from None
            return PublishedDetector(uri, tuple(digests), uploaded=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PublishedDetector(uri, tuple(digests), uploaded=True)


def _publish_remote(repo: Repository, folder: Path, uri: str, digests: dict[str, str], *,
                    log: Callable[[str], None] | None,
                    environ: Mapping[str, str] | None) -> PublishedDetector:
    rclone = rclone_for(uri, repo.settings.model_store, writing=True, log=log, environ=environ)
    existing = rclone.list_files(uri)
    if existing:
        with tempfile.TemporaryDirectory(prefix="shipyard-drift-") as tmp:
            rclone.download_folder(uri, Path(tmp))
            if _digests(Path(tmp)) != digests:
                raise _refuse(uri)
        return PublishedDetector(uri, tuple(digests), uploaded=False)
    rclone.run(["copy", str(folder), uri], f"upload {folder} to {uri}")
    arrived = sorted(o.path for o in rclone.list_files(uri))
    if arrived != sorted(digests):
        raise ShipyardError(f"uploaded {folder} to {uri}, but the store now lists {', '.join(arrived) or 'nothing'}",
                            hint="another publish of this detector ran at the same time; check the folder",
                            check=ids.ARTIFACT_UNUSABLE)
    return PublishedDetector(uri, tuple(digests), uploaded=True)
