"""Deterministic YAML of rendered objects: the same inputs give the same
bytes on every machine, so renders can be diffed and reviewed."""

from __future__ import annotations

from typing import Iterable

import yaml

from shipyard.objects import K8sObject

# Apply order a reviewer expects to read: what others depend on first.
KIND_ORDER = {kind: i for i, kind in enumerate([
    "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
    "RoleBinding", "ConfigMap", "Secret", "Service", "Deployment", "StatefulSet", "DaemonSet", "Job",
])}


def sort_key(obj: K8sObject) -> tuple[int, str, str, str, str]:
    return (KIND_ORDER.get(obj.kind, len(KIND_ORDER)), obj.group, obj.kind, obj.namespace, obj.name)


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(objects: Iterable[K8sObject], *, with_sources: bool = False) -> str:
    """One YAML stream, objects in a stable order, keys sorted."""
    parts = []
    for obj in sorted(objects, key=sort_key):
        header = f"# Source: {obj.source}\n" if with_sources else ""
        parts.append(header + yaml.dump(obj.body, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=120))
    return "---\n".join(parts)
