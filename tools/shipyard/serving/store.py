"""The model store: where published artifacts live, one folder per version.

A store is a URI prefix: ``s3://bucket[/prefix]``, ``gs://bucket[/prefix]``,
or a local folder (``/srv/models``, ``file:///srv/models``) for runs that
never leave the machine. Version V of model M lives at
``<store>/<M>/<V>/model.joblib``, the folder Seldon's SKLEARN_SERVER loads,
and ``<store>/<M>/<V>`` is the modelUri that gets registered.

Where the store is comes from, in order: ``--store`` on the command line,
``$SHIPYARD_MODEL_STORE``, ``modelStore.uri`` in shipyard.yaml. A store URI
never carries a credential (SY321, the rule `register` and `validate`
apply to every modelUri): every URI derived from it is committed to git.
Credentials and the endpoint of an S3-compatible server come from the
environment (shipyard.serving.rclone; docs/registry.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit

from shipyard import ids
from shipyard.credentials import uri_credential
from shipyard.errors import ShipyardError
from shipyard.repo import Repository, Settings
from shipyard.shapes import as_dict, as_list

STORE_ENV = "SHIPYARD_MODEL_STORE"
REMOTE_SCHEMES = ("s3", "gs")
"""The schemes rclone fetches: the remotes seldon-core's storage initializer
is configured for (RCLONE_CONFIG_S3_*, RCLONE_CONFIG_GS_*)."""


@dataclass(frozen=True)
class ModelStore:
    """A resolved store: its URI (no trailing slash), and where that came from."""

    uri: str
    source: str  # "--store", "$SHIPYARD_MODEL_STORE" or "modelStore.uri of shipyard.yaml", for messages

    @property
    def scheme(self) -> str:
        """"s3", "gs", or "file" for a local folder."""
        return remote_scheme(self.uri) or "file"

    @property
    def remote(self) -> bool:
        return self.scheme in REMOTE_SCHEMES

    def local_root(self) -> Path:
        """The folder of a local store."""
        assert not self.remote
        return local_path(self.uri)

    def version_uri(self, model: str, version: str) -> str:
        """The modelUri of ``version``: ``<store>/<model>/<version>`` (file:// for a local store)."""
        if self.remote:
            return f"{self.uri}/{model}/{version}"
        return (self.local_root() / model / version).as_uri()


def remote_scheme(uri: str) -> str | None:
    """"s3" or "gs" for a URI rclone fetches (``s3://bucket/path``), else None."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    return scheme if scheme in REMOTE_SCHEMES else None


def local_path(uri: str, base: Path | None = None) -> Path:
    """The folder a local store URI names: ``/abs``, ``file:///abs`` or a path
    relative to ``base`` (default: the current folder), made absolute since
    a pipeline's steps run in other folders."""
    if uri.startswith("file://"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise ShipyardError(f"{uri}: a file:// store must name a local path (file:///abs/path)", check=ids.USAGE)
        return Path(unquote(parts.path))
    return ((base or Path.cwd()) / uri).resolve()


def parse_store(uri: str, source: str, *, file: str | None = None, line: int | None = None,
                base: Path | None = None) -> ModelStore:
    """Check a store URI and resolve it; ``file``/``line`` say where it is
    written, ``base`` what a relative folder is relative to."""
    text = uri.strip()
    what = uri_credential(text)
    if what is not None:
        raise ShipyardError(
            f"the model store {source} carries {what}; every modelUri published there would carry it into git",
            file=file, line=line, check="SY321",
            hint="write the plain store (s3://bucket/prefix) and give credentials through the environment: "
                 "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or RCLONE_CONFIG_S3_* (docs/registry.md)",
        )
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme and scheme not in (*REMOTE_SCHEMES, "file"):
        raise ShipyardError(f"the model store {source} is {text!r}: unsupported scheme {scheme!r}", file=file,
                            line=line, check=ids.USAGE,
                            hint="use s3://bucket[/prefix], gs://bucket[/prefix] or a local folder")
    if scheme in REMOTE_SCHEMES:
        rest = text.split("://", 1)[1].strip("/")
        bucket = rest.split("/", 1)[0]
        if not bucket or any(c.isspace() for c in rest) or "//" in rest or any(p in (".", "..") for p in rest.split("/")):
            raise ShipyardError(f"the model store {source} is {text!r}: not a bucket and a prefix", file=file,
                                line=line, check=ids.USAGE, hint=f"write it like {scheme}://bucket or {scheme}://bucket/models")
        text = f"{scheme}://{rest}"
    else:
        text = local_path(text, base).as_uri()
    return ModelStore(uri=text.rstrip("/"), source=source)


def resolve_store(settings: Settings, override: str | None = None,
                  environ: Mapping[str, str] | None = None, *, root: Path | None = None) -> ModelStore:
    """The store to publish to: ``override`` (--store), else $SHIPYARD_MODEL_STORE,
    else modelStore.uri of shipyard.yaml; an error naming all three when none
    is set. A relative folder in shipyard.yaml is relative to ``root`` (the
    repository), one given on the command line or in the environment to the
    current folder."""
    env = os.environ if environ is None else environ
    if override:
        return parse_store(override, "--store")
    if env.get(STORE_ENV, "").strip():
        return parse_store(env[STORE_ENV], f"${STORE_ENV}")
    configured = settings.model_store
    if configured is None:
        raise ShipyardError(
            "no model store: nowhere to publish the artifact", check=ids.USAGE,
            hint=f"set modelStore: {{uri: s3://bucket/models}} in {settings.file}, export {STORE_ENV}, or pass --store",
        )
    return parse_store(configured.uri, f"modelStore.uri of {settings.file}", file=configured.file,
                       line=configured.line, base=root)


def _documents(repo: Repository, path: Path) -> list[object]:
    """The YAML documents of ``path``, or none when it is missing or broken
    (this is advice: `validate` is what reports a broken file)."""
    from shipyard.load import load_documents, read_text  # late: the loader is heavy to import

    if not path.is_file():
        return []
    try:
        return [data for data, _line in load_documents(read_text(path, repo.rel(path)), repo.rel(path))]
    except ShipyardError:
        return []


def _graph_nodes(node: object) -> Iterator[dict[str, object]]:
    """A Seldon inference graph node and its children, depth first."""
    if isinstance(node, dict):
        yield node
        for child in as_list(node.get("children")):
            yield from _graph_nodes(child)


def storage_secret_gaps(repo: Repository, model: str, secret: str) -> list[str]:
    """The model environments where nothing hands Secret ``secret`` to the
    storage initializer of ``model``'s predictors; [] when every one does.

    Seldon's operator adds the Secret to the init container from the graph
    node's ``envSecretRefName``, else from the operator's
    ``predictiveUnit.defaultEnvSecretRefName``. The node is read in the
    model's deploy base (the canary predictor is copied from it), the
    default in base/seldon-core/values.yaml and each environment's
    overlays/<env>/charts/values/seldon-core.yaml (which wins)."""
    deploy = repo.root / "models" / model / "deploy"
    named: set[str] = set()
    for path in sorted([*deploy.glob("*.yaml"), *deploy.glob("*.yml")]):
        for doc in _documents(repo, path):
            body = as_dict(doc)
            if body.get("kind") != "SeldonDeployment":
                continue
            for predictor in as_list(as_dict(body.get("spec")).get("predictors")):
                for node in _graph_nodes(as_dict(predictor).get("graph")):
                    if isinstance(node.get("envSecretRefName"), str):
                        named.add(str(node["envSecretRefName"]))
    if secret in named:
        return []

    def default_in(path: Path) -> str | None:
        for doc in _documents(repo, path):
            value = as_dict(as_dict(doc).get("predictiveUnit")).get("defaultEnvSecretRefName")
            if isinstance(value, str):
                return value
        return None

    base = default_in(repo.root / "base" / "seldon-core" / "values.yaml")
    gaps = []
    for env in repo.model_environments():
        own = default_in(repo.root / "overlays" / env / "charts" / "values" / "seldon-core.yaml")
        if (own if own is not None else base) != secret:
            gaps.append(env)
    return gaps


def storage_secret_warning(repo: Repository, model: str, store: ModelStore) -> str | None:
    """What to tell a person who publishes to a store the cluster needs
    credentials for (modelStore.secretName) when the predictors of
    ``model`` would not get them, so the pods' init containers would fail."""
    configured = repo.settings.model_store
    if not store.remote or configured is None or configured.secret_name is None:
        return None
    secret = configured.secret_name
    gaps = storage_secret_gaps(repo, model, secret)
    if not gaps:
        return None
    return (f"modelStore.secretName says the cluster reads {store.uri} with Secret {secret}, but nothing gives it to "
            f"the storage initializer of {model} in {', '.join(gaps)}: add `envSecretRefName: {secret}` to the graph "
            f"in models/{model}/deploy, or `predictiveUnit: {{defaultEnvSecretRefName: {secret}}}` to "
            "overlays/<env>/charts/values/seldon-core.yaml (docs/registry.md)")
