"""SY320-SY322: credentials outside Secrets.

SY305 catches plaintext Secrets. Credentials also leak where nobody looks
for them: a password in a chart's values (which Flux carries in a ConfigMap
and Argo CD in the Application), an access key or a signed token inside a
model URI, a `token:` entry in a ConfigMap. All of these are in git, in
plain text, readable by everyone who can clone.

Values are matched by shape (the well-known formats of cloud keys, tokens
and private keys) and by key name (password, token, secret key ...) when
the value is a literal; references (secretKeyRef, ${VAR}, existingSecret,
...Name, ...File, ...Path) are not credentials.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from shipyard.shapes import plain_name
from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import as_dict, dig, source_kind
from shipyard.credentials import text_credential, uri_credential
from shipyard.findings import Finding
from shipyard.objects import JsonPath, K8sObject

SECRET_KEY = re.compile(
    r"(?i)(^|[_.-])(password|passwd|pwd|secret|secret[_-]?key|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|credentials?)$|(password|secretkey|apikey|accesskey|clientsecret|authtoken)$"
)
CREDENTIAL_HINT = re.compile(r"(?i)pass|secret|token|key|credential|pwd")
REFERENCE_KEY = re.compile(r"(?i)(ref|name|file|path|secretname|existingsecret|keyref|enabled|length|ttl|mount|type)$")
REFERENCE_VALUE = re.compile(r"^(\$\{[^}]+\}|\$\([^)]+\)|<[^>]+>|\{\{.*\}\}|ENC\[.*\])$")


def _walk(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))
    else:
        yield path, value


credential_in_text = text_credential
"""What kind of credential a value holds by its shape (shipyard.credentials)."""

credential_in_uri = uri_credential
"""The credential a URI carries: SY321's rule, which lives in
shipyard.credentials so the commands that write URIs apply the same one."""


def credential_by_key(key: Any, value: Any) -> bool:
    """A literal value under a key that names a credential."""
    if not isinstance(key, str) or not isinstance(value, (str, int)) or isinstance(value, bool):
        return False
    text = str(value).strip()
    if not text or REFERENCE_VALUE.match(text) or REFERENCE_KEY.search(key):
        return False
    return bool(SECRET_KEY.search(key))


def credentials_in(values: Any) -> Iterator[tuple[JsonPath, str]]:
    """(path, what) for every credential in a values tree: by shape, or a
    literal under a key that names a credential."""
    for path, value in _walk(values):
        if isinstance(value, str) and (what := credential_in_text(value)):
            yield path, what
        elif path and credential_by_key(path[-1], value):
            yield path, "a literal credential"


def _dotted(path: JsonPath) -> str:
    return ".".join(map(str, path))


def _values_findings(obj: K8sObject, values: Any, base: JsonPath, where: str) -> Iterator[Finding]:
    for path, what in credentials_in(values):
        yield Finding.on(obj, "SY320", f"{where} {_dotted(path)} holds {what}", path=base + path,
                         hint="reference a Secret instead (valuesFrom a Secret, existingSecret, secretKeyRef)")


@check("SY320")
def credentials_in_values(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in ctx.objects():
        if source_kind(obj) == "chart":
            continue
        if obj.kind == "HelmRelease" and obj.group == "helm.toolkit.fluxcd.io":
            yield from _values_findings(obj, dig(obj.body, "spec", "values"), ("spec", "values"), "HelmRelease values")
        elif obj.kind == "Application" and obj.group == "argoproj.io":
            spec = as_dict(obj.body.get("spec"))
            sources_value = spec.get("sources")
            sources = sources_value if isinstance(sources_value, list) else [spec.get("source")]
            for index, source in enumerate(sources):
                base: JsonPath = ("spec", "sources", index) if "sources" in spec else ("spec", "source")
                helm = as_dict(as_dict(source).get("helm"))
                yield from _values_findings(obj, helm.get("valuesObject"), base + ("helm", "valuesObject"), "Application values")
                if isinstance(helm.get("values"), str) and (what := credential_in_text(helm["values"])):
                    yield Finding.on(obj, "SY320", f"Application helm.values holds {what}", path=base + ("helm", "values"),
                                     hint="move it to an encrypted Secret and reference it")
                for file_index, value_file in enumerate(helm.get("valueFiles") or []):
                    path = base + ("helm", "valueFiles", file_index)
                    for key_path, what in _values_file_credentials(ctx, value_file):
                        yield Finding.on(obj, "SY320", f"values file {value_file} {key_path} holds {what}", path=path,
                                         hint="move it to an encrypted Secret and reference it from the chart values")


@check("SY321")
def credentials_in_uris(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in ctx.objects():
        if source_kind(obj) == "chart":
            continue
        for path, value in _uri_fields(obj):
            if isinstance(value, str) and (why := credential_in_uri(value)):
                yield Finding.on(obj, "SY321", f"{'.'.join(map(str, path))} carries {why}", path=path,
                                 hint="remove the credential from the URI; grant access through a Secret instead")
    if ctx.repo is None:
        return
    from shipyard.errors import ShipyardError
    from shipyard.load import load_file

    for model in ctx.repo.models():
        rel = f"models/{model}/model.yaml"
        try:
            objects = load_file(ctx.repo.root / rel, rel).objects
        except ShipyardError:
            continue  # reported by the model checks
        for obj in objects:
            for index, version in enumerate(dig(obj.body, "spec", "versions") or []):
                uri = as_dict(version).get("modelUri")
                if isinstance(uri, str) and (why := credential_in_uri(uri)):
                    yield Finding.on(obj, "SY321", f"version {plain_name(as_dict(version).get('version'))} modelUri carries {why}",
                                     path=("spec", "versions", index, "modelUri"),
                                     hint="register the version with a URI without credentials")


def _yaml_mapping(text: str) -> dict[str, Any] | None:
    """The first document of ``text`` when it is a mapping, read through the
    bounded loader (a ConfigMap's text is anyone's input)."""
    from shipyard.errors import ShipyardError
    from shipyard.load import load_documents

    try:
        docs = load_documents(text, "ConfigMap data")
    except ShipyardError:
        return None
    return docs[0][0] if docs and isinstance(docs[0][0], dict) else None


def _values_file_credentials(ctx: CheckContext, value_file: Any) -> Iterator[tuple[str, str]]:
    """Credentials in a values file an Application reads from this repository
    (``$values/<path>``): Argo CD passes it to helm as it is."""
    if ctx.repo is None or not isinstance(value_file, str) or not value_file.startswith("$") or "/" not in value_file:
        return
    file = (ctx.repo.root / value_file.split("/", 1)[1]).resolve()
    if not file.is_relative_to(ctx.repo.root) or not file.is_file():
        return
    try:
        values = _yaml_mapping(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return
    if values:
        for path, what in credentials_in(values):
            yield _dotted(path), what


def _uri_fields(obj: K8sObject) -> Iterator[tuple[JsonPath, Any]]:
    if obj.kind == "SeldonDeployment":
        for path, value in _walk(obj.body.get("spec")):
            if path and path[-1] in ("modelUri", "storageUri"):
                yield ("spec",) + path, value
    elif obj.kind in ("GitRepository", "HelmRepository", "OCIRepository", "Bucket"):
        yield ("spec", "url"), dig(obj.body, "spec", "url")
    elif obj.kind == "Application" and obj.group == "argoproj.io":
        spec = as_dict(obj.body.get("spec"))
        if isinstance(spec.get("sources"), list):
            for index, source in enumerate(spec["sources"]):
                yield ("spec", "sources", index, "repoURL"), as_dict(source).get("repoURL")
        else:
            yield ("spec", "source", "repoURL"), dig(obj.body, "spec", "source", "repoURL")


@check("SY322")
def credentials_in_configmaps(ctx: CheckContext) -> Iterable[Finding]:
    seen: set[int] = set()  # one rendered body is shared by every target that deploys it
    for _target, obj in ctx.objects():
        if obj.kind != "ConfigMap" or obj.api_version != "v1" or source_kind(obj) == "chart" or id(obj.body) in seen:
            continue
        seen.add(id(obj.body))
        what: str | None
        for key, value in as_dict(obj.body.get("data")).items():
            if not isinstance(value, str):
                continue
            # Parse embedded values files only when a credential could be in
            # them: most ConfigMaps (dashboards, scripts) never name one.
            nested = _yaml_mapping(value) if "\n" in value.strip() and CREDENTIAL_HINT.search(value) else None
            if nested:
                # a values file carried in a ConfigMap (Flux valuesFrom)
                for path, what in credentials_in(nested):
                    key_path = _dotted(path)
                    yield Finding.on(obj, "SY322", f"data.{key} ({key_path}) holds {what}", path=("data", key),
                                     hint="move it to an encrypted Secret (valuesFrom a Secret for chart values)")
            elif what := credential_in_text(value):
                yield Finding.on(obj, "SY322", f"data.{key} holds {what}", path=("data", key),
                                 hint="move it to an encrypted Secret")
            elif credential_by_key(key, value) and "\n" not in value.strip():
                yield Finding.on(obj, "SY322", f"data.{key} is a literal credential", path=("data", key),
                                 hint="move it to an encrypted Secret")
