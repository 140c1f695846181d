"""SY316: every pod meets the Pod Security level its namespace enforces.

Each namespace in this repository carries ``pod-security.kubernetes.io/enforce``
(docs/security.md). A pod that breaks that level is refused by the API
server, and for anything but a bare Pod the refusal comes late: the
Deployment, Job or SeldonDeployment is accepted, and the pods its controller
creates are refused, which GitOps reports as a healthy sync of an object that
never runs. A chart upgrade or a new model can bring such a pod; this check
evaluates every rendered pod template against the level of its namespace,
with the rules of ``shipyard.pod_security``.

The level comes from the Namespace object rendered in the same target (an
overlay or an entry point renders the namespaces it deploys into); a
namespace that is not rendered there is created elsewhere and is not judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.render.target import RenderedTarget
from shipyard.checks.policies import PodSpecRef, all_pod_specs, as_dict, dig, is_seldon_deployment, source_kind
from shipyard.findings import Finding
from shipyard.objects import K8sObject
from shipyard.pod_security import (
    ENFORCE_LABEL,
    PRIVILEGED,
    NamespacePolicy,
    Version,
    effective_version,
    evaluate,
    format_version,
    kube_minor,
    namespace_policy,
)

CHECK_ID: Final = "SY316"

# Controllers whose pods are created later, by a controller or an operator:
# the API server takes the object and refuses its pods.
CONTROLLED = {
    "Deployment": "the pods of this Deployment's ReplicaSets",
    "ReplicaSet": "the pods of this ReplicaSet",
    "ReplicationController": "the pods of this ReplicationController",
    "StatefulSet": "the pods of this StatefulSet",
    "DaemonSet": "the pods of this DaemonSet",
    "Job": "the pods of this Job",
    "CronJob": "the pods of every Job this CronJob starts",
}


@dataclass(frozen=True)
class _Namespace:
    obj: K8sObject
    policy: NamespacePolicy
    broken: bool  # a Pod Security label the API server refuses


def _namespaces(target: RenderedTarget) -> dict[str, _Namespace]:
    found: dict[str, _Namespace] = {}
    for obj in target.objects:
        if obj.kind == "Namespace" and obj.api_version == "v1" and obj.name:
            policy, problems = namespace_policy(as_dict(obj.metadata.get("labels")))
            found.setdefault(obj.name, _Namespace(obj, policy, bool(problems)))
    return found


def _refused(pod: PodSpecRef) -> str:
    obj = pod.obj
    if obj.kind == "Pod":
        return "the API server refuses this Pod"
    if obj.kind in CONTROLLED:
        return f"the API server refuses {CONTROLLED[obj.kind]} (the {obj.kind} itself is accepted)"
    if is_seldon_deployment(obj):
        return "the API server refuses the pods seldon-core's operator creates for it"
    return f"the API server refuses the pods the {obj.kind}'s operator creates"


def _version_text(policy: NamespacePolicy, version: Version) -> str:
    """The policy version as pinned, and as applied when that differs."""
    if policy.version is None:
        return f"latest = {format_version(version)}"
    if policy.version != version:
        return f"{format_version(policy.version)}, applied as {format_version(version)} by this Kubernetes"
    return format_version(version)


def _where_to_fix(obj: K8sObject) -> str:
    kind = source_kind(obj)
    if kind == "chart":
        return " (this pod comes from a chart: set it through the release's values)"
    if kind == "remote":
        return " (this pod comes from a remote base: patch it in the kustomization that wraps the base)"
    return ""


def pod_findings(pod: PodSpecRef, namespace: str, policy: NamespacePolicy, version: Version) -> Iterable[Finding]:
    """One finding per violation of ``policy`` in one pod template."""
    root = pod.path[:-1]  # the template (or Pod) that holds spec and metadata
    metadata = as_dict(dig(pod.obj.body, *root, "metadata")) if root else pod.obj.metadata
    for violation in evaluate(pod.spec, policy.level, version=version, metadata=metadata):
        yield Finding.on(
            pod.obj, CHECK_ID,
            f"{violation.message}{pod.where()}: namespace {namespace!r} enforces Pod Security {policy.level!r} "
            f"({_version_text(policy, version)}; {violation.control}), so {_refused(pod)}",
            path=(*root, *violation.path),
            hint=f"{violation.fix}{_where_to_fix(pod.obj)}; or, if the workload truly needs it, lower "
                 f"{ENFORCE_LABEL} of namespace {namespace!r} and record why in docs/security.md",
        )


def label_findings(namespace: K8sObject) -> Iterable[Finding]:
    """A Pod Security label the API server does not accept refuses the Namespace itself."""
    _policy, problems = namespace_policy(as_dict(namespace.metadata.get("labels")))
    for problem in problems:
        yield Finding.on(
            namespace, CHECK_ID,
            f"label {problem.key}: {problem.message}; the API server refuses this Namespace",
            path=("metadata", "labels", problem.key),
            hint="levels are privileged, baseline or restricted; versions are latest or v1.<minor>, like v1.33",
        )


@check(CHECK_ID)
def pod_security(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        namespaces = _namespaces(target)
        for namespace in namespaces.values():
            if namespace.broken:
                yield from label_findings(namespace.obj)
        cluster = kube_minor(target.kube_version)
        for pod in all_pod_specs(target.objects):
            entry = namespaces.get(pod.obj.namespace or "default")
            if entry is None or entry.broken or entry.policy.level == PRIVILEGED:
                continue
            version = effective_version(entry.policy.version, cluster)
            yield from pod_findings(pod, entry.obj.name, entry.policy, version)
