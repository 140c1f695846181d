"""Point rendered objects back at the repository file and line they came from."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from shipyard.objects import JsonPath, K8sObject, Source


class SourceIndex:
    """Loads repository files on demand (once each) to answer "which line of
    this file holds this object, and this field of it"."""

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self._files: dict[str, list[K8sObject]] = {}
        self._lock = threading.Lock()

    def objects_in(self, rel: str) -> list[K8sObject]:
        with self._lock:
            cached = self._files.get(rel)
        if cached is not None:
            return cached
        from shipyard.load import load_file  # late: the loader is heavy to import
        from shipyard.errors import ShipyardError

        path = self.repo_root / rel
        try:
            objects = load_file(path, rel).objects if path.is_file() else []
        except ShipyardError:
            objects = []
        with self._lock:
            self._files[rel] = objects
        return objects

    def locate(self, rel: str, kind: str, name: str) -> int:
        """Line of the document in ``rel`` that most likely produced an object
        of ``kind`` named ``name`` (kustomize may have added a prefix or suffix)."""
        candidates = [o for o in self.objects_in(rel) if o.kind == kind] or self.objects_in(rel)
        if not candidates:
            return 0
        for obj in candidates:
            if obj.name == name:
                return obj.source.line
        for obj in candidates:
            if obj.name and obj.name in name:
                return obj.source.line
        return candidates[0].source.line

    def resolver(self, rel: str, doc_line: int) -> Callable[[JsonPath], int | None]:
        def resolve(path: JsonPath) -> int | None:
            for obj in self.objects_in(rel):
                if obj.source.line == doc_line:
                    return obj.line_of(path)
            return None

        return resolve


def make_object(
    body: dict[str, Any], path: str, line: int, target: str, index: SourceIndex | None, local: bool
) -> K8sObject:
    resolver = index.resolver(path, line) if (index is not None and local and line) else None
    return K8sObject(body=body, source=Source(path, line), target=target, line_resolver=resolver)
