"""CustomResourceDefinitions -> JSON Schema, as the API server applies them.

A CRD's ``openAPIV3Schema`` is not plain JSON Schema. The API server reads
it as a *structural* schema:

- ``nullable: true`` admits null; a null in a field that is not nullable is
  pruned before validation, so it is never an error in a field;
- ``x-kubernetes-int-or-string`` admits an integer or a string;
- ``x-kubernetes-preserve-unknown-fields`` keeps fields the schema does not
  name (anywhere else they are pruned, which strict field validation turns
  into an "unknown field" error);
- ``x-kubernetes-embedded-resource`` is an object with apiVersion, kind and
  metadata of its own;
- ``metadata`` at the root is always an ObjectMeta; a CRD may only add
  restrictions to its name;
- ``allOf``/``anyOf``/``oneOf``/``not`` only add value checks: they never
  declare fields;
- ``exclusiveMinimum: true`` is OpenAPI's boolean form.

``to_json_schema`` writes all of that out as draft 2020-12 JSON Schema for
jsonschema-rs. With ``strict``, unknown fields are errors wherever the
schema declares properties and does not preserve unknown fields. Formats
are not evaluated. What the API server does around that validation (nulls
pruned and defaults applied first; embedded resources, list-type sets and
maps and the CEL rules after) works on the structural schema,
``shipyard.schemas.structural`` and ``shipyard.schemas.cel``; ``CrdIndex``
caches that per schema too.

``CrdIndex`` collects the CRDs a run can see: those rendered by the run
itself (the charts and kustomizations the repository installs) first, then
the pinned schemas shipped in ``shipyard/data/crd-schemas``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable

import jsonschema_rs

from shipyard.objects import K8sObject
from shipyard.schemas.kubernetes import split_api_version
from shipyard.schemas.structural import Node, from_crd

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
CRD_GROUP = "apiextensions.k8s.io"
PINNED_FOLDER = "crd-schemas"

_TYPE_ONLY_ALTERNATIVES = ({"type": "integer"}, {"type": "string"})

# Keywords copied as they are (value checks that mean the same in JSON Schema).
_PLAIN_KEYWORDS = (
    "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "multipleOf",
    "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "required",
)
_JUNCTORS = ("allOf", "anyOf", "oneOf")


def _nullable_type(kind: Any) -> Any:
    if isinstance(kind, list):
        return kind if "null" in kind else [*kind, "null"]
    return [kind, "null"]


def object_meta_schema(strict: bool) -> dict[str, Any]:
    """ObjectMeta, loosely: the fields a manifest may set, with their types;
    anything else is an unknown field when ``strict``."""
    text = {"type": ["string", "null"]}
    string_map = {"type": ["object", "null"], "additionalProperties": {"type": ["string", "null"]}}
    schema: dict[str, Any] = {
        "type": ["object", "null"],
        "properties": {
            "name": text,
            "generateName": text,
            "namespace": text,
            "uid": text,
            "resourceVersion": text,
            "selfLink": text,
            "creationTimestamp": text,
            "deletionTimestamp": text,
            "generation": {"type": ["integer", "null"]},
            "deletionGracePeriodSeconds": {"type": ["integer", "null"]},
            "labels": string_map,
            "annotations": string_map,
            "finalizers": {"type": ["array", "null"], "items": {"type": "string"}},
            "ownerReferences": {"type": ["array", "null"], "items": {"type": "object"}},
            "managedFields": {"type": ["array", "null"], "items": {"type": "object"}},
        },
    }
    if strict:
        schema["additionalProperties"] = False
    return schema


def to_json_schema(openapi: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """The JSON Schema the API server effectively applies to a custom
    resource whose CRD version declares ``openapi`` as openAPIV3Schema."""
    root = _convert(openapi, strict=strict, in_junctor=False)
    properties = root.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    meta = object_meta_schema(strict)
    declared = (openapi.get("properties") or {}).get("metadata")
    if isinstance(declared, dict) and declared.get("properties"):
        # CRDs may restrict metadata.name / generateName: keep those checks.
        restriction = _convert(declared, strict=False, in_junctor=True)
        restriction.pop("type", None)
        meta = {**meta, "allOf": [restriction]}
    properties["metadata"] = meta
    if "type" not in root:
        root["type"] = "object"
    root["$schema"] = SCHEMA_DIALECT
    return root


def _convert(node: Any, *, strict: bool, in_junctor: bool) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if node.get("x-kubernetes-int-or-string") is True:
        out["type"] = ["integer", "string"]
    elif "type" in node:
        out["type"] = node["type"]
    if node.get("nullable") is True and "type" in out:
        out["type"] = _nullable_type(out["type"])
        if "enum" in node and None not in node["enum"]:
            out["enum"] = [*node["enum"], None]
    for keyword in _PLAIN_KEYWORDS:
        if keyword in node and keyword not in out:
            out[keyword] = node[keyword]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if value is True and limit in node:
            out[bound] = out.pop(limit)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[bound] = value

    properties = node.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: _field(child, strict=strict, in_junctor=in_junctor) for name, child in properties.items()
        }
    if node.get("x-kubernetes-embedded-resource") is True:
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": ["string", "null"]})
        props.setdefault("kind", {"type": ["string", "null"]})
        props["metadata"] = object_meta_schema(strict)  # an ObjectMeta even where unknown fields are kept
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = _field(additional, strict=strict, in_junctor=in_junctor)
    elif isinstance(additional, bool):
        out["additionalProperties"] = additional
    elif strict and not in_junctor and not preserve and "properties" in out:
        out["additionalProperties"] = False
    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _convert(items, strict=strict, in_junctor=in_junctor)
    for junctor in _JUNCTORS:
        branches = node.get(junctor)
        if not isinstance(branches, list):
            continue
        if junctor == "anyOf" and node.get("x-kubernetes-int-or-string") is True and _only_types(branches):
            continue  # controller-gen's spelling of int-or-string, already in "type"
        out[junctor] = [_convert(branch, strict=strict, in_junctor=True) for branch in branches]
    if isinstance(node.get("not"), dict):
        out["not"] = _convert(node["not"], strict=strict, in_junctor=True)
    return out


def _field(node: Any, *, strict: bool, in_junctor: bool) -> dict[str, Any]:
    """A property's schema: a null there is pruned by the API server, so it
    always validates."""
    out = _convert(node, strict=strict, in_junctor=in_junctor)
    if in_junctor:
        return out
    if "type" in out:
        out["type"] = _nullable_type(out["type"])
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _only_types(branches: list[Any]) -> bool:
    return all(isinstance(b, dict) and set(b) == {"type"} for b in branches) and {
        b["type"] for b in branches
    } <= {"integer", "string"}


def strip_descriptions(schema: Any) -> Any:
    """A schema without its ``description`` / ``example`` prose (most of a
    CRD's bytes): what the pinned cache stores. Property *names* are kept,
    even a property called ``description``."""
    if isinstance(schema, list):
        return [strip_descriptions(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _PROSE:
            continue
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {name: strip_descriptions(child) for name, child in value.items()}
        elif key in ("enum", "default", "const"):
            out[key] = value
        else:
            out[key] = strip_descriptions(value)
    return out


_PROSE = frozenset({"description", "example", "externalDocs", "title"})


# --------------------------------------------------------------------------
# The CRDs a run can see.


@dataclass(frozen=True)
class CrdVersion:
    """One version of one CRD."""

    group: str
    kind: str
    plural: str
    version: str
    served: bool
    schema: dict[str, Any] | None  # openAPIV3Schema as written (None: the CRD declares none)
    source: str  # where the CRD came from: a file, a chart template, or "pinned:<file>"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def versions_of_crd(body: dict[str, Any], source: str) -> list[CrdVersion]:
    """Every version a CustomResourceDefinition body declares
    (apiextensions.k8s.io/v1, or v1beta1 with its top-level schema)."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return []
    names_value = spec.get("names")
    names: dict[str, Any] = names_value if isinstance(names_value, dict) else {}
    group, kind = spec.get("group"), names.get("kind")
    if not isinstance(group, str) or not isinstance(kind, str) or not group or not kind:
        return []
    plural_value = names.get("plural")
    plural = plural_value if isinstance(plural_value, str) else guess_plural(kind)
    shared = (spec.get("validation") or {}).get("openAPIV3Schema") if isinstance(spec.get("validation"), dict) else None
    out: list[CrdVersion] = []
    versions = spec.get("versions")
    if isinstance(versions, list) and versions:
        for entry in versions:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            schema = (entry.get("schema") or {}).get("openAPIV3Schema") if isinstance(entry.get("schema"), dict) else None
            schema = schema if isinstance(schema, dict) else shared
            out.append(CrdVersion(group, kind, plural, entry["name"], entry.get("served", True) is not False,
                                  schema if isinstance(schema, dict) else None, source))
    elif isinstance(spec.get("version"), str):
        out.append(CrdVersion(group, kind, plural, spec["version"], True,
                              shared if isinstance(shared, dict) else None, source))
    return out


def guess_plural(kind: str) -> str:
    """The resource name Kubernetes conventions give ``kind`` (for hints)."""
    lower = kind.lower()
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def is_crd(obj: K8sObject) -> bool:
    return obj.kind == "CustomResourceDefinition" and obj.group == CRD_GROUP


@dataclass
class CrdIndex:
    """CRD versions by (group, version, kind): the run's own CRDs first,
    the pinned cache after them; compiled validators cached."""

    _run: dict[tuple[str, str, str], CrdVersion] = field(default_factory=dict)
    _validators: dict[tuple[str, bool], tuple[Any, dict[str, Any]]] = field(default_factory=dict, repr=False)
    _fingerprints: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    use_pinned: bool = True

    @classmethod
    def from_objects(cls, objects: Iterable[K8sObject], *, use_pinned: bool = True) -> "CrdIndex":
        index = cls(use_pinned=use_pinned)
        index.add_objects(objects)
        return index

    def add_objects(self, objects: Iterable[K8sObject]) -> None:
        for obj in objects:
            if is_crd(obj):
                self.add(versions_of_crd(obj.body, str(obj.source)))

    def add(self, versions: Iterable[CrdVersion]) -> None:
        for version in versions:
            self._run.setdefault((version.group, version.version, version.kind), version)

    def get(self, api_version: str, kind: str) -> CrdVersion | None:
        """The CRD version that defines ``api_version``/``kind``, served or not."""
        group, version = split_api_version(api_version)
        found = self._run.get((group, version, kind))
        if found is None and self.use_pinned:
            found = pinned().get((group, version, kind))
        # Hook: a strict schema built from the upstream Go types wins (shipyard.schemas.strict).
        from shipyard.schemas.strict import override

        return override(group, version, kind, found, use_pinned=self.use_pinned)

    def versions_of(self, group: str, kind: str) -> list[CrdVersion]:
        """Every known version of group/kind (run CRDs shadow pinned ones)."""
        own = [v for (g, _, k), v in self._run.items() if g == group and k == kind]
        if own or not self.use_pinned:
            return own
        return [v for (g, _, k), v in pinned().items() if g == group and k == kind]

    def groups_of_kind(self, kind: str) -> list[str]:
        """API groups some known CRD defines ``kind`` in (for "did you mean")."""
        groups = {g for (g, _, k) in self._run if k == kind}
        if self.use_pinned:
            groups |= {g for (g, _, k) in pinned() if k == kind}
        return sorted(groups)

    def compiled(self, crd: CrdVersion, *, strict: bool = True) -> tuple[Any, dict[str, Any]]:
        """(validator, JSON Schema) for a CRD version; the validator is None
        when the CRD declares no schema. Compiled once per distinct schema."""
        if crd.schema is None:
            return None, {}
        key = (self._fingerprint(crd.schema), strict)
        with self._lock:
            if key not in self._validators:
                document = to_json_schema(crd.schema, strict=strict)
                self._validators[key] = (compile_schema(document), document)
            return self._validators[key]


    def structural(self, crd: CrdVersion) -> Node | None:
        """The structural schema of a CRD version (None when it declares
        none). Built once per distinct schema for the whole process, since
        it depends on nothing else: its CEL rules are compiled on it, once,
        the first time an object needs them, however many runs follow."""
        if crd.schema is None:
            return None
        key = self._fingerprint(crd.schema)
        with _STRUCTURAL_LOCK:
            node = _STRUCTURAL.get(key)
            if node is None:
                if len(_STRUCTURAL) >= _STRUCTURAL_LIMIT:
                    _STRUCTURAL.pop(next(iter(_STRUCTURAL)))
                node = _STRUCTURAL[key] = from_crd(crd.schema)
            return node

    def _fingerprint(self, schema: dict[str, Any]) -> str:
        """The schema's fingerprint, computed once per schema object (a
        large CRD's takes milliseconds to serialise)."""
        found = self._fingerprints.get(id(schema))
        if found is None or found[0] is not schema:
            found = self._fingerprints[id(schema)] = (schema, _fingerprint(schema))
        return found[1]


# Structural schemas by fingerprint, shared by every CrdIndex of the process.
_STRUCTURAL: dict[str, Node] = {}
_STRUCTURAL_LOCK = threading.Lock()
_STRUCTURAL_LIMIT = 512


def _fingerprint(schema: dict[str, Any]) -> str:
    import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
    return hashlib.sha256(json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compile_schema(schema: dict[str, Any]) -> Any:
    """jsonschema-rs validator for a converted CRD schema. A pattern the
    Rust regex engine cannot compile (CRDs are written for Go's RE2) is
    dropped rather than failing the whole schema."""
    try:
        return jsonschema_rs.validator_for(schema, offline=True)
    except (jsonschema_rs.ValidationError, ValueError):
        return jsonschema_rs.validator_for(_without_bad_patterns(schema), offline=True)


def _without_bad_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                try:
                    jsonschema_rs.validator_for({"pattern": value})
                except (jsonschema_rs.ValidationError, ValueError):
                    continue
                out[key] = value
            elif key in ("enum", "const"):
                out[key] = value
            else:
                out[key] = _without_bad_patterns(value)
        return out
    if isinstance(node, list):
        return [_without_bad_patterns(item) for item in node]
    return node


# --------------------------------------------------------------------------
# The pinned cache (see shipyard.schemas.cache for how it is made).

_PINNED: dict[tuple[str, str, str], CrdVersion] | None = None
_PINNED_LOCK = threading.Lock()


def pinned() -> dict[tuple[str, str, str], CrdVersion]:
    """Every CRD version in the pinned cache, read once per process."""
    global _PINNED
    with _PINNED_LOCK:
        if _PINNED is None:
            _PINNED = _read_pinned()
        return _PINNED


def _read_pinned() -> dict[tuple[str, str, str], CrdVersion]:
    return read_crd_folder(PINNED_FOLDER, "pinned")


def read_crd_folder(folder_name: str, label: str) -> dict[tuple[str, str, str], CrdVersion]:
    """The CRD versions of a packaged folder of ``{"crd": <CRD>}`` JSON files
    (shipyard/data/<folder_name>), by (group, version, kind); the first file
    in name order wins. Files without a CRD (provenance, generator inputs)
    and names starting with "_" are skipped. Sources read ``<label>:<folder>/<file>``."""
    out: dict[tuple[str, str, str], CrdVersion] = {}
    folder = resources.files("shipyard").joinpath("data", folder_name)
    if not folder.is_dir():
        return out
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json") or entry.name.startswith("_"):
            continue
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        body = data.get("crd") if isinstance(data, dict) else None
        if isinstance(body, dict):
            for version in versions_of_crd(body, f"{label}:{folder_name}/{entry.name}"):
                out.setdefault((version.group, version.version, version.kind), version)
    return out
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json") or entry.name.startswith("_"):
            continue
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        body = data.get("crd") if isinstance(data, dict) else None
        if isinstance(body, dict):
            for version in versions_of_crd(body, f"pinned:{PINNED_FOLDER}/{entry.name}"):
                out.setdefault((version.group, version.version, version.kind), version)
    return out
