"""Publish a trained artifact to the model store, immutably.

Version V of model M goes to ``<store>/<M>/<V>/<file>``, where ``<file>`` is
the artifact the model's runtime loads (shipyard.serving.runtimes, by the
serving section's implementation and protocol): model.joblib for
SKLEARN_SERVER; model.bst, model.json or model.ubj for XGBOOST_SERVER under
protocol v2 (MLServer's XGBoost runtime; xgboost reads the format from the
name, so the file keeps its own); model.bst for XGBOOST_SERVER under the
Seldon protocol. ``<store>/<M>/<V>`` is the modelUri to register with the
artifact's sha256. The folder of a version
is what a cluster's storage initializer downloads, so it never changes
once written:

- the same bytes again is a no-op (a pipeline re-run of the same training);
- different bytes, or any other object in the folder, is refused (SY912),
  and nothing is written;
- a version model.yaml registers at this URI with another sha256 is
  refused, even when the object has gone from the store.

Everything that can be judged without the store is judged first (the
model exists, the version is a valid id, the artifact is one the runtime
loads, the URI carries no credential and passes model.yaml's own modelUri
rules), so a refusal never leaves an orphan object behind. Remote stores
are written with rclone (shipyard.serving.rclone), local ones with an
atomic copy.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from shipyard import ids
from shipyard.errors import ShipyardError
from shipyard.models import rules
from shipyard.models.spec import model_schema, require_model_name
from shipyard.repo import Repository
from shipyard.serving.artifact import JOBLIB_FILE, sha256_file
from shipyard.serving.rclone import rclone_for
from shipyard.serving.registry import registered_versions, serving_section
from shipyard.serving.runtimes import (
    DEFAULT_IMPLEMENTATION, DEFAULT_PROTOCOL, artifact_names_for, normalise_protocol, serving_label,
)
from shipyard.serving.store import ModelStore


def _partial(name: str) -> str:
    """Prefix of a local copy of ``name`` in progress (linked into place when complete)."""
    return f".{name}."


@dataclass(frozen=True)
class ArtifactKind:
    """What a model's runtime loads from a version's folder: its well-known
    names, in the runtime's order, and the runtime, for messages."""

    names: tuple[str, ...]
    runtime: str  # "XGBOOST_SERVER under protocol v2"

    @property
    def text(self) -> str:
        """``model.joblib`` or ``model.bst, model.json or model.ubj``."""
        names = list(self.names)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def artifact_kind(repo: Repository, model: str) -> ArtifactKind:
    """The files a version of ``model`` may consist of, from its serving
    section (shipyard.serving.runtimes.artifact_names_for): one table for
    what `serve` loads, what `publish` uploads and what the sha256 describes.
    A model without a serving section is SKLEARN_SERVER under the Seldon
    protocol (model.joblib), what every such model was. An MLFLOW_SERVER
    version is a folder (MLmodel and the files it names), which `shipyard
    mlflow log` publishes: refused here."""
    implementation, protocol, _image = serving_section(repo.root, model)
    impl = implementation or DEFAULT_IMPLEMENTATION
    proto = normalise_protocol(protocol or DEFAULT_PROTOCOL)
    if impl == "MLFLOW_SERVER":
        raise ShipyardError(f"{model} is served by MLFLOW_SERVER, whose artifact is an MLflow model folder, not one file",
                            file=f"models/{model}/model.yaml", check=ids.USAGE,
                            hint=f"log it with `shipyard mlflow log {model} ...`, then `shipyard register --from-mlflow`")
    return ArtifactKind(artifact_names_for(impl, proto), serving_label(impl, proto))


def artifact_names(repo: Repository, model: str) -> tuple[str, ...]:
    """The names a version's single object may have (see artifact_kind)."""
    return artifact_kind(repo, model).names


def object_name(file: Path, names: tuple[str, ...] | ArtifactKind) -> str:
    """The name ``file`` is stored under: its own when the runtime knows it;
    else the runtime's name with the same suffix (``clf.joblib`` ->
    model.joblib, ``booster.json`` -> model.json: XGBoost reads the format
    from the suffix); else, when the runtime knows one name only, that name
    (a joblib model of any name). Anything else is refused."""
    kind = names if isinstance(names, ArtifactKind) else ArtifactKind(names, "the model's runtime")
    if file.name in kind.names:
        return file.name
    same_suffix = [n for n in kind.names if file.suffix and Path(n).suffix == file.suffix]
    if same_suffix:
        return same_suffix[0]
    if len(kind.names) == 1:
        return kind.names[0]
    raise ShipyardError(f"{file}: {kind.runtime} loads {kind.text}, and the format follows the name",
                        check=ids.USAGE, hint=f"pass a file named {kind.text} (for XGBoost: "
                                              "save_model('model.json'), or model.ubj, model.bst)")


@dataclass(frozen=True)
class Published:
    """Where a version's artifact is, and whether this call uploaded it."""

    model: str
    version: str
    uri: str  # the modelUri to register: the version's folder
    object_uri: str  # the artifact itself: <uri>/model.joblib (or model.json, ...)
    sha256: str
    size: int
    uploaded: bool  # False: the store already held these exact bytes

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "uri": self.uri, "object": self.object_uri,
                "sha256": self.sha256, "size": self.size, "uploaded": self.uploaded}


def artifact_file(source: Path, names: tuple[str, ...] | ArtifactKind = (JOBLIB_FILE,)) -> Path:
    """The file to publish: ``source`` itself, or the one artifact (one of
    the runtime's names) of a folder that holds nothing else (anything else
    would be left behind, and the runtime loads one file)."""
    kind = names if isinstance(names, ArtifactKind) else ArtifactKind(names, "the model's runtime")
    if source.is_file():
        return source
    if source.is_dir():
        inside = sorted(p.name for p in source.iterdir())
        known = [n for n in kind.names if n in inside]  # in the runtime's order
        if len(inside) == 1 and known and (source / known[0]).is_file():
            return source / known[0]
        if not known:
            held = ", ".join(inside[:5]) + (f" and {len(inside) - 5} more" if len(inside) > 5 else "")
            raise ShipyardError(f"{source} holds none of the files {kind.runtime} loads ({kind.text}); "
                                f"it holds {held or 'nothing'}", check=ids.USAGE,
                                hint=f"pass the artifact file, or a folder that holds only {kind.text}")
        others = ", ".join(n for n in inside if n != known[0])
        raise ShipyardError(f"{source} holds more than {known[0]} ({others}); only {known[0]} is published",
                            check=ids.USAGE, hint=f"pass {source / known[0]} itself")
    raise ShipyardError(f"{source} does not exist", check=ids.USAGE, hint=f"pass the trained artifact ({kind.text})")


def _version_rule(field: str) -> dict[str, Any]:
    """The model.yaml schema of one field of a version entry."""
    node = model_schema().get("$defs", {}).get("version", {}).get("properties", {}).get(field, {})
    return node if isinstance(node, dict) else {}


def check_version_id(version: str) -> None:
    """``version`` is what model.yaml accepts (it becomes a folder and a label)."""
    rule = _version_rule("version")
    pattern = rule.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, version):
        message = rule.get("x-messages", {}).get("pattern", f"must match {pattern}")
        raise ShipyardError(f"--version {version!r}: {message}", check=ids.USAGE)


def check_model_uri(model: str, version: str, uri: str) -> None:
    """The URI to register passes model.yaml's modelUri rules and SY321,
    checked now so that nothing is uploaded under a URI register refuses."""
    problem = rules.uri_without_credentials(model, version, uri, at=(f"models/{model}/model.yaml", 1))
    if problem is not None:
        raise problem.error()
    rule = _version_rule("modelUri")
    messages = rule.get("x-messages", {})
    pattern = rule.get("pattern")
    moving = rule.get("not", {}).get("pattern") if isinstance(rule.get("not"), dict) else None
    if isinstance(pattern, str) and not re.search(pattern, uri):
        raise ShipyardError(f"{uri}: {messages.get('pattern', 'not a modelUri model.yaml accepts')}", check=ids.USAGE,
                            hint="publish to an s3://, gs:// or local store, with a version id without spaces")
    if isinstance(moving, str) and re.search(moving, uri):
        raise ShipyardError(f"{uri}: {messages.get('not', 'a moving location')}", check=ids.USAGE,
                            hint="publish under an immutable version id (1.1.0, 2026-11-01-a), never latest")


def check_registered(repo: Repository, model: str, version: str, uri: str, digest: str) -> None:
    """A version registered at this very URI must get back the bytes it was
    registered with: its object may have gone from the store, and uploading
    other bytes there would make the registered sha256 a lie. (A version
    registered elsewhere is `register`'s to refuse.)"""
    for entry in registered_versions(repo.root, model):
        if entry.version == version and entry.model_uri == uri and entry.sha256 not in (None, digest):
            raise ShipyardError(
                f"{model} {version} is registered at {uri} with sha256 {entry.sha256}, but this artifact has {digest}",
                file=entry.file, line=entry.line, check=ids.ARTIFACT_UNUSABLE,
                hint="registered versions are immutable: publish the new artifact as a new version")


def publish(repo: Repository, store: ModelStore, model: str, version: str, source: Path, *,
            log: Callable[[str], None] | None = None, environ: Mapping[str, str] | None = None) -> Published:
    """Put ``source`` at version ``version`` of ``model`` in ``store``; see the module's rules."""
    require_model_name(repo, model)
    check_version_id(version)
    kind = artifact_kind(repo, model)
    file = artifact_file(source, kind)
    name = object_name(file, kind)
    uri = store.version_uri(model, version)
    check_model_uri(model, version, uri)
    try:
        digest, size = sha256_file(file), file.stat().st_size
    except OSError as exc:
        raise ShipyardError(f"cannot read {file}: {exc.strerror}", check=ids.USAGE) from None
    check_registered(repo, model, version, uri, digest)
    object_uri = f"{uri}/{name}"
    if store.remote:
        uploaded = _publish_remote(repo, file, uri, object_uri, digest, size, log=log, environ=environ)
    else:
        uploaded = _publish_local(file, store.local_root() / model / version, digest, name)
    return Published(model, version, uri, object_uri, digest, size, uploaded)


def _different(where: str, detail: str) -> ShipyardError:
    return ShipyardError(f"{where} already holds different bytes: versions are immutable, choose a new version ({detail})",
                         hint="publish this artifact as a new version; the registered one stays as it is",
                         check=ids.ARTIFACT_UNUSABLE)


def _others(where: str, names: list[str]) -> ShipyardError:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return ShipyardError(f"{where} already holds other objects ({shown}): a version's folder is what the cluster "
                         "downloads, and it is immutable", hint="publish this artifact as a new version",
                         check=ids.ARTIFACT_UNUSABLE)


def _publish_remote(repo: Repository, file: Path, uri: str, object_uri: str, digest: str, size: int, *,
                    log: Callable[[str], None] | None, environ: Mapping[str, str] | None) -> bool:
    """Upload unless the version's folder already holds exactly these bytes.

    An existing object of the same size is downloaded and hashed: the store
    may not know a sha256 of its objects (S3 keeps an MD5, and only for
    single-part uploads), and equal sizes prove nothing."""
    name = object_uri.rsplit("/", 1)[1]
    rclone = rclone_for(uri, repo.settings.model_store, writing=True, log=log, environ=environ)
    existing = rclone.list_files(uri)
    if existing:
        others = sorted(o.path for o in existing if o.path != name)
        if others:
            raise _others(uri, others)
        (current,) = existing
        if current.size != size:
            raise _different(object_uri, f"{current.size} bytes there, {size} here")
        with tempfile.TemporaryDirectory(prefix="shipyard-publish-") as tmp:
            copy = Path(tmp) / name
            rclone.download_file(object_uri, copy)
            there = sha256_file(copy)
        if there != digest:
            raise _different(object_uri, f"sha256 {there} there, {digest} here")
        return False
    rclone.upload(file, object_uri)
    arrived = rclone.list_files(uri)
    if [(o.path, o.size) for o in arrived] != [(name, size)]:
        found = ", ".join(f"{o.path} ({o.size} bytes)" for o in arrived) or "nothing"
        raise ShipyardError(f"uploaded {file} to {object_uri}, but the store now lists {found}",
                            hint="another publish of this version ran at the same time, or the store dropped the "
                                 "upload; check the folder before registering", check=ids.ARTIFACT_UNUSABLE)
    return True


def _publish_local(file: Path, folder: Path, digest: str, name: str = JOBLIB_FILE) -> bool:
    """Copy into a local store: a complete temporary copy, mode 0644 (the
    serving user is often another user of the same group), hard-linked into
    place so that a concurrent publish of other bytes cannot be replaced."""
    target = folder / name
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if p.name != name and not p.name.startswith(_partial(name)))
        if others:
            raise _others(str(folder), others)
    if target.exists():
        there = sha256_file(target)
        if there != digest:
            raise _different(str(target), f"sha256 {there} there, {digest} here")
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_partial(name))
        os.close(fd)
        try:
            shutil.copyfile(file, tmp)
            os.chmod(tmp, 0o644)
            os.link(tmp, target)  # unlike a rename, never replaces what another publish put there meanwhile
        finally:
            os.unlink(tmp)
    except FileExistsError:
        there = sha256_file(target)
        if there != digest:
            raise _different(str(target), f"sha256 {there} there, {digest} here") from None
        return False
    except OSError as exc:
        raise ShipyardError(f"cannot write {target}: {exc.strerror}", check=ids.ARTIFACT_UNUSABLE,
                            hint="check the store folder exists and is writable") from None
    return True
