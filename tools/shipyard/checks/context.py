"""What every check receives: the rendered targets of one validate run
(`RenderedTarget` lives with rendering, in shipyard.render.target)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from shipyard.objects import K8sObject
from shipyard.render.target import RenderedTarget

if TYPE_CHECKING:
    from shipyard.repo import Repository


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
