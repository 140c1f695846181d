"""What every check receives: the rendered targets of one validate run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from shipyard.objects import K8sObject

if TYPE_CHECKING:
    from shipyard.repo import Cluster, Repository


@dataclass
class RenderedTarget:
    """One thing that was rendered: an overlay, a cluster entry point
    (``clusters/<c>/argocd`` or ``clusters/<c>/flux``), a kustomization folder
    or a plain manifest file named on the command line."""

    name: str
    kind: str  # "overlay" | "entrypoint" | "kustomization" | "file"
    objects: list[K8sObject]
    kube_version: str
    cluster: "Cluster | None" = None
    environment: str | None = None
    engine: str | None = None  # "argocd" | "flux" for entry points


@dataclass
class CheckContext:
    targets: list[RenderedTarget]
    repo: "Repository | None" = None
    enabled: set[str] | None = None
    cache: dict[str, object] = field(default_factory=dict)

    def objects(self) -> Iterator[tuple[RenderedTarget, K8sObject]]:
        for target in self.targets:
            for obj in target.objects:
                yield target, obj
