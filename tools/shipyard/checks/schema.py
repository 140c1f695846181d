"""SY1xx: every object against the schema the API server would apply.

Built-in kinds are validated against the Kubernetes schemas of the target's
Kubernetes version; custom resources against their CRD's schema, taken from
the CRDs the run itself renders, or else from the pinned cache. Validation is
strict: a field the schema does not know is an error (SY102), as with
``kubectl apply --validate=strict``, instead of being silently dropped.

Each object goes through the API server's steps in its order
(``shipyard.schemas.structural`` says which upstream code each follows):
nulls pruned and defaults applied, the schema (SY101, SY102), embedded
resources (SY101), list-type sets and maps (SY108), then the CRD's CEL rules
(SY109; SY110 for a rule this checker cannot judge), which the API server
does not run while the object has a blocking schema error. This module only
turns what those report into findings, at the line of the field concerned.

``validate_objects`` is the whole family as one function, for code that has
objects but no validate run; the registered checks share one pass over a
run (cached in ``CheckContext.cache``).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Final, Iterable

from shipyard.shapes import json_type
from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.findings import Finding
from shipyard.load import format_path
from shipyard.objects import JsonPath, K8sObject
from shipyard.schemas import cel, structural
from shipyard.schemas.crds import CrdIndex, CrdVersion, guess_plural, is_crd
from shipyard.schemas.kubernetes import DEFINITIONS_URI, KubernetesSchemas, choose_version, split_api_version
from shipyard.schemas.metadata import object_meta_problems
from shipyard.schemas.structural import Node, Prepared

SCHEMA_VIOLATION: Final = "SY101"
UNKNOWN_FIELD: Final = "SY102"
NOT_AN_OBJECT: Final = "SY104"
UNKNOWN_KIND: Final = "SY105"
SCHEMA_VERSION: Final = "SY106"
DUPLICATE_LIST_KEY: Final = "SY108"
RULE_FAILS: Final = "SY109"
RULE_NOT_EVALUATED: Final = "SY110"

# The schema errors after which the API server does not run a CRD's CEL rules
# (apiextensions-apiserver pkg/registry/customresource/strategy.go
# hasBlockingErr: NotSupported, Required, TooLong, TooMany, TypeInvalid).
_BLOCKING = frozenset({"enum", "required", "maxLength", "maxItems", "maxProperties", "type"})

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
    structural: Node | None = None  # list types (and for a CRD defaults, embedded resources, CEL rules)
    builtin: bool = False


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
            return _Schema(validator, document, self.kube.definitions(), f"per Kubernetes {self.choice.version[:-2]}",
                           self.kube.structural(api_version, kind), builtin=True)
        crd = self.crds.get(api_version, kind)
        if crd is not None and crd.served:
            validator, document = self.crds.compiled(crd, strict=self.strict)
            return _Schema(validator, document, None, f"per CRD {crd.crd_name} from {crd.source}",
                           self.crds.structural(crd))
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
    return f"{json_type(instance)} {_short(instance)}"


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


def _findings_for(obj: K8sObject, schema: _Schema, strict: bool, prepared: Prepared) -> tuple[list[Finding], bool]:
    """The schema's findings on the prepared body, and whether one of them
    is an error that stops the API server before the CEL rules."""
    findings: list[Finding] = []
    blocking = False
    body = prepared.body
    for error in schema.validator.iter_errors(body):
        path: JsonPath = tuple(error.instance_path)
        name = error.kind.name
        blocking = blocking or name in _BLOCKING
        if name == "additionalProperties":
            if not strict:
                continue
            allowed = _known_properties(schema, error)
            for field in error.kind.unexpected:
                close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
                guess = f"; did you mean {close[0]}?" if close else ""
                field_path = path + (field,)
                findings.append(
                    Finding.on(
                        obj, UNKNOWN_FIELD, f"unknown field {format_path(field_path)}{guess} ({schema.origin})",
                        path=field_path,
                        hint=f"fix or remove it: the API server rejects unknown fields with strict validation, or drops them"
                        f" silently ({_explain(obj.kind, path)} lists the known ones)",
                    )
                )
            continue
        if name == "required":
            missing = path + (error.kind.property,)
            if missing in prepared.nulls:
                findings.append(
                    Finding.on(
                        obj, SCHEMA_VIOLATION,
                        f"{format_path(missing)} is required, and null is no value: the API server drops a null"
                        f" before validating (Required value) ({schema.origin})",
                        path=missing, hint=f"give it a value ({_explain(obj.kind, missing)})",
                    )
                )
                continue
            findings.append(
                Finding.on(
                    obj, SCHEMA_VIOLATION, f"{format_path(missing)} is required ({schema.origin})",
                    path=path, hint=f"add it ({_explain(obj.kind, missing)})",
                )
            )
            continue
        findings.append(
            Finding.on(
                obj, SCHEMA_VIOLATION, f"{format_path(path)}: {_problem(error, _value_at(body, path))} ({schema.origin})",
                path=path, hint=f"fix the value ({_explain(obj.kind, path)})",
            )
        )
    return findings, blocking


def _after_schema(obj: K8sObject, schema: _Schema, body: Any, blocking: bool) -> list[Finding]:
    """What the API server checks after the schema: embedded resources,
    list-type sets and maps, and (unless ``blocking``) the CEL rules."""
    node = schema.structural
    if node is None:
        return []
    findings: list[Finding] = []
    if node.has_embedded and not schema.builtin:
        for problem in structural.embedded_problems(body, node, _meta_check):
            findings.append(Finding.on(obj, SCHEMA_VIOLATION, f"{format_path(problem.path)}: {problem.message}"
                                       f" ({schema.origin})", path=problem.path,
                                       hint="an embedded resource needs apiVersion, kind and valid metadata"))
    if node.lists:
        for problem in structural.list_problems(body, node, null_is_absent=schema.builtin):
            findings.append(Finding.on(obj, DUPLICATE_LIST_KEY, f"{format_path(problem.path)}: {problem.message}"
                                       f" ({schema.origin})", path=problem.path,
                                       hint="remove or merge the duplicate entry, or give it a key of its own"))
    if node.has_rules and not schema.builtin:
        if blocking:
            findings.append(Finding.on(
                obj, RULE_NOT_EVALUATED,
                f"the x-kubernetes-validations rules were not evaluated: the API server does not run them while the"
                f" object has the schema errors reported above ({schema.origin})",
                hint="fix those errors; the rules are checked then", severity="warning"))
        else:
            findings.extend(_rule_finding(obj, schema, outcome) for outcome in cel.evaluate(body, node))
    return findings


def _rule_finding(obj: K8sObject, schema: _Schema, outcome: cel.Outcome) -> Finding:
    rule = outcome.rule if len(outcome.rule) <= 120 else outcome.rule[:117] + "..."
    where = f"CEL rule {json.dumps(rule, ensure_ascii=False)} at {_schema_path(outcome.source)}"
    if outcome.verdict == "refused":
        return Finding.on(obj, RULE_FAILS, f"{format_path(outcome.path)}: {outcome.message} ({where}; {schema.origin})",
                          path=outcome.path, hint="change the object so the rule holds; the message is the CRD's own")
    return Finding.on(obj, RULE_NOT_EVALUATED, f"{format_path(outcome.path)}: {outcome.message} ({where};"
                      f" {schema.origin})", path=outcome.path, severity="warning",
                      hint="check the object against this rule by hand, or on a test cluster")


def _schema_path(source: JsonPath) -> str:
    """openAPIV3Schema.properties.spec..., where a rule is written."""
    return "openAPIV3Schema" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in source)


def _meta_check(metadata: dict[str, Any], api_version: str, kind: str) -> list[structural.Problem]:
    """An embedded resource's metadata, as the API server validates an
    object's (shipyard.schemas.metadata, paths relative to metadata)."""
    return [structural.Problem(tuple(p.path), p.message)
            for p in object_meta_problems(metadata, api_version=api_version, kind=kind)]


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
    """SY101, SY102, SY104, SY105 and SY108-SY110 findings for ``objects``
    on a cluster running ``kube_version``. Custom resources are checked against the CRDs
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
        if not isinstance(schema, _Schema):
            continue
        validator = schema.validator
        if validator is None:
            continue  # the CRD declares no schema: anything goes
        if "sops" in body and body["sops"].__class__ is dict:
            # SOPS-encrypted: Flux decrypts and drops the `sops` block before
            # applying, so the API server never sees it.
            body = {k: v for k, v in body.items() if k != "sops"}
        node = schema.structural
        blocking = False
        if schema.builtin:
            # Decoding into Go structs makes a null an absent field; a valid
            # body stays valid without its nulls, so only an invalid one is
            # looked at again without them.
            if not validator.is_valid(body):
                schema_findings, blocking = _findings_for(obj, schema, strict, structural.drop_nulls(body))
                findings.extend(schema_findings)
        else:
            prepared = structural.prepare(body, node) if node is not None else Prepared(body, frozenset())
            body = prepared.body
            if not validator.is_valid(body):
                schema_findings, blocking = _findings_for(obj, schema, strict, prepared)
                findings.extend(schema_findings)
        if node is not None and (node.lists or node.has_rules or node.has_embedded):
            findings.extend(_after_schema(obj, schema, body, blocking))
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


@check(DUPLICATE_LIST_KEY)
def duplicate_list_key(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, DUPLICATE_LIST_KEY)


@check(RULE_FAILS)
def rule_fails(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, RULE_FAILS)


@check(RULE_NOT_EVALUATED)
def rule_not_evaluated(ctx: CheckContext) -> Iterable[Finding]:
    return _only(ctx, RULE_NOT_EVALUATED)


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
