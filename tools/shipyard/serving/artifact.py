"""Find a version's artifact on disk and prove it is the registered one.

Everything here runs before a server starts, so a wrong URI, a missing
artifact file (model.joblib; model.bst or model.json for XGBoost: whatever
the version's runtime loads, shipyard.serving.runtimes) or a digest that differs from model.yaml is refused with a
message that names the file and what to do, instead of surfacing as a
server crash. Remote stores (gs://, s3://) are fetched by
shipyard.serving.fetch first, with rclone as the cluster's storage
initializer does, and checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.serving.folder_digest import digest_subject, registered_digest, sha256_file
from shipyard.serving.registry import RegisteredVersion
from shipyard.serving.runtimes import RUNTIMES, Runtime, artifact_in, names_text
from shipyard.serving.store import remote_scheme

JOBLIB_FILE = "model.joblib"


@dataclass(frozen=True)
class VerifiedArtifact:
    """A local folder holding the runtime's artifact file, whose digest has been checked."""

    folder: Path
    sha256: str
    verified: bool  # False only when the user allowed an unregistered digest
    file: Path | None = None  # the artifact file in ``folder`` the runtime loads (None: model.joblib)

    @property
    def artifact(self) -> Path:
        return self.file if self.file is not None else self.folder / JOBLIB_FILE


SKLEARN_SELDON: Runtime = RUNTIMES[("SKLEARN_SERVER", "seldon")]


def local_folder(model_uri: str, root: Path) -> Path:
    """The local folder a modelUri names: file:///abs, /abs, or a path relative to the repository."""
    if not model_uri:
        raise ShipyardError("the version has no modelUri", hint="register the version again with --uri", check=ids.ARTIFACT_UNUSABLE)
    parsed = urlparse(model_uri)
    if remote_scheme(model_uri):  # the caller fetches these (shipyard.serving.fetch)
        raise ShipyardError(f"{model_uri} is in a remote store, not a local folder", check=ids.ARTIFACT_UNUSABLE,
                            hint="fetch it first (shipyard serve does), or pass --model-dir DIR")
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ShipyardError(f"{model_uri}: file:// URIs must name a local path (file:///abs/path)", check=ids.ARTIFACT_UNUSABLE)
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # one letter would be a Windows drive
        raise ShipyardError(f"{model_uri}: unsupported URI scheme {parsed.scheme!r}", hint="use a local path, file://, gs:// or s3://", check=ids.ARTIFACT_UNUSABLE)
    path = Path(model_uri)
    return path if path.is_absolute() else (root / path)


def verify(folder: Path, entry: RegisteredVersion, *, allow_unverified: bool = False,
           runtime: Runtime = SKLEARN_SELDON) -> VerifiedArtifact:
    """Check that ``folder`` holds the file ``runtime`` loads, with the sha256 registered for ``entry``."""
    where = f"{entry.model} {entry.version}"
    if not folder.is_dir():
        raise ShipyardError(
            f"artifact folder of {where} does not exist: {folder}",
            file=entry.file, line=entry.line,
            hint="run the pipeline that produced it again, or fix modelUri",
            check=ids.ARTIFACT_UNUSABLE,
        )
    found = artifact_in(folder, runtime)
    if found is None:
        names = names_text(runtime)
        missing = folder / runtime.artifact_names[0] if len(runtime.artifact_names) == 1 else folder
        raise ShipyardError(
            f"{missing} is missing: a {runtime.implementation} folder must hold {names}" if missing != folder
            else f"{folder} holds no {names}: the files {runtime.label} loads",
            file=entry.file, line=entry.line,
            hint=f"point modelUri at the folder that contains {names}",
            check=ids.ARTIFACT_UNUSABLE,
        )
    artifact = found
    try:
        actual = registered_digest(folder, artifact, runtime.implementation)
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
        return VerifiedArtifact(folder=folder, sha256=actual, verified=False, file=artifact)
    if actual != entry.sha256:
        raise ShipyardError(
            f"{digest_subject(str(folder), artifact.name, runtime.implementation)} has sha256 {actual}, but "
            f"{entry.sha256} is registered for {where}; refusing to serve it",
            file=entry.file, line=entry.line,
            hint="the artifact changed after registration: restore the registered file or register a new version",
            check=ids.ARTIFACT_UNUSABLE,
        )
    return VerifiedArtifact(folder=folder, sha256=actual, verified=True, file=artifact)
