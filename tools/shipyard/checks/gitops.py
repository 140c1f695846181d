"""SY409-SY412: what Argo CD and Flux themselves refuse in the wiring, and
whether each cluster folder is wired to itself.

Every other check can pass while a cluster syncs nothing: an AppProject
that does not permit the repository every Application names (after the URL
changed everywhere else), a cluster folder copied from another that still
syncs the original's entry point, cluster.yaml facts that describe another
cluster than the one its environment builds, a Flux dependsOn that waits
for an object nobody creates. These checks read the rendered entry points.

SY409 follows Argo CD v3.5.1 to the letter where it matches names (the
rules are in checks/argocd_project.py). What Argo CD knows at run time and
this cannot is left alone: a
destination on a cluster other than in-cluster (its URL or name is
registered in Argo CD, not in git) is not judged.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from shipyard.checks import check
from shipyard.checks.argocd_project import (
    BUILTIN_DEFAULT_PROJECT,
    CONTROLLER_NAMESPACE,
    DEFAULT_PROJECT,
    IN_CLUSTER_NAME,
    IN_CLUSTER_SERVER,
    app_namespace_permitted,
    destination_permitted,
    kind_refusal,
    source_permitted,
)
from shipyard.checks.context import CheckContext
from shipyard.errors import ShipyardError
from shipyard.findings import Finding
from shipyard.objects import JsonPath, K8sObject
from shipyard.render.engine import (
    ARGO_APPLICATION,
    ARGO_APPPROJECT,
    FLUX_HELMRELEASE,
    FLUX_KUSTOMIZATION,
    same_repo,
)
from shipyard.render.scope import cluster_scoped_kinds
from shipyard.render.target import RenderedTarget
from shipyard.repo import Cluster, Repository
from shipyard.shapes import as_dict, as_list

# --------------------------------------------------------------------------
# What the checks share.


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _whole(target: RenderedTarget) -> bool:
    """Whether ``target`` holds all a cluster has: a cluster's entry point
    folder itself (clusters/<c>/<engine>), or the overlay of a check fixture
    run in its cluster. A file of an entry point checked alone, or an
    overlay's folder, may lack what the rest of the entry point defines."""
    cluster = target.cluster
    if cluster is None:
        return False
    return target.name == f"clusters/{cluster.name}/{target.engine}" or target.kind == "overlay"


def _spec(obj: K8sObject) -> dict[str, Any]:
    return as_dict(obj.body.get("spec"))


def _sources(app: K8sObject) -> list[tuple[dict[str, Any], JsonPath]]:
    """An Application's sources with the path of each (spec.sources wins
    over spec.source, as Argo CD's HasMultipleSources decides)."""
    spec = _spec(app)
    if isinstance(spec.get("sources"), list) and spec["sources"]:
        return [(s, ("spec", "sources", i)) for i, s in enumerate(spec["sources"]) if isinstance(s, dict)]
    if isinstance(spec.get("source"), dict):
        return [(spec["source"], ("spec", "source"))]
    return []


def _is_local(ctx: CheckContext, obj: K8sObject) -> bool:
    """Whether the object is written in a repository file (not a chart's
    template or a remote base): a finding about it can point there."""
    if ctx.repo is None or obj.source.path.startswith("chart:") or "//" in obj.source.path:
        return False
    try:
        return (ctx.repo.root / obj.source.path).is_file()
    except (OSError, ValueError):
        return False


def _normal_path(raw: Any) -> str | None:
    """A repository path written in an Application or Kustomization, as a
    clean relative path ("." for the root), or None when it is not one."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("/"):
        return None
    return posixpath.normpath(text)


# --------------------------------------------------------------------------
# SY409


@dataclass(frozen=True)
class _Refusal:
    """One kind of object an Application deploys that its project refuses."""

    app: K8sObject
    project: str
    reason: str
    objects: tuple[K8sObject, ...]


@check("SY409")
def project_permits(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        apps = [o for o in target.objects if (o.group, o.kind) == ARGO_APPLICATION]
        if not apps:
            continue
        projects = {o.name: o for o in target.objects
                    if (o.group, o.kind) == ARGO_APPPROJECT and o.namespace in ("", CONTROLLER_NAMESPACE)}
        scoped = cluster_scoped_kinds(target.objects + ctx.context_crds)
        for app in apps:
            yield from _application_permitted(ctx, target, app, projects, scoped)


def _application_permitted(ctx: CheckContext, target: RenderedTarget, app: K8sObject, projects: dict[str, K8sObject],
                           scoped: set[str]) -> Iterator[Finding]:
    """Argo CD's ValidatePermissions for one Application, then
    validateSyncPermissions for every object it renders."""
    spec = _spec(app)
    name = _str(spec.get("project")) or DEFAULT_PROJECT
    project = projects.get(name)
    if project is None and name != DEFAULT_PROJECT:
        if projects:  # this target is where the projects are defined, and this one is not
            known = ", ".join(sorted(projects))
            yield Finding.on(app, "SY409", f"Application {app.name} names project {name!r}, which is not defined "
                             f"in {target.name} (its projects: {known}): Argo CD refuses the Application",
                             path=("spec", "project"), hint=f"use one of {known}, or define AppProject {name}")
        return  # a project defined elsewhere (the cluster's entry point) is judged there
    pspec = _spec(project) if project is not None else BUILTIN_DEFAULT_PROJECT
    label = f"project {name!r}" + ("" if project is not None else " (Argo CD's built-in default)")
    if not app_namespace_permitted(as_list(pspec.get("sourceNamespaces")), app.namespace):
        yield Finding.on(app, "SY409", f"Application {app.name} is in namespace {app.namespace!r}, which "
                         f"sourceNamespaces of {label} does not permit: Argo CD ignores the Application",
                         path=("metadata", "namespace"),
                         hint=f"put the Application in namespace {CONTROLLER_NAMESPACE}, or add its namespace to "
                         "the project's sourceNamespaces")
    repos = [_str(r) for r in as_list(pspec.get("sourceRepos"))]
    for source, at in _sources(app):
        url = _str(source.get("repoURL"))
        if url and not source_permitted(repos, url):
            listed = ", ".join(repos) if repos else "none"
            yield Finding.on(app, "SY409", f"Application {app.name}: source repoURL {url!r} is not permitted by "
                             f"sourceRepos of {label} (it lists: {listed})", path=at + ("repoURL",),
                             hint=f"add {url} to the project's sourceRepos, or fix the repoURL")
    cluster = _destination_cluster(app)
    if isinstance(cluster, str):
        yield Finding.on(app, "SY409", f"Application {app.name}: {cluster}", path=("spec", "destination"),
                         hint="name the destination cluster by server or by name, not both")
        return
    destinations = [as_dict(d) for d in as_list(pspec.get("destinations"))]
    if cluster is not None:
        server, cluster_name = cluster
        namespace = _str(as_dict(spec.get("destination")).get("namespace"))
        if not destination_permitted(destinations, server, cluster_name, namespace):
            shown = f"namespace {namespace!r}" if namespace else "no namespace"
            yield Finding.on(app, "SY409", f"Application {app.name}: destination server {server!r} with {shown} "
                             f"matches none of the destinations of {label}", path=("spec", "destination"),
                             hint="add that server and namespace to the project's destinations")
    for refusal in _refused_objects(ctx, target, app, pspec, destinations, cluster, scoped, name):
        yield _refusal_finding(ctx, refusal, label)


def _destination_cluster(app: K8sObject) -> tuple[str, str] | str | None:
    """(server, name) of the Application's destination cluster as Argo CD
    resolves it (GetDestinationServer), a message when it cannot be
    resolved at all, or None for a cluster registered in Argo CD (only
    in-cluster is known from git)."""
    destination = as_dict(_spec(app).get("destination"))
    server, name = _str(destination.get("server")).rstrip("/"), _str(destination.get("name"))
    if server and name:
        return f"destination names both server {server!r} and name {name!r}: Argo CD refuses it"
    if not server and not name:
        return "destination names neither a server nor a cluster name: Argo CD refuses it"
    if server == IN_CLUSTER_SERVER or (not server and name == IN_CLUSTER_NAME):
        return IN_CLUSTER_SERVER, IN_CLUSTER_NAME
    return None


def _owned(target: RenderedTarget, app: K8sObject) -> list[K8sObject]:
    """The objects the Application renders in this target: those the
    renderer attributed to it, or, for the app of apps whose path is the
    target itself, the target's own objects."""
    own = f"{target.name} > Application {app.name}"
    owned = [o for o in target.objects if o.target == own]
    if owned:
        return owned
    for source, _at in _sources(app):
        if _normal_path(source.get("path")) == posixpath.normpath(target.name) and not source.get("chart"):
            return [o for o in target.objects if o.target == target.name]
    return []


def _refused_objects(ctx: CheckContext, target: RenderedTarget, app: K8sObject, pspec: dict[str, Any],
                     destinations: list[dict[str, Any]], cluster: tuple[str, str] | None, scoped: set[str],
                     project: str) -> list[_Refusal]:
    """validateSyncPermissions for each object: its kind, then (when
    namespaced, on a known cluster) its namespace. Grouped by reason and
    kind, so a chart's thirty ClusterRoles are one finding."""
    groups: dict[tuple[str, str, str], list[K8sObject]] = {}
    for obj in _owned(target, app):
        if not obj.kind:
            continue
        namespaced = obj.kind not in scoped
        reason = kind_refusal(pspec, obj.group, obj.kind, obj.name, namespaced)
        if reason is None and namespaced and cluster is not None and obj.namespace and not destination_permitted(
                destinations, cluster[0], cluster[1], obj.namespace):
            reason = f"namespace {obj.namespace!r} is not among its destinations"
        if reason is not None:
            groups.setdefault((reason, obj.group, obj.kind), []).append(obj)
    return [_Refusal(app, project, reason, tuple(objs)) for (reason, _g, _k), objs in groups.items()]


def _refusal_finding(ctx: CheckContext, refusal: _Refusal, label: str) -> Finding:
    first = refusal.objects[0]
    group = first.group or "core"
    scope = "namespace-scoped" if first.namespace else "cluster-scoped"
    named = f"{first.namespace}/{first.name}" if first.namespace else first.name
    more = f" (and {len(refusal.objects) - 1} more of that kind)" if len(refusal.objects) > 1 else ""
    message = (f"Application {refusal.app.name} deploys {first.kind} {named} ({group}, {scope}){more}, which "
               f"{label} does not permit: {refusal.reason}; Argo CD refuses to sync it")
    hint = (f"add {{group: {first.group!r}, kind: {first.kind}}} to the project's "
            f"{'namespace' if first.namespace else 'cluster'}ResourceWhitelist, or do not deploy it through "
            f"Application {refusal.app.name}" if "Whitelist" in refusal.reason else
            "permit it in the project (destinations, or remove it from the blacklist), or do not deploy it there")
    local = next((o for o in refusal.objects if _is_local(ctx, o)), None)
    if local is not None:
        return Finding.on(local, "SY409", message, hint=hint)
    return Finding.on(refusal.app, "SY409", message, path=("spec", "project"), hint=hint)


# --------------------------------------------------------------------------
# SY410


def _cluster_name_line(repo: Repository, cluster: Cluster) -> tuple[str | None, int]:
    """metadata.name of cluster.yaml and its line (None when not a string)."""
    from shipyard.load import load_located_file

    rel = f"clusters/{cluster.name}/cluster.yaml"
    try:
        located = load_located_file(repo.root / rel, rel)
    except ShipyardError:
        return None, 0  # Repository.cluster read it already; nothing new to say
    name = as_dict(as_dict(located.data).get("metadata")).get("name")
    return (name if isinstance(name, str) else None), located.line(("metadata", "name"))


def _deploy_paths(target: RenderedTarget) -> Iterator[tuple[K8sObject, str, JsonPath]]:
    """Every repository path an Application or Flux Kustomization of the
    target syncs, with where it is written."""
    for obj in target.objects:
        gk = (obj.group, obj.kind)
        if gk == FLUX_KUSTOMIZATION:
            path = _normal_path(_spec(obj).get("path"))
            if path is not None:
                yield obj, path, ("spec", "path")
        elif gk == ARGO_APPLICATION:
            for source, at in _sources(obj):
                path = _normal_path(source.get("path"))
                if path is not None and not source.get("chart"):
                    yield obj, path, at + ("path",)


@check("SY410")
def cluster_points_at_itself(ctx: CheckContext) -> Iterable[Finding]:
    if ctx.repo is None:
        return
    seen: set[str] = set()
    for target in ctx.targets:
        cluster = target.cluster
        if cluster is None:
            continue
        if cluster.name not in seen:
            seen.add(cluster.name)
            name, line = _cluster_name_line(ctx.repo, cluster)
            if name is not None and name != cluster.name:
                yield Finding("SY410", f"cluster.yaml of clusters/{cluster.name} names cluster {name!r}: a copied "
                              "folder still names the cluster it was copied from",
                              file=f"clusters/{cluster.name}/cluster.yaml", line=line,
                              hint=f"set metadata.name to {cluster.name}, the folder's name")
        if not _whole(target) and target.kind != "entrypoint":
            continue
        for obj, path, at in _deploy_paths(target):
            written = obj.source.path.split("/")
            if written[0] == "clusters" and written[1:2] != [cluster.name]:
                continue  # another cluster's file, reached through a path this check reports where it is written
            if not _same_repository(ctx, target, obj):
                continue
            parts = path.split("/")
            what = "Application" if obj.kind == "Application" else "Kustomization"
            if len(parts) >= 2 and parts[0] == "clusters" and parts[1] != cluster.name:
                yield Finding.on(obj, "SY410", f"{what} {obj.name} of cluster {cluster.name} syncs {path}, "
                                 f"cluster {parts[1]}'s folder: bootstrapping {cluster.name} would sync {parts[1]}'s "
                                 "entry point", path=at,
                                 hint=f"point it at clusters/{cluster.name}/{'/'.join(parts[2:])}".rstrip("/"))
            elif len(parts) >= 2 and parts[0] == "overlays" and parts[1] != cluster.environment:
                yield Finding.on(obj, "SY410", f"{what} {obj.name} of cluster {cluster.name} deploys {path}, "
                                 f"environment {parts[1]}, but cluster.yaml says environment {cluster.environment}",
                                 path=at, hint=f"point it at overlays/{cluster.environment}/"
                                 f"{'/'.join(parts[2:])}".rstrip("/") + ", or change spec.environment")


def _same_repository(ctx: CheckContext, target: RenderedTarget, obj: K8sObject) -> bool:
    """Whether the object's path is a path of this repository: an
    Application source on its URL, a Kustomization whose GitRepository is
    (or, when the target does not define it, is assumed to be: SY402 says
    so). Paths into another repository name no cluster folder of this one."""
    url = ctx.repo.repository_url if ctx.repo else ""
    if not url:
        return True  # no repository.url in shipyard.yaml: every path is taken as this repository's
    if obj.kind == "Application":
        return any(same_repo(_str(s.get("repoURL")), url) for s, _ in _sources(obj) if s.get("path") is not None)
    ref = as_dict(_spec(obj).get("sourceRef"))
    if (_str(ref.get("kind")) or "GitRepository") != "GitRepository":
        return False
    name, namespace = _str(ref.get("name")), _str(ref.get("namespace")) or obj.namespace
    for other in target.objects:
        if other.kind == "GitRepository" and other.group == "source.toolkit.fluxcd.io" and other.name == name and (
                other.namespace or namespace) == namespace:
            return same_repo(_str(_spec(other).get("url")), url)
    return True


# --------------------------------------------------------------------------
# SY411

ISTIO_CHARTS = frozenset({"istiod"})
GPU_OPERATOR_CHARTS = frozenset({"gpu-operator"})


def _declared_charts(target: RenderedTarget) -> set[str]:
    """Charts the target installs: the releases it rendered, and the ones
    its HelmReleases and Applications declare (rendered or not)."""
    names = {c.name for c in target.charts}
    for obj in target.objects:
        gk = (obj.group, obj.kind)
        if gk == FLUX_HELMRELEASE:
            names.add(_str(as_dict(as_dict(_spec(obj).get("chart")).get("spec")).get("chart")))
        elif gk == ARGO_APPLICATION:
            names |= {_str(s.get("chart")) for s, _ in _sources(obj) if s.get("chart")}
    return names - {""}


def _installs(target: RenderedTarget) -> tuple[bool, bool]:
    """(Istio, the GPU operator): installed by the target's charts, or
    present as their workloads (istiod, a ClusterPolicy)."""
    charts = _declared_charts(target)
    istio = bool(charts & ISTIO_CHARTS) or any(
        o.kind == "Deployment" and o.group == "apps" and o.name == "istiod" for o in target.objects)
    gpu = bool(charts & GPU_OPERATOR_CHARTS) or any(
        o.kind == "ClusterPolicy" and o.group == "nvidia.com" for o in target.objects)
    return istio, gpu


@check("SY411")
def cluster_facts_agree(ctx: CheckContext) -> Iterable[Finding]:
    if ctx.repo is None:
        return
    by_cluster: dict[str, tuple[Cluster, bool, bool]] = {}
    for target in ctx.targets:
        if target.cluster is None or not _whole(target):
            continue
        istio, gpu = _installs(target)
        known = by_cluster.get(target.cluster.name)
        if known is not None:
            istio, gpu = istio or known[1], gpu or known[2]
        by_cluster[target.cluster.name] = (target.cluster, istio, gpu)
    for name, (cluster, istio, gpu) in sorted(by_cluster.items()):
        rel = f"clusters/{name}/cluster.yaml"
        lines = _fact_lines(ctx.repo, rel)
        if cluster.istio != istio:
            said = "istio: true" if cluster.istio else ("istio: false" if "istio" in lines else "no istio: (false)")
            does = "installs Istio (istiod)" if istio else "does not install Istio (no istiod)"
            yield Finding("SY411", f"cluster {name}: cluster.yaml says {said}, but its environment "
                          f"{cluster.environment} {does}", file=rel, line=lines.get("istio") or lines.get("spec", 0),
                          hint=f"set istio: {'true' if istio else 'false'}, or change what the environment installs")
        if (cluster.gpu_capacity > 0) != gpu:
            does = "installs the NVIDIA GPU operator" if gpu else "does not install the NVIDIA GPU operator"
            want = "the cluster's GPU count (above 0)" if gpu else "0 (a cluster without the GPU operator schedules no GPU)"
            yield Finding("SY411", f"cluster {name}: cluster.yaml says gpu.capacity {cluster.gpu_capacity}, but its "
                          f"environment {cluster.environment} {does}", file=rel,
                          line=lines.get("gpu") or lines.get("spec", 0),
                          hint=f"set gpu.capacity to {want}, or change what the environment installs")


def _fact_lines(repo: Repository, rel: str) -> dict[str, int]:
    """Lines of spec, spec.istio and spec.gpu.capacity in cluster.yaml (the
    keys present only)."""
    from shipyard.load import load_located_file

    try:
        located = load_located_file(repo.root / rel, rel)
    except ShipyardError:
        return {}
    data = as_dict(located.data)
    base: JsonPath = ("spec",) if "spec" in data else ()
    spec = as_dict(data.get("spec", data))
    lines = {"spec": located.line(base)}
    if "istio" in spec:
        lines["istio"] = located.line(base + ("istio",))
    if "gpu" in spec:
        lines["gpu"] = located.line(base + ("gpu", "capacity"))
    return lines


# --------------------------------------------------------------------------
# SY412


@check("SY412")
def depends_on_exists(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        if not _whole(target):
            continue
        present: dict[tuple[str, str], set[tuple[str, str]]] = {FLUX_KUSTOMIZATION: set(), FLUX_HELMRELEASE: set()}
        for obj in target.objects:
            gk = (obj.group, obj.kind)
            if gk in present:
                present[gk].add((obj.namespace, obj.name))
        for obj in target.objects:
            gk = (obj.group, obj.kind)
            if gk not in present:
                continue
            other = FLUX_HELMRELEASE if gk == FLUX_KUSTOMIZATION else FLUX_KUSTOMIZATION
            for index, entry in enumerate(as_list(_spec(obj).get("dependsOn"))):
                dep = as_dict(entry)
                name, namespace = _str(dep.get("name")), _str(dep.get("namespace")) or obj.namespace
                at: JsonPath = ("spec", "dependsOn", index)
                if not name:
                    yield Finding.on(obj, "SY412", f"{obj.kind} {obj.name}: dependsOn entry {index} names no object",
                                     path=at, hint="write the name (and namespace) of the object it waits for")
                    continue
                if (namespace, name) in present[gk]:
                    continue
                ref = f"{namespace}/{name}" if namespace else name
                if (namespace, name) in present[other]:
                    why = (f"{other[1]} {ref} exists, but a {obj.kind}'s dependsOn waits for a {obj.kind} "
                           f"only (a {other[1]} of that name does not count)")
                else:
                    why = f"no {obj.kind} {ref} exists in {target.name}"
                yield Finding.on(obj, "SY412", f"{obj.kind} {obj.name} depends on {obj.kind} {ref}: {why}; "
                                 "it never becomes ready", path=at,
                                 hint=f"fix the name and namespace (a dependsOn namespace defaults to the "
                                 f"{obj.kind}'s own), or add the {obj.kind} it waits for")
