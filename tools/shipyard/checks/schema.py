"""SY1xx: every object against the schema the API server would apply.

Built-in kinds are validated against the Kubernetes schemas of the target's
Kubernetes version; custom resources against their CRD's schema, taken from
the CRDs the run itself renders, or else from the pinned cache. Validation is
strict: a field the schema does not know is an error (SY102), as with
``kubectl apply --validate=strict``, instead of being silently dropped.

``validate_objects`` is the whole family as one function, for code that has
objects but no validate run; the registered checks share one pass over a
run (cached in ``CheckContext.cache``).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Final, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.findings import Finding
from shipyard.load import format_path
from shipyard.objects import JsonPath, K8sObject
from shipyard.schemas.crds import CrdIndex, CrdVersion, guess_plural, is_crd
from shipyard.schemas.kubernetes import DEFINITIONS_URI, KubernetesSchemas, choose_version, split_api_version

SCHEMA_VIOLATION: Final = "SY101"
UNKNOWN_FIELD: Final = "SY102"
NOT_AN_OBJECT: Final = "SY104"
UNKNOWN_KIND: Final = "SY105"
SCHEMA_VERSION: Final = "SY106"

_CRD_INDEX_KEY = "schema.crd_index"
_FINDINGS_KEY = "schema.findings"



# --------------------------------------------------------------------------
# Schemas for one (apiVersion, kind).


@dataclass
class _Schema:
    """A compiled validator and what is needed to explain its errors."""

    validator: Any
    document: dict[str, Any]  # the root schema the validator was compiled from
    definitions: dict[str, Any] | None  # Kubernetes' _definitions.json, for $refs into it
    origin: str  # "per Kubernetes 1.33" or "per CRD <name> from <source>"


@dataclass
class _Unknown:
    message: str
    hint: str


class _Resolver:
    """(apiVersion, kind) -> schema, memoised for one Kubernetes version."""

    def __init__(self, kube_version: str, crds: CrdIndex, strict: bool) -> None:
        self.kube_version = kube_version
        self.choice = choose_version(kube_version)
        self.kube = KubernetesSchemas.for_version(self.choice.version)
        self.crds = crds
        self.strict = strict
        self.memo: dict[tuple[str, str], _Schema | _Unknown] = {}

    def get(self, api_version: str, kind: str) -> _Schema | _Unknown:
        key = (api_version, kind)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self._lookup(api_version, kind)
        return found

    def _lookup(self, api_version: str, kind: str) -> _Schema | _Unknown:
        validator = self.kube.validator(api_version, kind)
        if validator is not None:
            document = self.kube.schema(api_version, kind) or {}
            return _Schema(validator, document, self.kube.definitions(), f"per Kubernetes {self.choice.version[:-2]}")
        crd = self.crds.get(api_version, kind)
        if crd is not None and crd.served:
            validator, document = self.crds.compiled(crd, strict=self.strict)
            return _Schema(validator, document, None, f"per CRD {crd.crd_name} from {crd.source}")
        return self._unknown(api_version, kind, crd)

    def _unknown(self, api_version: str, kind: str, crd: CrdVersion | None) -> _Unknown:
        group, version = split_api_version(api_version)
        kube = self.choice.version[:-2]
        if crd is not None:  # defined, not served
            return _Unknown(
                f"CRD {crd.crd_name} ({crd.source}) does not serve version {version} (served: false)",
                f"use a served version: {', '.join(v.api_version for v in self.crds.versions_of(group, kind) if v.served)}",
            )
        if self.kube.is_builtin_group(group):
            served = self.kube.served_api_versions(kind)
            if served:
                return _Unknown(
                    f"Kubernetes {kube} does not serve {kind} at {api_version}; it serves {kind} as {', '.join(served)}",
                    f"change apiVersion to {served[-1]}",
                )
            close = self.kube.similar_kinds(api_version, kind)
            guess = f"; did you mean {close[0]}?" if close else ""
            return _Unknown(
                f"Kubernetes {kube} has no kind {kind} in {api_version}{guess}",
                "fix the kind (kinds are case-sensitive), or the apiVersion",
            )
        versions = self.crds.versions_of(group, kind)
        if versions:
            names = sorted({v.crd_name for v in versions})
            served = [v.api_version for v in versions if v.served]
            return _Unknown(
                f"CRD {names[0]} ({versions[0].source}) defines {kind} but not version {version};"
                f" it serves {', '.join(served) or 'no version'}",
                f"change apiVersion to one of: {', '.join(served)}" if served else "serve a version in the CRD",
            )
        groups = self.crds.groups_of_kind(kind)
        if groups:
            return _Unknown(
                f"no CRD defines {kind} in group {group}; {kind} is defined in {', '.join(groups)}",
                f"did you mean apiVersion {groups[0]}/{version}?",
            )
        return _Unknown(
            f"no schema for {api_version} {kind}: it is not a Kubernetes {kube} kind, and no"
            f" CustomResourceDefinition for it is rendered in this run or pinned; it would be"
            f" CRD {guess_plural(kind)}.{group or 'core'}",
            "render the chart or kustomization that installs that CRD in the same run, or pin its schema"
            " (shipyard schemas update --from DIR)",
        )


# --------------------------------------------------------------------------
# Errors -> findings.


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _types(types: Iterable[str]) -> str:
    wanted = [t for t in types if t != "null"]
    return " or ".join(wanted) or "null"


def _got(instance: Any) -> str:
    """``string "3"``, ``integer 7``, ``null``: the type and the value."""
    if instance is None:
        return "null"
    return f"{_json_type(instance)} {_short(instance)}"


_MISSING = object()


def _value_at(body: Any, path: JsonPath) -> Any:
    node = body
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def _problem(error: Any, instance: Any = _MISSING) -> str:
    """What is wrong, in a sentence, without dumping the whole instance.
    ``instance`` is the value as loaded (jsonschema-rs reports NaN as null)."""
    kind = error.kind
    name = kind.name
    if instance is _MISSING:
        instance = error.instance
    if name == "type":
        return f"must be {_types(kind.types)}, not {_got(instance)}"
    if name == "enum":
        options = ", ".join(_short(o, 30) for o in kind.options if o is not None)
        return f"{_short(instance)} is not one of: {options}"
    if name in ("oneOf", "anyOf"):
        branches = kind.context
        types: list[str] = []
        for branch in branches:
            if len(branch) == 1 and branch[0].kind.name == "type" and not branch[0].instance_path[len(error.instance_path):]:
                types.extend(t for t in branch[0].kind.types if t not in types)
            else:
                types = []
                break
        if types:
            return f"must be {_types(types)}, not {_got(instance)}"
        first = next((b[0] for b in branches if b), None)
        detail = f" (first: {_problem(first)})" if first is not None else ""
        return f"matches none of the {len(branches)} allowed forms{detail}"
    if name == "pattern":
        return f"{_short(instance)} does not match the pattern {kind.pattern}"
    message = error.message
    text = json.dumps(instance, ensure_ascii=False, default=str)
    if len(text) > 60 and text in message:
        message = message.replace(text, _short(instance))
    return message if len(message) <= 300 else message[:297] + "..."


def _node_at(document: Any, pointer: Iterable[str | int]) -> Any:
    node = document
    for part in pointer:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _known_properties(schema: _Schema, error: Any) -> list[str]:
    """Names the schema object that rejected an unknown field does allow."""
    location = error.absolute_keyword_location or ""
    if schema.definitions is not None and location.startswith(DEFINITIONS_URI + "#/"):
        parts = location.split("#/", 1)[1].split("/")[:-1]
        node = _node_at(schema.definitions, [p.replace("~1", "/").replace("~0", "~") for p in parts])
    else:
        node = _node_at(schema.document, list(error.schema_path)[:-1])
    properties = node.get("properties") if isinstance(node, dict) else None
    return sorted(properties) if isinstance(properties, dict) else []


def _explain(kind: str, path: JsonPath) -> str:
    fields = ".".join(p for p in path if isinstance(p, str))
    return f"kubectl explain {kind.lower()}{'.' + fields if fields else ''}"


def _findings_for(obj: K8sObject, schema: _Schema, strict: bool, body: dict[str, Any] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for error in schema.validator.iter_errors(obj.body if body is None else body):
        path: JsonPath = tuple(error.instance_path)
        if error.kind.name == "additionalProperties":
            if not strict:
                continue
            allowed = _known_properties(schema, error)
            for name in error.kind.unexpected:
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                guess = f"; did you mean {close[0]}?" if close else ""
                field_path = path + (name,)
                findings.append(
                    Finding.on(
                        obj, UNKNOWN_FIELD, f"unknown field {format_path(field_path)}{guess} ({schema.origin})",
                        path=field_path,
                        hint=f"fix or remove it: the API server rejects unknown fields with strict validation, or drops them"
                        f" silently ({_explain(obj.kind, path)} lists the known ones)",
                    )
                )
            continue
        if error.kind.name == "required":
            missing = path + (error.kind.property,)
            findings.append(
                Finding.on(
                    obj, SCHEMA_VIOLATION, f"{format_path(missing)} is required ({schema.origin})",
                    path=path, hint=f"add it ({_explain(obj.kind, missing)})",
                )
            )
            continue
        findings.append(
            Finding.on(
                obj, SCHEMA_VIOLATION, f"{format_path(path)}: {_problem(error, _value_at(obj.body, path))} ({schema.origin})",
                path=path, hint=f"fix the value ({_explain(obj.kind, path)})",
            )
        )
    return findings


# --------------------------------------------------------------------------
# The family as one function.


def _identity_problem(obj: K8sObject) -> Finding | None:
    body = obj.body
    missing = [k for k in ("apiVersion", "kind") if not isinstance(body.get(k), str) or not body.get(k)]
    if missing:
        return Finding.on(
            obj, NOT_AN_OBJECT, f"document has no {' and no '.join(missing)}: it is not a Kubernetes object",
            hint="add apiVersion and kind",
        )
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return Finding.on(obj, NOT_AN_OBJECT, "object has no metadata", hint="add metadata.name")
    if not metadata.get("name") and not metadata.get("generateName"):
        return Finding.on(obj, NOT_AN_OBJECT, "object has no metadata.name", path=("metadata",), hint="add metadata.name")
    return None


def validate_objects(
    objects: Iterable[K8sObject],
    kube_version: str,
    crd_objects: Iterable[K8sObject] = (),
    *,
    strict: bool = True,
    crds: CrdIndex | None = None,
) -> list[Finding]:
    """SY101, SY102, SY104 and SY105 findings for ``objects`` on a cluster
    running ``kube_version``. Custom resources are checked against the CRDs
    in ``crd_objects`` (and ``objects`` themselves), then the pinned cache;
    pass ``crds`` to share one index (and its compiled validators)."""
    objects = list(objects)
    if crds is None:
        crds = CrdIndex.from_objects([*crd_objects, *(o for o in objects if is_crd(o))])
    return _validate(objects, _Resolver(kube_version, crds, strict), strict)


def _validate(objects: list[K8sObject], resolver: _Resolver, strict: bool) -> list[Finding]:
    findings: list[Finding] = []
    get = resolver.get
    for obj in objects:
        body = obj.body
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version.__class__ is not str or kind.__class__ is not str or not api_version or not kind:
            problem = _identity_problem(obj)
            if problem is not None:
                findings.append(problem)
            continue
        metadata = body.get("metadata")
        if metadata.__class__ is not dict or not (metadata.get("name") or metadata.get("generateName")):
            problem = _identity_problem(obj)
            if problem is not None:
                findings.append(problem)
        schema = get(api_version, kind)
        if schema.__class__ is _Unknown:
            # A built-in apiVersion the cluster no longer serves is SY314's
            # finding (with its replacement); one mistake, one finding.
            if not _removed_builtin(api_version, kind, resolver.kube_version):
                findings.append(Finding.on(obj, UNKNOWN_KIND, schema.message, hint=schema.hint))
            continue
        validator = schema.validator  # type: ignore[union-attr]
        if "sops" in body and body["sops"].__class__ is dict:
            # SOPS-encrypted: Flux decrypts and drops the `sops` block before
            # applying, so the API server never sees it.
            body = {k: v for k, v in body.items() if k != "sops"}
        if validator is not None and not validator.is_valid(body):
            findings.extend(_findings_for(obj, schema, strict, body))  # type: ignore[arg-type]
    return findings


# --------------------------------------------------------------------------
# Registered checks: one shared pass over the run.


def crd_index(ctx: CheckContext) -> CrdIndex:
    """The run's CRDs (every target's, and the CRDs the repository installs
    when only part of it is checked), shared by every check that needs them."""
    index = ctx.cache.get(_CRD_INDEX_KEY)
    if not isinstance(index, CrdIndex):
        index = CrdIndex.from_objects([*(obj for _, obj in ctx.objects()), *ctx.context_crds])
        ctx.cache[_CRD_INDEX_KEY] = index
    return index


def _run_findings(ctx: CheckContext) -> list[Finding]:
    cached = ctx.cache.get(_FINDINGS_KEY)
    if isinstance(cached, list):
        return cached
    index = crd_index(ctx)
    resolvers: dict[str, _Resolver] = {}
    findings: list[Finding] = []
    for target in ctx.targets:
        resolver = resolvers.get(target.kube_version)
        if resolver is None:
            resolver = resolvers[target.kube_version] = _Resolver(target.kube_version, index, True)
        findings.extend(_validate(target.objects, resolver, True))
        if resolver.choice.note:
            file = target.name
            if target.cluster is not None:
                file = f"clusters/{target.cluster.name}/cluster.yaml"
            findings.append(Finding(SCHEMA_VERSION, resolver.choice.note, file, severity="warning", target=target.name,
                                    hint="schemas come from the kubernetes-validate package; upgrade it for newer versions"))
    ctx.cache[_FINDINGS_KEY] = findings
    return findings


def _only(ctx: CheckContext, check_id: str) -> list[Finding]:
    return [f for f in _run_findings(ctx) if f.check == check_id]


@check(SCHEMA_VIOLATION)
def schema_violation(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, SCHEMA_VIOLATION)


@check(UNKNOWN_FIELD)
def unknown_field(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, UNKNOWN_FIELD)


def _removed_builtin(api_version: str, kind: str, kube_version: str) -> bool:
    from shipyard import kube_versions

    state = kube_versions.status(api_version, kind, kube_version)
    return state is not None and state[0] == "removed"


@check(NOT_AN_OBJECT)
def not_an_object(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, NOT_AN_OBJECT)


@check(UNKNOWN_KIND)
def unknown_kind(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, UNKNOWN_KIND)


@check(SCHEMA_VERSION)
def schema_version(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, SCHEMA_VERSION)
