"""The CRDs the repository installs, as a committed index: ``.shipyard/crds/``.

A file or folder checked alone (``shipyard validate FILE``, a pre-commit
hook) is checked against the CustomResourceDefinitions the repository's
cluster entry points install: the SeldonDeployment CRD of the seldon-core
chart, the training-operator's, Katib's. Learning them by rendering every
entry point costs the whole repository's kustomize and helm time (tens of
seconds on a fresh clone) and needs the upstream charts (a mirror, or the
network) although the file itself needs nothing from upstream. So the CRDs
the entry points render are kept, in the repository, in ``.shipyard/crds/``:

- ``index.json``: every CRD object the entry points render, in render
  order (entry point by entry point, as ``all_targets`` lists them), each
  with its kind, group, the file holding its body, and the object's
  origin (source file or chart template, line, target), so a finding that
  names the CRD reads exactly as it does after a render;
- one ``<name>.json`` per distinct CRD body, without its prose
  (descriptions and examples, which no check reads; see
  ``strip_descriptions``): ``<name>.<sha12>.json`` when clusters install
  different bodies under one name.

The index belongs to the repository, not to the toolkit: a fork that pins
another chart version, or adds a component with CRDs of its own, installs
other CRDs, and the toolkit (installed once, used as a pre-commit hook in
many repositories) cannot know them. It is written by ``shipyard schemas
index`` (from a render of every entry point); ``shipyard schemas index
--check`` fails when it no longer matches what the entry points render, and
a test does that for this repository. A full ``validate`` never reads it.
A repository without the index keeps the old way: the entry points are
rendered first.

Only the bodies of CRDs whose kind is among the objects being checked are
read: a one-Deployment file reads index.json alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject, Source
from shipyard.schemas.crds import strip_descriptions

INDEX_DIR = ".shipyard/crds"
INDEX_FILE = "index.json"
FORMAT = 1


@dataclass(frozen=True)
class IndexEntry:
    """One CRD object an entry point renders: where its body is stored and
    where it came from."""

    kind: str  # spec.names.kind of the CRD
    group: str  # spec.group
    file: str  # the body's file in the index folder
    source: str  # Source.path of the rendered object
    line: int
    target: str


def index_dir(root: Path) -> Path:
    return root / INDEX_DIR


def _crd_kind(body: dict[str, Any]) -> tuple[str, str]:
    spec = body.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    names = spec.get("names")
    names = names if isinstance(names, dict) else {}
    kind, group = names.get("kind"), spec.get("group")
    return (kind if isinstance(kind, str) else "", group if isinstance(group, str) else "")


def stored_body(obj: K8sObject) -> dict[str, Any]:
    """What the index keeps of a CRD: what checks read (apiVersion, kind,
    name, the spec without prose)."""
    spec = obj.body.get("spec")
    return {
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "metadata": {"name": obj.name},
        "spec": strip_descriptions(spec if isinstance(spec, dict) else {}),
    }


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def build_index(crds: Iterable[K8sObject]) -> dict[str, str]:
    """The files of the index (name -> text) for these CRD objects, in the
    order given. Deterministic: the same renders give the same bytes."""
    bodies: dict[str, tuple[str, str]] = {}  # digest -> (crd name, text)
    rows: list[tuple[K8sObject, str]] = []
    seen: dict[int, tuple[dict[str, Any], str, str]] = {}  # id(body) -> (body, text, digest): renders share bodies
    for obj in crds:
        if obj.kind != "CustomResourceDefinition":  # as validate takes them from a render
            continue
        known = seen.get(id(obj.body))
        if known is None or known[0] is not obj.body:
            text = _dump(stored_body(obj))
            import hashlib  # late: it loads OpenSSL (3.7 MB), which checking a file never needs
            known = seen[id(obj.body)] = (obj.body, text, hashlib.sha256(text.encode()).hexdigest())
        _body, text, digest = known
        bodies.setdefault(digest, (obj.name or "unnamed", text))
        rows.append((obj, digest))
    per_name: dict[str, int] = {}
    for name, _text in bodies.values():
        per_name[name] = per_name.get(name, 0) + 1
    files: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for digest, (name, text) in bodies.items():
        file = f"{name}.json" if per_name[name] == 1 else f"{name}.{digest[:12]}.json"
        files[digest] = file
        outputs[file] = text
    entries = []
    for obj, digest in rows:
        kind, group = _crd_kind(obj.body)
        entries.append({"kind": kind, "group": group, "file": files[digest], "source": obj.source.path,
                        "line": obj.source.line, "target": obj.target})
    index = {
        "format": FORMAT,
        "about": "The CRDs the cluster entry points install, for checking a file or folder alone. "
                 "Written by `shipyard schemas index`; do not edit.",
        "crds": entries,
    }
    outputs[INDEX_FILE] = json.dumps(index, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return outputs


class InstalledCrds:
    """A read index: its entries, and the CRD objects of given kinds
    (bodies read on demand, once)."""

    def __init__(self, folder: Path, entries: list[IndexEntry]) -> None:
        self.folder = folder
        self.entries = entries
        self._bodies: dict[str, dict[str, Any]] = {}

    def objects(self, kinds: set[str] | None = None) -> list[K8sObject]:
        """The CRD objects (in render order) whose kind is in ``kinds``
        (every one when None). Checks look a CRD up only by the kind of an
        object they check, so the others are never needed."""
        out = []
        for entry in self.entries:
            if kinds is not None and entry.kind not in kinds:
                continue
            out.append(K8sObject(self._body(entry.file), Source(entry.source, entry.line), target=entry.target))
        return out

    def _body(self, file: str) -> dict[str, Any]:
        body = self._bodies.get(file)
        if body is None:
            path = self.folder / file
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise _broken(path, f"cannot read it: {exc}") from None
            if not isinstance(loaded, dict):
                raise _broken(path, "not a JSON object")
            body = self._bodies[file] = loaded
        return body


def _broken(path: Path, why: str) -> ShipyardError:
    return ShipyardError(f"the CRD index is damaged: {why}", file=str(path), check="SY900",
                         hint="write it again with `shipyard schemas index` (needs the charts: a mirror or the network)")


def read_index(root: Path) -> InstalledCrds | None:
    """The repository's CRD index, or None when it has none."""
    folder = index_dir(root)
    path = folder / INDEX_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _broken(path, exc.strerror or str(exc)) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _broken(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("crds"), list):
        raise _broken(path, f"not an index of format {FORMAT}")
    entries = []
    for row in data["crds"]:
        try:
            entries.append(IndexEntry(str(row["kind"]), str(row["group"]), _file_name(row["file"], path),
                                      str(row["source"]), int(row["line"]), str(row["target"])))
        except (KeyError, TypeError, ValueError):
            raise _broken(path, f"an entry is not kind/group/file/source/line/target: {row!r:.200}") from None
    return InstalledCrds(folder, entries)


def _file_name(value: Any, index: Path) -> str:
    """A body file of the index: a plain name in its folder, never a path."""
    if not isinstance(value, str) or not value.endswith(".json") or "/" in value or "\\" in value or value.startswith("."):
        raise _broken(index, f"entry file {value!r} is not a file name in the index folder")
    return value


def stale_files(root: Path, expected: dict[str, str]) -> list[str]:
    """The index files that differ from ``expected`` (missing, changed or
    left over), by name; empty when the committed index is current."""
    folder = index_dir(root)
    out = []
    for name, text in sorted(expected.items()):
        try:
            if (folder / name).read_text(encoding="utf-8") != text:
                out.append(name)
        except OSError:
            out.append(name)
    if folder.is_dir():
        out += [p.name for p in folder.glob("*.json") if p.name not in expected]
    return sorted(out)


def write_index(root: Path, outputs: dict[str, str]) -> list[str]:
    """Replace the repository's index with ``outputs`` (files staged, then
    renamed into place; body files no longer named are removed); the names
    of the files that changed."""
    from shipyard.schemas.cache import replace_folder

    changed = stale_files(root, outputs)
    if changed:
        replace_folder(index_dir(root), outputs)
    return changed
