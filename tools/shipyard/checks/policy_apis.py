"""SY314, SY315: apiVersions the target cluster no longer serves, or deprecates.

A schema check answers "is this a valid object of that apiVersion"; the API
server of the cluster also asks "do I still serve it". The answer depends
on the cluster's Kubernetes version (``kubernetesVersion`` in its
cluster.yaml), so the same manifest passes for one cluster and breaks the
next upgrade of another. Custom resources follow the CRDs the repository
installs: a CRD version marked ``deprecated`` warns (a version the CRD does
not serve at all is SY105's, found with the CRD's schema).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import as_dict, as_list
from shipyard.findings import Finding
from shipyard.kube_versions import format_minor, status


@dataclass(frozen=True)
class CrdVersion:
    served: bool
    deprecated: bool
    warning: str


def crd_versions(ctx: CheckContext) -> dict[tuple[str, str], CrdVersion]:
    """(apiVersion, kind) -> how its CRD serves it, for every version of
    every CRD rendered in this run (and the context's)."""
    cached = ctx.cache.get("crd-versions")
    if isinstance(cached, dict):
        return cached
    found: dict[tuple[str, str], CrdVersion] = {}
    for obj in ctx.crds():
        if obj.group != "apiextensions.k8s.io":
            continue
        spec = as_dict(obj.body.get("spec"))
        group, kind = spec.get("group"), as_dict(spec.get("names")).get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        for version in as_list(spec.get("versions")):
            version = as_dict(version)
            name = version.get("name")
            if isinstance(name, str):
                found[(f"{group}/{name}", kind)] = CrdVersion(
                    served=version.get("served", True) is not False,
                    deprecated=version.get("deprecated") is True,
                    warning=str(version.get("deprecationWarning") or ""),
                )
    ctx.cache["crd-versions"] = found
    return found


@check("SY314")
def removed_apis(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        for obj in target.objects:
            result = status(obj.api_version, obj.kind, target.kube_version)
            if result and result[0] == "removed":
                row = result[1]
                instead = f"; use {row.replacement}" if row.replacement else "; it has no replacement"
                yield Finding.on(
                    obj, "SY314",
                    f"{obj.api_version} {obj.kind} is not served since Kubernetes {format_minor(row.removed or (0, 0))} "
                    f"(the cluster runs {target.kube_version}){instead}",
                    path=("apiVersion",),
                    hint=f"change apiVersion to {row.replacement}" if row.replacement else "remove the object",
                )


@check("SY315")
def deprecated_apis(ctx: CheckContext) -> Iterable[Finding]:
    crds = crd_versions(ctx)
    for target in ctx.targets:
        for obj in target.objects:
            result = status(obj.api_version, obj.kind, target.kube_version)
            if result and result[0] == "deprecated":
                row = result[1]
                removal = f", removed in {format_minor(row.removed)}" if row.removed else ""
                instead = f"; use {row.replacement}" if row.replacement else ""
                yield Finding.on(
                    obj, "SY315",
                    f"{obj.api_version} {obj.kind} is deprecated since Kubernetes {format_minor(row.deprecated)}"
                    f"{removal}{instead}",
                    path=("apiVersion",),
                    hint=f"change apiVersion to {row.replacement}" if row.replacement else "plan its removal",
                    severity="warning",
                )
            crd = crds.get((obj.api_version, obj.kind))
            if crd and crd.served and crd.deprecated:
                warning = f": {crd.warning}" if crd.warning else ""
                yield Finding.on(
                    obj, "SY315", f"{obj.api_version} {obj.kind} is deprecated by its CRD{warning}",
                    path=("apiVersion",), hint="use the CRD's storage version", severity="warning",
                )
