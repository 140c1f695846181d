"""SY309-SY313: the node stays the node's, the namespace stays closed,
and nobody holds a wildcard.

A privileged container, a hostPath volume or the host's network namespace
each hand a pod the node; a model namespace without a default-deny
NetworkPolicy lets any pod in the cluster call (or scrape) a model; an RBAC
rule with ``*`` grants verbs and resources that do not exist yet.
"""

from __future__ import annotations

from typing import Any, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.policies import all_pod_specs, as_dict, as_list, dig, is_seldon_deployment
from shipyard.findings import Finding
from shipyard.objects import K8sObject

RBAC_GROUP = "rbac.authorization.k8s.io"


@check("SY309")
def privileged(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        for pod in all_pod_specs(target.objects):
            for path, container in pod.containers():
                if dig(container, "securityContext", "privileged") is True:
                    yield Finding.on(
                        pod.obj, "SY309", f"container {container.get('name', '?')!r}{pod.where()} runs privileged",
                        path=(*path, "securityContext", "privileged"),
                        hint="remove privileged: true; add only the capabilities needed under securityContext.capabilities",
                    )


@check("SY310")
def host_path(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        for pod in all_pod_specs(target.objects):
            for i, volume in enumerate(as_list(pod.spec.get("volumes"))):
                if isinstance(volume, dict) and "hostPath" in volume:
                    where = dig(volume, "hostPath", "path") or "?"
                    yield Finding.on(
                        pod.obj, "SY310", f"volume {volume.get('name', i)!r}{pod.where()} mounts host path {where}",
                        path=(*pod.path, "volumes", i, "hostPath"),
                        hint="use a PersistentVolumeClaim, emptyDir, ConfigMap or CSI volume",
                    )


@check("SY311")
def host_namespaces(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        for pod in all_pod_specs(target.objects):
            for key in ("hostNetwork", "hostPID", "hostIPC"):
                if pod.spec.get(key) is True:
                    yield Finding.on(
                        pod.obj, "SY311", f"pod{pod.where()} sets {key}: true", path=(*pod.path, key),
                        hint=f"remove {key}; reach the pod through a Service",
                    )


def is_default_deny(policy: K8sObject) -> bool:
    """An ingress default-deny: selects every pod of its namespace, covers
    Ingress, and allows nothing in."""
    if policy.kind != "NetworkPolicy" or policy.group != "networking.k8s.io":
        return False
    spec = as_dict(policy.body.get("spec"))
    selector = spec.get("podSelector")
    if selector is None or not isinstance(selector, dict):
        return False
    if as_dict(selector.get("matchLabels")) or as_list(selector.get("matchExpressions")):
        return False
    types = spec.get("policyTypes")
    covers_ingress = "Ingress" in types if isinstance(types, list) else True
    return covers_ingress and not as_list(spec.get("ingress"))


def _pool_key(target: RenderedTarget) -> str:
    if target.cluster is not None:
        return f"cluster:{target.cluster.name}"
    if target.environment:
        return f"env:{target.environment}"
    return f"target:{target.name}"


@check("SY312")
def default_deny(ctx: CheckContext) -> Iterable[Finding]:
    pools: dict[str, list[RenderedTarget]] = {}
    for target in ctx.targets:
        # Only whole overlays and entry points show every policy of a namespace.
        if target.kind in ("overlay", "entrypoint"):
            pools.setdefault(_pool_key(target), []).append(target)
    for _key, targets in sorted(pools.items()):
        objects = [o for t in targets for o in t.objects]
        protected = {o.namespace for o in objects if is_default_deny(o)}
        models: dict[str, K8sObject] = {}
        namespaces: dict[str, K8sObject] = {}
        for obj in objects:
            if is_seldon_deployment(obj) and obj.namespace:
                models.setdefault(obj.namespace, obj)
            elif obj.kind == "Namespace" and obj.api_version == "v1":
                namespaces.setdefault(obj.name, obj)
        for ns, model in sorted(models.items()):
            if ns in protected:
                continue
            anchor = namespaces.get(ns, model)
            yield Finding.on(
                anchor, "SY312",
                f"model namespace {ns!r} (SeldonDeployment {model.name}) has no default-deny ingress NetworkPolicy",
                path=("metadata", "name") if anchor is not model else ("metadata", "namespace"),
                hint="add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] in this namespace",
            )


def wildcard_rules(rule: dict[str, Any]) -> list[str]:
    return [key for key in ("apiGroups", "resources", "verbs", "nonResourceURLs") if "*" in as_list(rule.get(key))]


@check("SY313")
def wildcard_rbac(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in ctx.objects():
        if obj.kind not in ("Role", "ClusterRole") or obj.group != RBAC_GROUP:
            continue
        for i, rule in enumerate(as_list(obj.body.get("rules"))):
            if not isinstance(rule, dict):
                continue
            for key in wildcard_rules(rule):
                yield Finding.on(
                    obj, "SY313", f"rule {i} grants '*' in {key}", path=("rules", i, key),
                    hint=f"list the {key} this role needs explicitly",
                )
