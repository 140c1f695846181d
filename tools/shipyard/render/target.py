"""What one render produced: the objects of an overlay, an entry point, a
folder or a file, with the context they will run in. Checks, diff, status
and the e2e plan all read these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shipyard.findings import Finding
from shipyard.objects import K8sObject

if TYPE_CHECKING:
    from shipyard.render.helm import ChartRef
    from shipyard.repo import Cluster


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
    charts: "list[ChartRef]" = field(default_factory=list)  # every chart release rendered
