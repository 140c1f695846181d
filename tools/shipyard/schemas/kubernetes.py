"""Schemas of the built-in Kubernetes kinds, per Kubernetes minor version.

The schema sets are the ones kubernetes-validate ships
(``kubernetes-json-schema/v1.XX.0-local[-strict]/<kind>-<group>-<version>.json``,
each referring to the set's ``_definitions.json``). A set is loaded once per
process: the definitions go into one jsonschema-rs registry, and each
(apiVersion, kind) is compiled once, on first use. Loading a set and
compiling a kind take milliseconds, so no disk cache is needed.

The ``-strict`` sets forbid unknown fields (``additionalProperties: false``
wherever Kubernetes does), which is what ``kubectl apply`` does with strict
field validation; one pass against them finds both schema violations and
unknown fields.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from shipyard.errors import ShipyardError
from shipyard.schemas.list_key_defaults import key_defaults
from shipyard.schemas.structural import Node, from_json_schema

DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_SET_NAME = re.compile(r"v(\d+)\.(\d+)\.0-local(-strict)?\Z")


def schema_root() -> Path:
    """Where kubernetes-validate keeps its schema sets: found, not
    imported (importing it loads jsonschema and attrs, a tenth of a second
    of start-up for nothing)."""
    from importlib.util import find_spec

    spec = find_spec("kubernetes_validate")
    if spec is None or not spec.origin:
        return Path("/nonexistent/kubernetes-json-schema")
    return Path(spec.origin).resolve().parent / "kubernetes-json-schema"


@lru_cache(maxsize=1)
def shipped_versions() -> tuple[tuple[int, int], ...]:
    """(major, minor) of every strict schema set shipped, oldest first."""
    root = schema_root()
    found = set()
    if root.is_dir():
        for entry in root.iterdir():
            match = _SET_NAME.match(entry.name)
            if match and match.group(3) and (entry / "_definitions.json").is_file():
                found.add((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


@dataclass(frozen=True)
class VersionChoice:
    """Which schema set validates a cluster's Kubernetes version, and why."""

    requested: str  # "1.33.0"
    version: str  # the shipped set used, "1.33.0"
    note: str = ""  # set when a different minor had to be used


def choose_version(kube_version: str) -> VersionChoice:
    """The nearest shipped minor at or below ``kube_version``; the oldest
    shipped set (with a note) when the cluster is older than all of them."""
    major, minor = _parse_version(kube_version)
    requested = f"{major}.{minor}.0"
    shipped = shipped_versions()
    if not shipped:
        raise ShipyardError(
            "no Kubernetes schemas found: kubernetes-validate is not installed or has no schema sets",
            check="SY901",
            hint="install the toolkit's dependencies (pip install -e tools)",
        )
    at_or_below = [v for v in shipped if v <= (major, minor)]
    if at_or_below:
        chosen = at_or_below[-1]
        note = ""
        if chosen != (major, minor):
            note = (
                f"no schemas are shipped for Kubernetes {major}.{minor}; validated against"
                f" {chosen[0]}.{chosen[1]}, the newest shipped version below it"
            )
    else:
        chosen = shipped[0]
        note = (
            f"Kubernetes {major}.{minor} is older than every shipped schema set; validated against"
            f" {chosen[0]}.{chosen[1]}, the oldest shipped"
        )
    return VersionChoice(requested, f"{chosen[0]}.{chosen[1]}.0", note)


def _parse_version(text: str) -> tuple[int, int]:
    parts = text.strip().lstrip("v").split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise ShipyardError(f"not a Kubernetes version: {text!r}", check="SY900", hint="write it like 1.33")
    return int(parts[0]), int(parts[1])


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ("apps", "v1"); ``v1`` -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*\Z")


def _plain_name(text: str) -> bool:
    """Kinds and API groups are DNS-like names; anything else (globs, path
    separators) is never looked up on disk."""
    return bool(_NAME.match(text))


def _file_stem(api_version: str, kind: str) -> str:
    group, version = split_api_version(api_version)
    short = group.split(".", 1)[0]
    return f"{kind.lower()}-{short}-{version}" if short else f"{kind.lower()}-{version}"


def _declares(schema: dict[str, Any], group: str, version: str, kind: str) -> bool:
    for gvk in schema.get("x-kubernetes-group-version-kind") or ():
        if gvk.get("group", "") == group and gvk.get("version") == version and gvk.get("kind") == kind:
            return True
    return False


def _without_prose(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A schema object without its ``description`` text: 70 % of a schema
    file's bytes, read by nothing here, and copied once more into the
    compiled registry. A property *named* ``description`` is a schema (a
    mapping), never a string, so it is kept."""
    return {key: value for key, value in pairs if not (key == "description" and value.__class__ is str)}


@dataclass
class KubernetesSchemas:
    """One shipped schema set (strict), with its compiled validators."""

    version: str  # "1.33.0"
    directory: Path
    _registry: Any = field(default=None, repr=False)
    _definitions: dict[str, Any] | None = field(default=None, repr=False)
    _schemas: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict, repr=False)
    _validators: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _structural: dict[tuple[str, str], Node | None] = field(default_factory=dict, repr=False)
    _nodes: dict[str, Node] = field(default_factory=dict, repr=False)  # by definition name, shared by the kinds
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_version(cls, kube_version: str) -> "KubernetesSchemas":
        """The (cached) schema set for a cluster's version."""
        return _schemas_for(choose_version(kube_version).version)

    def definitions(self) -> dict[str, Any]:
        """The set's ``_definitions.json`` (what the kinds' $refs point into)."""
        if self._definitions is None:
            self._definitions = self._read("_definitions.json")
        return self._definitions

    def _load_registry(self) -> Any:
        if self._registry is None:
            self._registry = jsonschema_rs.Registry([(DEFINITIONS_URI, self.definitions())])
        return self._registry

    def _read(self, name: str) -> Any:
        path = self.directory / name
        try:
            return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_without_prose)
        except (OSError, ValueError) as exc:
            raise ShipyardError(f"cannot read Kubernetes schema {path}: {exc}", check="SY901",
                                hint="reinstall kubernetes-validate") from None

    def schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The raw schema of a built-in kind, or None when this Kubernetes
        version does not serve ``api_version``/``kind`` (custom resources,
        removed APIs, typos)."""
        key = (api_version, kind)
        if key not in self._schemas:
            self._schemas[key] = self._find_schema(api_version, kind)
        return self._schemas[key]

    def _find_schema(self, api_version: str, kind: str) -> dict[str, Any] | None:
        if not _plain_name(kind) or not _plain_name(api_version.replace("/", "", 1)):
            return None
        path = self.directory / f"{_file_stem(api_version, kind)}.json"
        if not path.is_file():
            return None
        schema = self._read(path.name)
        group, version = split_api_version(api_version)
        # The file name keeps only the group's first label: apps.example.com/v1
        # Deployment would find apps/v1's file. The schema says what it is for.
        if not isinstance(schema, dict) or not _declares(schema, group, version, kind):
            return None
        return schema

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A compiled strict validator for a built-in kind, or None."""
        key = (api_version, kind)
        with self._lock:
            if key in self._validators:
                return self._validators[key]
            schema = self.schema(api_version, kind)
            compiled = None
            if schema is not None:
                compiled = jsonschema_rs.validator_for(schema, registry=self._load_registry(), offline=True)
            self._validators[key] = compiled
            return compiled

    def structural(self, api_version: str, kind: str) -> Node | None:
        """The structural view of a built-in kind (its list types, with the
        defaults of list-map key fields), or None for a kind not served."""
        key = (api_version, kind)
        with self._lock:
            if key not in self._structural:
                schema = self.schema(api_version, kind)
                self._structural[key] = None if schema is None else from_json_schema(
                    schema, self.definitions().get("$defs", {}), self._nodes, key_defaults())
            return self._structural[key]

    def served_api_versions(self, kind: str) -> list[str]:
        """Every apiVersion this Kubernetes version serves ``kind`` at (for
        hints such as "policy/v1beta1 is gone, use policy/v1")."""
        if not _plain_name(kind):
            return []
        prefix = f"{kind.lower()}-"
        out: list[str] = []
        for path in sorted(self.directory.glob(f"{prefix}*.json")):
            try:
                schema = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                if gvk.get("kind") == kind:
                    group = gvk.get("group", "")
                    api = f"{group}/{gvk['version']}" if group else gvk["version"]
                    if api not in out:
                        out.append(api)
        return out

    def similar_kinds(self, api_version: str, kind: str) -> list[str]:
        """Kinds served at ``api_version`` whose names are close to ``kind``."""
        import difflib

        if not _plain_name(api_version.replace("/", "", 1)):
            return []
        stem = _file_stem(api_version, "x")[1:]  # "-apps-v1" / "-v1"
        candidates = {
            p.name[: -len(stem) - 5]: p
            for p in self.directory.glob(f"*{stem}.json")
            if kind.endswith("List") or not p.name[: -len(stem) - 5].endswith("list")
        }
        out = []
        for lower in difflib.get_close_matches(kind.lower(), list(candidates), n=3, cutoff=0.7):
            schema = self.schema(api_version, _kind_in(candidates[lower]) or "")
            if schema is not None:
                for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                    if gvk.get("kind", "").lower() == lower:
                        out.append(gvk["kind"])
                        break
        return out

    def is_builtin_group(self, group: str) -> bool:
        """True for API groups Kubernetes itself defines (core, apps, ...):
        an unknown kind there is a typo or a removed API, not a missing CRD."""
        return group in _builtin_groups(str(self.directory))


def _kind_in(path: Path) -> str | None:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for gvk in schema.get("x-kubernetes-group-version-kind") or ():
        return str(gvk.get("kind"))
    return None


@lru_cache(maxsize=None)
def _builtin_groups(directory: str) -> frozenset[str]:
    groups = {""}
    path = Path(directory) / "_definitions.json"
    try:
        definitions = json.loads(path.read_text(encoding="utf-8")).get("$defs", {})
    except (OSError, ValueError):
        return frozenset(groups)
    for schema in definitions.values():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            groups.add(gvk.get("group", ""))
    return frozenset(groups)


@lru_cache(maxsize=None)
def _schemas_for(version: str) -> KubernetesSchemas:
    directory = schema_root() / f"v{version}-local-strict"
    return KubernetesSchemas(version=version, directory=directory)
