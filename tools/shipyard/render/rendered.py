"""Rendered files: the output of ``shipyard render --sources``, checked alone.

``shipyard render PATH --sources`` writes ``# Source: <file>[:<line>]``
above every object: the repository file, chart template or remote base
that produced it. Such a file already holds everything its Flux
Kustomizations, HelmReleases and Argo CD Applications produce. Checking it
alone therefore neither renders them again (which would template every
chart a second time and report each object twice) nor forgets where the
objects came from: each object takes the origin its ``# Source:`` line
names, so a finding names the same file as in the entry point, and the
waivers written for that file (the upstream waivers on ``chart:**`` and
remote bases, the path waivers of shipyard.yaml) apply as they do there.

A file is taken as rendered only when every object in it has such a line:
a hand-written file with one stray comment is read as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from shipyard.objects import K8sObject, Source

SOURCE_COMMENT = "# Source: "
_LINE_SUFFIX = re.compile(r":([0-9]+)\Z")


def parse_source(text: str) -> Source:
    """``base/x.yaml:12`` -> Source("base/x.yaml", 12); a chart template or
    a remote base URL without a line stays whole (``Source.__str__``'s
    inverse)."""
    match = _LINE_SUFFIX.search(text)
    if match and match.start() > 0:
        return Source(text[: match.start()], int(match.group(1)))
    return Source(text)


def restore_origins(path: Path, objects: list[K8sObject]) -> bool:
    """When the file at ``path`` is rendered output (every object headed by
    a ``# Source:`` line), give each object that origin, in place, and
    return True; else change nothing and return False. An object's lines
    within the rendered file do not hold in its origin, so a finding on it
    names the origin's document line."""
    if not objects:
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
        if SOURCE_COMMENT.encode() not in head:
            return False
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    origins = []
    for obj in objects:
        origin = _header(lines, obj.source.line)
        if origin is None:
            return False
        origins.append(origin)
    for obj, origin in zip(objects, origins):
        obj.source = origin
        obj.lines = None
        obj.line_resolver = None
    return True


def _header(lines: list[str], line: int) -> Source | None:
    """The ``# Source:`` comment just above the document that starts at
    ``line`` (1-based): only comments, blank lines and ``---`` between."""
    index = line - 2
    while 0 <= index < len(lines):
        text = lines[index].strip()
        if text.startswith(SOURCE_COMMENT):
            return parse_source(text[len(SOURCE_COMMENT):].strip())
        if text and text != "---" and not text.startswith("#"):
            return None
        index -= 1
    return None
