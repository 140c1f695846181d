"""SY302: every container states its CPU and memory requests and limits.

Requests are what the scheduler packs nodes by; limits are what keeps one
model's memory leak from evicting its neighbours. A container without them
is scheduled blind and runs in the BestEffort class, first to be killed.
"""

from __future__ import annotations

from typing import Any, Iterable

from shipyard.shapes import quoted_name
from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import (
    all_pod_specs,
    as_dict,
    is_seldon_deployment,
    parse_quantity,
    prepackaged_without_container,
)
from shipyard.findings import Finding

REQUIRED = ("cpu", "memory")


def resource_problems(container: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """(path inside the container, problem) for each missing or inconsistent
    request or limit."""
    resources = as_dict(container.get("resources"))
    requests = as_dict(resources.get("requests"))
    limits = as_dict(resources.get("limits"))
    problems: list[tuple[tuple[str, ...], str]] = []
    missing_requests = [r for r in REQUIRED if r not in requests]
    missing_limits = [r for r in REQUIRED if r not in limits]
    if missing_requests:
        problems.append((("resources", "requests") if requests else ("resources",), f"no {' or '.join(missing_requests)} request"))
    if missing_limits:
        problems.append((("resources", "limits") if limits else ("resources",), f"no {' or '.join(missing_limits)} limit"))
    for name in sorted(set(requests) & set(limits)):
        request, limit = parse_quantity(requests[name]), parse_quantity(limits[name])
        if request is not None and limit is not None and request > limit:
            problems.append((
                ("resources", "requests", name),
                f"{name} request {requests[name]} is above its limit {limits[name]} (the API server rejects this)",
            ))
    return problems


@check("SY302")
def requests_and_limits(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        for pod in all_pod_specs(target.objects):
            for path, container in pod.containers():
                name = container.get("name", "?")
                for sub, problem in resource_problems(container):
                    yield Finding.on(
                        pod.obj, "SY302", f"container {name!r}{pod.where()}: {problem}", path=(*path, *sub),
                        hint="set resources.requests and resources.limits for cpu and memory",
                    )
        for obj in target.objects:
            if not is_seldon_deployment(obj):
                continue
            for path, node, predictor in prepackaged_without_container(obj):
                yield Finding.on(
                    obj, "SY302",
                    f"prepackaged server {quoted_name(node.get('name'))} in predictor {predictor!r} has no componentSpecs "
                    f"container, so the operator generates one with no requests or limits",
                    path=path,
                    hint=f"add a container named {quoted_name(node.get('name'))} to the predictor's componentSpecs with resources",
                )

