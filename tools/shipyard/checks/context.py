"""What every check receives: the rendered targets of one validate run
(`RenderedTarget` lives with rendering, in shipyard.render.target)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Generic, Hashable, Iterator, TypeVar

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


T = TypeVar("T")


class PerObjects(Generic[T]):
    """A value derived from a list of objects, computed once per list.

    Several checks ask the same question of one target's objects (its pod
    templates, its Namespaces), often once per object: recomputed each
    time, the answer cost a walk of the whole target per call. The value
    is kept by the list's identity for the last ``keep`` lists (enough for
    every target of a run), and is used again only while the list is the
    same object with the same ``fingerprint``."""

    def __init__(self, compute: Callable[[list[K8sObject]], T],
                 fingerprint: Callable[[list[K8sObject]], Hashable] = len, keep: int = 64) -> None:
        self._compute = compute
        self._fingerprint = fingerprint
        self._keep = keep
        self._known: dict[int, tuple[list[K8sObject], Hashable, T]] = {}
        self._lock = threading.Lock()

    def __call__(self, objects: list[K8sObject]) -> T:
        stamp = self._fingerprint(objects)
        with self._lock:
            hit = self._known.get(id(objects))
        if hit is not None and hit[0] is objects and hit[1] == stamp:
            return hit[2]
        value = self._compute(objects)
        with self._lock:
            while len(self._known) >= self._keep:
                self._known.pop(next(iter(self._known)))
            self._known[id(objects)] = (objects, stamp, value)
        return value
