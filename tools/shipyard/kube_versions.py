"""Which built-in apiVersions a Kubernetes version deprecates or no longer serves.

A manifest that validates against a schema can still be refused by the API
server of the cluster it is meant for: ``policy/v1beta1`` PodDisruptionBudgets
were served until 1.24 and are gone in 1.25. This table follows the
Kubernetes deprecated API migration guide: for each (apiVersion, kind), the
minor release that deprecated it, the one that stopped serving it, and what
replaces it. Alpha versions are left out: they come and go without a
deprecation period and are off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

Minor = tuple[int, int]


@dataclass(frozen=True)
class ApiLifecycle:
    """The life of one (apiVersion, kind) in Kubernetes."""

    api_version: str
    kind: str
    deprecated: Minor
    removed: Minor | None
    replacement: str  # "apps/v1", or "" when nothing replaces it

    def status(self, version: Minor) -> Literal["removed", "deprecated"] | None:
        if self.removed is not None and version >= self.removed:
            return "removed"
        if version >= self.deprecated:
            return "deprecated"
        return None


def _rows(api_versions: Iterable[str], kinds: Iterable[str], deprecated: Minor, removed: Minor | None, replacement: str) -> list[ApiLifecycle]:
    return [ApiLifecycle(a, k, deprecated, removed, replacement) for a in api_versions for k in kinds]


_WORKLOADS_EXT = ("Deployment", "DaemonSet", "ReplicaSet")

TABLE: tuple[ApiLifecycle, ...] = tuple(
    # Removed in 1.16
    _rows(["extensions/v1beta1"], _WORKLOADS_EXT, (1, 9), (1, 16), "apps/v1")
    + _rows(["apps/v1beta1"], ["Deployment", "StatefulSet", "ControllerRevision"], (1, 9), (1, 16), "apps/v1")
    + _rows(["apps/v1beta2"], ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"], (1, 9), (1, 16), "apps/v1")
    + _rows(["extensions/v1beta1"], ["NetworkPolicy"], (1, 9), (1, 16), "networking.k8s.io/v1")
    + _rows(["extensions/v1beta1"], ["PodSecurityPolicy"], (1, 11), (1, 16), "policy/v1beta1")
    # Removed in 1.22
    + _rows(["extensions/v1beta1"], ["Ingress"], (1, 14), (1, 22), "networking.k8s.io/v1")
    + _rows(["networking.k8s.io/v1beta1"], ["Ingress", "IngressClass"], (1, 19), (1, 22), "networking.k8s.io/v1")
    + _rows(["admissionregistration.k8s.io/v1beta1"], ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], (1, 16), (1, 22), "admissionregistration.k8s.io/v1")
    + _rows(["apiextensions.k8s.io/v1beta1"], ["CustomResourceDefinition"], (1, 16), (1, 22), "apiextensions.k8s.io/v1")
    + _rows(["apiregistration.k8s.io/v1beta1"], ["APIService"], (1, 19), (1, 22), "apiregistration.k8s.io/v1")
    + _rows(["authentication.k8s.io/v1beta1"], ["TokenReview"], (1, 19), (1, 22), "authentication.k8s.io/v1")
    + _rows(["authorization.k8s.io/v1beta1"], ["SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"], (1, 19), (1, 22), "authorization.k8s.io/v1")
    + _rows(["certificates.k8s.io/v1beta1"], ["CertificateSigningRequest"], (1, 19), (1, 22), "certificates.k8s.io/v1")
    + _rows(["coordination.k8s.io/v1beta1"], ["Lease"], (1, 19), (1, 22), "coordination.k8s.io/v1")
    + _rows(["rbac.authorization.k8s.io/v1beta1"], ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"], (1, 17), (1, 22), "rbac.authorization.k8s.io/v1")
    + _rows(["scheduling.k8s.io/v1beta1"], ["PriorityClass"], (1, 14), (1, 22), "scheduling.k8s.io/v1")
    + _rows(["storage.k8s.io/v1beta1"], ["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"], (1, 19), (1, 22), "storage.k8s.io/v1")
    # Removed in 1.25
    + _rows(["batch/v1beta1"], ["CronJob"], (1, 21), (1, 25), "batch/v1")
    + _rows(["discovery.k8s.io/v1beta1"], ["EndpointSlice"], (1, 21), (1, 25), "discovery.k8s.io/v1")
    + _rows(["events.k8s.io/v1beta1"], ["Event"], (1, 19), (1, 25), "events.k8s.io/v1")
    + _rows(["autoscaling/v2beta1"], ["HorizontalPodAutoscaler"], (1, 22), (1, 25), "autoscaling/v2")
    + _rows(["policy/v1beta1"], ["PodDisruptionBudget"], (1, 21), (1, 25), "policy/v1")
    + _rows(["policy/v1beta1"], ["PodSecurityPolicy"], (1, 21), (1, 25), "")
    + _rows(["node.k8s.io/v1beta1"], ["RuntimeClass"], (1, 20), (1, 25), "node.k8s.io/v1")
    # Removed in 1.26, 1.27, 1.29, 1.32
    + _rows(["flowcontrol.apiserver.k8s.io/v1beta1"], ["FlowSchema", "PriorityLevelConfiguration"], (1, 23), (1, 26), "flowcontrol.apiserver.k8s.io/v1")
    + _rows(["autoscaling/v2beta2"], ["HorizontalPodAutoscaler"], (1, 23), (1, 26), "autoscaling/v2")
    + _rows(["storage.k8s.io/v1beta1"], ["CSIStorageCapacity"], (1, 24), (1, 27), "storage.k8s.io/v1")
    + _rows(["flowcontrol.apiserver.k8s.io/v1beta2"], ["FlowSchema", "PriorityLevelConfiguration"], (1, 26), (1, 29), "flowcontrol.apiserver.k8s.io/v1")
    + _rows(["flowcontrol.apiserver.k8s.io/v1beta3"], ["FlowSchema", "PriorityLevelConfiguration"], (1, 29), (1, 32), "flowcontrol.apiserver.k8s.io/v1")
    # Deprecated, still served
    + _rows(["v1"], ["ComponentStatus"], (1, 19), None, "")
    + _rows(["v1"], ["Endpoints"], (1, 33), None, "discovery.k8s.io/v1 EndpointSlice")
)

_INDEX: dict[tuple[str, str], ApiLifecycle] = {(row.api_version, row.kind): row for row in TABLE}


def parse_minor(version: str) -> Minor:
    """'1.33.0', 'v1.33' or '1.33' -> (1, 33)."""
    parts = version.strip().lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise ValueError(f"not a Kubernetes version: {version!r}") from None


def lifecycle(api_version: str, kind: str) -> ApiLifecycle | None:
    """The lifecycle row for a built-in (apiVersion, kind), if it has one."""
    return _INDEX.get((api_version, kind))


def status(api_version: str, kind: str, kube_version: str) -> tuple[Literal["removed", "deprecated"], ApiLifecycle] | None:
    """('removed' | 'deprecated', row) when ``kube_version`` no longer
    serves, or deprecates, this apiVersion of ``kind``; None when it is fine
    (or unknown to the table)."""
    row = lifecycle(api_version, kind)
    if row is None:
        return None
    state = row.status(parse_minor(kube_version))
    return (state, row) if state else None


def format_minor(minor: Minor) -> str:
    return f"{minor[0]}.{minor[1]}"
