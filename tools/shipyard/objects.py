"""Kubernetes objects as the checks see them: the body plus where it came from.

A rendered object loses its file; `Source` keeps it (the repository file, or
the chart template, that produced the object) so every finding can name a
file and a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object is written: a repository-relative path (or a chart
    template such as ``chart:seldon-core-operator-1.17.1/templates/webhook.yaml``)
    and the 1-based line of the document; 0 when unknown."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """apiVersion/kind/namespace/name: how findings and diffs name an object."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.api_version}/{self.kind} {ns}{self.name}"


@dataclass(slots=True)
class K8sObject:
    """One Kubernetes object with its provenance.

    ``lines`` maps a JSON path inside the body to its line in ``source.path``
    when that is known (plain files); ``line_of`` falls back to the document
    line. ``target`` names the render target (overlay, entry point) that
    produced the object, so one object rendered in two clusters gives two
    findings that say which.
    """

    body: dict[str, Any]
    source: Source
    target: str = ""
    lines: dict[JsonPath, int] | None = None
    line_resolver: Callable[[JsonPath], int | None] | None = field(default=None, repr=False)

    @property
    def api_version(self) -> str:
        value = self.body.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def kind(self) -> str:
        value = self.body.get("kind")
        return value if isinstance(value, str) else ""

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.body.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else ""

    @property
    def namespace(self) -> str:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else ""

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.api_version, self.kind, self.namespace, self.name)

    @property
    def group(self) -> str:
        api = self.api_version
        return api.split("/", 1)[0] if "/" in api else ""

    def line_of(self, path: JsonPath = ()) -> int:
        """The best known line for ``path``: the field itself, its nearest
        known parent, or the document line."""
        if self.lines is not None:
            probe = tuple(path)
            while True:
                line = self.lines.get(probe)
                if line:
                    return line
                if not probe:
                    break
                probe = probe[:-1]
        if self.line_resolver is not None:
            line = self.line_resolver(tuple(path))
            if line:
                return line
        return self.source.line
