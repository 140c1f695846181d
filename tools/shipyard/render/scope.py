"""Which kinds are cluster-scoped, so a namespace is only ever set on
namespaced objects (as kubectl, Flux and Argo CD do when they apply)."""

from __future__ import annotations

from typing import Iterable

from shipyard.objects import K8sObject

BUILTIN_CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "CustomResourceDefinition", "APIService",
        "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass", "CSIDriver", "CSINode",
        "VolumeAttachment", "RuntimeClass", "IngressClass", "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "FlowSchema",
        "PriorityLevelConfiguration", "CertificateSigningRequest", "ComponentStatus",
        "DeviceClass", "ResourceSlice", "IPAddress", "ServiceCIDR", "StorageVersionMigration",
        "VolumeAttributesClass", "ClusterTrustBundle", "SelfSubjectReview", "TokenReview",
        "SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview",
    }
)


def cluster_scoped_kinds(objects: Iterable[K8sObject]) -> set[str]:
    """Built-in cluster-scoped kinds plus the kinds of any CRD with scope
    Cluster among ``objects``."""
    kinds = set(BUILTIN_CLUSTER_SCOPED)
    for obj in objects:
        if obj.kind == "CustomResourceDefinition":
            spec = obj.body.get("spec") or {}
            if isinstance(spec, dict) and spec.get("scope") == "Cluster":
                names = spec.get("names") or {}
                if isinstance(names, dict) and isinstance(names.get("kind"), str):
                    kinds.add(names["kind"])
    return kinds


def set_default_namespace(objects: Iterable[K8sObject], namespace: str, cluster_scoped: set[str], *, force: bool = False) -> None:
    """Give namespaced objects ``namespace`` when they have none (or always,
    with ``force``, like a Flux Kustomization's targetNamespace)."""
    if not namespace:
        return
    for obj in objects:
        if obj.kind in cluster_scoped:
            continue
        meta = obj.body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            continue
        meta = meta or {}
        if (force or not meta.get("namespace")) and meta.get("namespace") != namespace:
            # Copy on write: rendered bodies are shared between targets
            # (one overlay deployed by two engines) and must not change.
            obj.body = {**obj.body, "metadata": {**meta, "namespace": namespace}}
