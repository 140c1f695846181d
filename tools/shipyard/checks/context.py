"""What every check receives: the rendered targets of one validate run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from shipyard.findings import Finding
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
    findings: list[Finding] = field(default_factory=list)  # about the wiring, found while rendering
    charts: list = field(default_factory=list)  # ChartRef of every chart release rendered


@dataclass
class CheckContext:
    targets: list[RenderedTarget]
    repo: "Repository | None" = None
    enabled: set[str] | None = None
    # CRDs the repository installs that are not among ``targets`` (validating
    # one file still knows the SeldonDeployment CRD the charts install).
    context_crds: list[K8sObject] = field(default_factory=list)
    cache: dict[str, object] = field(default_factory=dict)

    def crds(self) -> list[K8sObject]:
        """Every CustomResourceDefinition rendered in this run, plus context CRDs."""
        found = [o for _, o in self.objects() if o.kind == "CustomResourceDefinition"]
        return found + self.context_crds

    def objects(self) -> Iterator[tuple[RenderedTarget, K8sObject]]:
        for target in self.targets:
            for obj in target.objects:
                yield target, obj
