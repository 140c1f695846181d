"""SY4xx: the wiring between files, engines and clusters.

A manifest can be valid on its own and still never deploy: an Argo CD
Application pointing at a folder that was renamed, Flux and Argo CD pinning
different chart versions, an object in a namespace nothing creates.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.files import line_of_entry
from shipyard.findings import Finding
from shipyard.objects import K8sObject
from shipyard.render.engine import (
    ARGO_APPLICATION,
    ARGO_APPPROJECT,
    FLUX_GITREPOSITORY,
    FLUX_HELMCHART,
    FLUX_HELMRELEASE,
    FLUX_HELMREPOSITORY,
    FLUX_KUSTOMIZATION,
    FLUX_OCIREPOSITORY,
    same_repo,
)
from shipyard.render.helm import ChartRef
from shipyard.render.scope import cluster_scoped_kinds


def _text(value: Any) -> str:
    """A field that should be a string, as one ("" otherwise), so a null
    or a number never reaches a message as None."""
    return value.strip() if isinstance(value, str) else ""


def _spec(obj: K8sObject) -> dict[str, Any]:
    """The object's spec, or {} when it is not a mapping (the schema check
    reports that shape; this check must not trip over it)."""
    spec = obj.body.get("spec")
    return spec if isinstance(spec, dict) else {}


# Namespaces that exist before any GitOps engine syncs: Kubernetes' own, and
# those the engines are installed into.
PREEXISTING_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "argocd", "flux-system"})
ENGINE_KINDS = frozenset({ARGO_APPLICATION, ARGO_APPPROJECT, FLUX_KUSTOMIZATION, FLUX_HELMRELEASE,
                          FLUX_GITREPOSITORY, FLUX_HELMREPOSITORY, FLUX_HELMCHART, FLUX_OCIREPOSITORY})


@check("SY403")
def namespace_created(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        if target.kind not in ("overlay", "entrypoint"):
            continue
        created = {o.name for o in target.objects if o.kind == "Namespace" and o.api_version == "v1"}
        scoped = cluster_scoped_kinds(target.objects)
        for obj in target.objects:
            ns = obj.namespace
            if not ns or obj.kind in scoped or ns in created or ns in PREEXISTING_NAMESPACES:
                continue
            yield Finding.on(obj, "SY403", f"namespace {ns!r} is not created anywhere in {target.name}",
                             path=("metadata", "namespace"), hint="add a Namespace object for it to base/namespaces")


def _in_repository(ctx: CheckContext, path: Any) -> bool:
    """Whether a sync path names a folder of this repository: only a source
    that delivers this repository's own folders must be this repository (a
    GitRepository or Application source may also fetch another team's
    manifests, or a chart's sources)."""
    text = _text(path)
    if ctx.repo is None or not text or text.startswith("/") or ".." in text.split("/"):
        return False
    return (ctx.repo.root / text).is_dir()


def _synced_git_repositories(ctx: CheckContext) -> set[tuple[str, str, str]]:
    """(target, namespace, name) of each GitRepository a Flux Kustomization
    syncs one of this repository's folders from."""
    synced: set[tuple[str, str, str]] = set()
    for target, obj in ctx.objects():
        if (obj.group, obj.kind) != FLUX_KUSTOMIZATION:
            continue
        spec = _spec(obj)
        ref = spec.get("sourceRef")
        if not isinstance(ref, dict) or ref.get("kind") != "GitRepository" or not _in_repository(ctx, spec.get("path")):
            continue
        namespace = _text(ref.get("namespace")) or obj.namespace or ""
        synced.add((target.name, namespace, _text(ref.get("name"))))
    return synced


@check("SY404")
def repository_url(ctx: CheckContext) -> Iterable[Finding]:
    """Sources that deliver this repository's folders name this repository.
    Follows what the engines fetch: a Flux Kustomization's GitRepository
    (kustomize-controller reads spec.path from its sourceRef's artifact) and
    an Argo CD source's repoURL for its path or $values ref."""
    if ctx.repo is None or not ctx.repo.repository_url:
        return
    expected = ctx.repo.repository_url
    synced = _synced_git_repositories(ctx)
    for target, obj in ctx.objects():
        gk = (obj.group, obj.kind)
        if gk == FLUX_GITREPOSITORY:
            if (target.name, obj.namespace or "", obj.name) not in synced:
                continue
            url = _text(_spec(obj).get("url"))
            if not same_repo(url, expected):
                said = f"GitRepository url {url!r} is not" if url else "GitRepository has no url: it does not name"
                yield Finding.on(obj, "SY404", f"{said} this repository ({expected}), but Flux Kustomizations sync "
                                 "this repository's folders from it",
                                 path=("spec", "url"), hint="set spec.url to repository.url from shipyard.yaml")
        elif gk == ARGO_APPLICATION:
            spec = _spec(obj)
            sources_value = spec.get("sources")
            sources = sources_value if isinstance(sources_value, list) else [spec.get("source") or {}]
            for index, source in enumerate(sources):
                if not isinstance(source, dict) or source.get("chart"):
                    continue
                if not (_in_repository(ctx, source.get("path")) or _text(source.get("ref"))):
                    continue
                url = _text(source.get("repoURL"))
                if url and not same_repo(url, expected):
                    path = ("spec", "sources", index, "repoURL") if "sources" in spec else ("spec", "source", "repoURL")
                    yield Finding.on(obj, "SY404", f"Application source repoURL {url!r} is not this repository ({expected})",
                                     path=path, hint="set repoURL to repository.url from shipyard.yaml")


@check("SY405")
def chart_pins_agree(ctx: CheckContext) -> Iterable[Finding]:
    by_name: dict[str, list[ChartRef]] = defaultdict(list)
    for target in ctx.targets:
        for chart in target.charts:
            by_name[chart.name].append(chart)
    for name, charts in sorted(by_name.items()):
        pins = {(c.repo_url.rstrip("/"), c.version) for c in charts}
        if len(pins) <= 1:
            continue
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for c in charts:
            counts[(c.repo_url.rstrip("/"), c.version)] += 1
        majority = max(counts.items(), key=lambda kv: kv[1])[0]
        seen: set[tuple[str, int]] = set()
        for c in charts:
            pin = (c.repo_url.rstrip("/"), c.version)
            if pin == majority or (c.declared_in, c.line) in seen:
                continue
            seen.add((c.declared_in, c.line))
            yield Finding("SY405", f"chart {name} pinned to {pin[1]} from {pin[0]}, elsewhere {majority[1]} from {majority[0]}",
                          file=c.declared_in, line=c.line, hint=f"pin {name} to {majority[1]} from {majority[0]} everywhere")


def _deployed(target: RenderedTarget) -> dict[tuple[str, str, str, str], K8sObject]:
    """Objects the cluster ends up with, minus the engines' own wiring (and
    the ConfigMaps that only carry HelmRelease values)."""
    values_maps: set[tuple[str, str]] = set()
    for obj in target.objects:
        if (obj.group, obj.kind) == FLUX_HELMRELEASE:
            values_from = _spec(obj).get("valuesFrom")
            for item in values_from if isinstance(values_from, list) else []:
                if isinstance(item, dict) and item.get("kind", "ConfigMap") == "ConfigMap":
                    values_maps.add((obj.namespace, str(item.get("name"))))
    out = {}
    for obj in target.objects:
        if (obj.group, obj.kind) in ENGINE_KINDS:
            continue
        if obj.kind == "ConfigMap" and (obj.namespace, obj.name) in values_maps:
            continue
        out[(obj.group, obj.kind, obj.namespace, obj.name)] = obj
    return out


@check("SY406")
def engines_agree(ctx: CheckContext) -> Iterable[Finding]:
    by_cluster: dict[str, dict[str, RenderedTarget]] = defaultdict(dict)
    for target in ctx.targets:
        if target.kind == "entrypoint" and target.cluster is not None and target.engine:
            by_cluster[target.cluster.name][target.engine] = target
    for cluster, engines in sorted(by_cluster.items()):
        if "argocd" not in engines or "flux" not in engines:
            continue
        argo, flux = _deployed(engines["argocd"]), _deployed(engines["flux"])
        reported = 0
        for key in sorted(set(argo) ^ set(flux)):
            only, other = ("argocd", "flux") if key in argo else ("flux", "argocd")
            obj = argo.get(key) or flux[key]
            yield Finding.on(obj, "SY406", f"cluster {cluster}: only {only} deploys this object, {other} does not",
                             hint="deploy it through both engines, or through neither")
            reported += 1
        for key in sorted(set(argo) & set(flux)):
            if argo[key].body != flux[key].body:
                yield Finding.on(flux[key], "SY406", f"cluster {cluster}: argocd and flux render this object differently",
                                 hint="use the same chart version, values files and patches in both entry points")


@check("SY407")
def cluster_environment(ctx: CheckContext) -> Iterable[Finding]:
    if ctx.repo is None:
        return
    envs = set(ctx.repo.environments())
    for cluster in ctx.repo.clusters():
        if cluster.environment not in envs:
            yield Finding("SY407", f"cluster {cluster.name} names environment {cluster.environment!r}, which has no overlay",
                          file=f"clusters/{cluster.name}/cluster.yaml", line=0,
                          hint=f"use one of: {', '.join(sorted(envs)) or 'none'}")


@check("SY408")
def stays_in_repository(ctx: CheckContext) -> Iterable[Finding]:
    if ctx.repo is None:
        return
    from shipyard.render.deps import escapes

    seen: set[tuple[str, str]] = set()
    for target in ctx.targets:
        if target.kind == "file" or target.name.startswith("/"):
            continue
        for kfile, ref, resolved in escapes(ctx.repo.root, target.name):
            if (kfile, ref) in seen:
                continue
            seen.add((kfile, ref))
            line = line_of_entry(ctx.repo.root / kfile, ref) or 0
            yield Finding("SY408", f"{ref!r} resolves to {resolved}, outside the repository", file=kfile, line=line,
                          hint="keep every kustomization input inside the repository")
