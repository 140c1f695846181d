"""SY107: every rendered object's metadata as the API server validates it.

The rules are shipyard.schemas.metadata's (pure, shared with code that
checks embedded resources); this module turns each problem into a finding
at the offending key's line. What other checks report is left to them:
metadata that is not a mapping, or has no name, is SY104's; a label value
of the wrong type is SY101's (the schema says string).
"""

from __future__ import annotations

from typing import Final, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.findings import Finding
from shipyard.objects import K8sObject
from shipyard.render.scope import cluster_scoped_kinds
from shipyard.render.target import RenderedTarget
from shipyard.schemas.metadata import (
    DNS1123_LABEL,
    MetaProblem,
    field_name,
    is_key_problem,
    name_rule,
    object_meta_value_problems,
    required_name_problems,
)

METADATA_INVALID: Final = "SY107"

_KEY_HINT: Final = (
    "keys are [prefix/]name: the optional prefix a DNS-1123 subdomain (example.com/), the name at most 63"
    " letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
)
_LABEL_VALUE_HINT: Final = (
    "label values are empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter"
    " or digit: put free text in an annotation"
)
_HINTS: Final = {
    "namespace": f"a namespace name must be {DNS1123_LABEL.description}",
    "annotations": "all annotations of an object total at most 256 KiB: move large data to a ConfigMap",
    "finalizers": "finalizers are qualified names, such as example.com/cleanup",
}
_DERIVED_HINT: Final = "rename it as the message says: the API server derives this kind's name from its spec"


def _hint(obj: K8sObject, problem: MetaProblem) -> str:
    head = problem.path[0] if problem.path else ""
    if head in ("name", "generateName"):
        return f"{obj.kind} names must be {name_rule(obj.api_version, obj.kind).description}"
    if is_key_problem(problem):
        return f"label {_KEY_HINT}" if head == "labels" else f"annotation {_KEY_HINT} (in any case)"
    if head == "labels":
        return _LABEL_VALUE_HINT
    return _HINTS.get(str(head), "fix the metadata as the message says")


def _object_problems(obj: K8sObject) -> Iterable[tuple[MetaProblem, str]]:
    """Each problem of ``obj``'s metadata, with its hint."""
    body = obj.body
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or not obj.api_version or not obj.kind:
        return  # not an object: SY104 (which also reports a missing name; the rules here never do)
    for problem in object_meta_value_problems(metadata, api_version=obj.api_version, kind=obj.kind):
        yield problem, _hint(obj, problem)
    if obj.kind in ("CustomResourceDefinition", "APIService"):
        for problem in required_name_problems(body):
            yield problem, _DERIVED_HINT


def _target_findings(target: RenderedTarget) -> Iterable[Finding]:
    cluster_scoped: set[str] | None = None
    for obj in target.objects:
        for problem, hint in _object_problems(obj):
            if problem.path == ("namespace",):
                # The API server clears the namespace of a cluster-scoped
                # object, custom ones included (a CRD with scope: Cluster).
                if cluster_scoped is None:
                    cluster_scoped = cluster_scoped_kinds(target.objects)
                if obj.kind in cluster_scoped:
                    continue
            yield Finding.on(
                obj, METADATA_INVALID, f"{field_name(problem.path)}: {problem.message}",
                path=("metadata", *problem.path), hint=hint,
            )


@check(METADATA_INVALID)
def metadata_invalid(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        yield from _target_findings(target)
