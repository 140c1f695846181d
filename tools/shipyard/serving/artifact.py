"""Find a version's artifact on disk and prove it is the registered one.

Everything here runs before a server starts, so a wrong URI, a missing
model.joblib or a digest that differs from model.yaml is refused with a
message that names the file and what to do, instead of surfacing as a
server crash. Remote stores (gs://, s3://) are not fetched: their artifacts
are downloaded by the cluster's storage initializer, and locally by the user
(the message says how), then served with --model-dir.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.serving.registry import RegisteredVersion

JOBLIB_FILE = "model.joblib"
REMOTE_SCHEMES = {"gs": "gsutil cp -r {uri} DIR", "s3": "aws s3 cp --recursive {uri} DIR"}


@dataclass(frozen=True)
class VerifiedArtifact:
    """A local folder holding model.joblib whose digest has been checked."""

    folder: Path
    sha256: str
    verified: bool  # False only when the user allowed an unregistered digest


def local_folder(model_uri: str, root: Path) -> Path:
    """The local folder a modelUri names: file:///abs, /abs, or a path relative to the repository."""
    if not model_uri:
        raise ShipyardError("the version has no modelUri", hint="register the version again with --uri", check=ids.ARTIFACT_UNUSABLE)
    parsed = urlparse(model_uri)
    if parsed.scheme in REMOTE_SCHEMES:
        command = REMOTE_SCHEMES[parsed.scheme].format(uri=model_uri)
        raise ShipyardError(
            f"{model_uri} is in a remote store; shipyard serve only reads local folders",
            hint=f"download it first ({command}) and pass --model-dir DIR; its sha256 is still checked",
            check="SY912",
        )
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ShipyardError(f"{model_uri}: file:// URIs must name a local path (file:///abs/path)", check=ids.ARTIFACT_UNUSABLE)
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # one letter would be a Windows drive
        raise ShipyardError(f"{model_uri}: unsupported URI scheme {parsed.scheme!r}", hint="use a local path, file://, gs:// or s3://", check=ids.ARTIFACT_UNUSABLE)
    path = Path(model_uri)
    return path if path.is_absolute() else (root / path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(folder: Path, entry: RegisteredVersion, *, allow_unverified: bool = False) -> VerifiedArtifact:
    """Check that ``folder`` holds model.joblib with the sha256 registered for ``entry``."""
    where = f"{entry.model} {entry.version}"
    if not folder.is_dir():
        raise ShipyardError(
            f"artifact folder of {where} does not exist: {folder}",
            file=entry.file, line=entry.line,
            hint="run the pipeline that produced it again, or fix modelUri",
            check=ids.ARTIFACT_UNUSABLE,
        )
    artifact = folder / JOBLIB_FILE
    if not artifact.is_file():
        raise ShipyardError(
            f"{artifact} is missing: a SKLEARN_SERVER folder must hold {JOBLIB_FILE}",
            file=entry.file, line=entry.line,
            hint="point modelUri at the folder that contains model.joblib",
            check=ids.ARTIFACT_UNUSABLE,
        )
    try:
        actual = sha256_file(artifact)
    except OSError as exc:
        raise ShipyardError(f"cannot read {artifact}: {exc.strerror}", check=ids.ARTIFACT_UNUSABLE) from None
    if entry.sha256 is None:
        if not allow_unverified:
            raise ShipyardError(
                f"{where} has no sha256 in model.yaml, so the artifact cannot be verified",
                file=entry.file, line=entry.line,
                hint=f"register it with --sha256 {actual} if that is the right file, or pass --allow-unverified",
                check=ids.ARTIFACT_UNUSABLE,
            )
        return VerifiedArtifact(folder=folder, sha256=actual, verified=False)
    if actual != entry.sha256:
        raise ShipyardError(
            f"{artifact} has sha256 {actual}, but {entry.sha256} is registered for {where}; refusing to serve it",
            file=entry.file, line=entry.line,
            hint="the artifact changed after registration: restore the registered file or register a new version",
            check=ids.ARTIFACT_UNUSABLE,
        )
    return VerifiedArtifact(folder=folder, sha256=actual, verified=True)
